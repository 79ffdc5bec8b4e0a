"""Text embeddings from WordLlama's static model, loaded from the files inside the ``wordllama`` wheel.

``WordLlama.load()`` looks for its bundled tokenizer in ``wordllama/tokenizer/`` while the wheel ships it in
``wordllama/tokenizers/`` and then tries Hugging Face; we load the two bundled files ourselves so nothing is
ever downloaded. The model is a token-embedding table averaged over the text (256 dimensions), fast on a CPU.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from lorakit.studio.memory.records import AssistantMemoryError

CONFIG = "l2_supercat"
DIM = 256


class WordLlamaEmbedder:
    """Unit-length float32 vectors for texts; the model is loaded once, on first use."""

    name = f"wordllama-{CONFIG}-{DIM}"
    dim = DIM
    coarse_dim = 64  # WordLlama is Matryoshka-trained: its first 64 dimensions are an embedding too

    def __init__(self) -> None:
        self._model = None
        self._lock = threading.Lock()

    def _load(self):
        try:
            import wordllama
            from safetensors import safe_open
            from tokenizers import Tokenizer
            from wordllama.inference import WordLlamaInference
        except ImportError as error:
            raise AssistantMemoryError(
                f"The assistant memory needs the 'wordllama' package ({error}).",
                "Install the studio extra: pip install 'lorakit[studio]'.",
            ) from error
        root = Path(wordllama.__file__).parent
        tokenizer_file = root / "tokenizers" / f"{CONFIG}_tokenizer_config.json"
        weights_file = root / "weights" / f"{CONFIG}_{DIM}.safetensors"
        for path in (tokenizer_file, weights_file):
            if not path.is_file():
                raise AssistantMemoryError(
                    f"The embedding model file {path} is missing from the installed wordllama package.",
                    "Reinstall it: pip install --force-reinstall wordllama.",
                )
        tokenizer = Tokenizer.from_file(str(tokenizer_file))
        with safe_open(str(weights_file), framework="np", device="cpu") as f:
            table = f.get_tensor("embedding.weight")
        return WordLlamaInference(table, tokenizer)

    def embed(self, texts: list[str]) -> np.ndarray:
        """An (n, 256) float32 array of unit vectors (an all-zero text gives a zero vector)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            if self._model is None:
                self._model = self._load()
        vectors = np.asarray(self._model.embed(list(texts), norm=True), dtype=np.float32)
        return np.nan_to_num(vectors, copy=False)
