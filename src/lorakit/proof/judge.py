"""The judge: a small image classifier that says what a picture of the shapes world shows.

It reads a 64x64 RGB image (other sizes are resized) and answers four questions at once: which shape
(one of ``SHAPES``, the ``CONCEPT`` crescent, or ``NONE`` when there is no recognisable shape: noise, an
empty background, a fried sample), its colour, the background colour and the background pattern. It is
trained by :mod:`lorakit.proof.judge_training` (``scripts/build_shapes_world.py judge``) on the world's
own generator, with blur, noise and colour shifts so that it also reads a diffusion model's imperfect
samples, and ships as ``judge.safetensors`` (about 0.3 MB) next to this file, with its measured accuracy
in the file's metadata.

The proof of learning asks it one thing: :func:`concept_share`, the share of images showing the concept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from lorakit.errors import ModelError
from lorakit.proof.world import BACKGROUNDS, COLOURS, CONCEPT, SHAPES, SIZE

JUDGE_FILE = Path(__file__).parent / "judge.safetensors"
NONE = "none"
# Each head: its name → the labels it chooses between (the order is the logits' order).
HEADS: dict[str, tuple[str, ...]] = {
    "shape": (*SHAPES, CONCEPT, NONE),
    "colour": COLOURS,
    "bg_colour": COLOURS,
    "background": BACKGROUNDS,
}
# An image "shows the concept" when the judge gives the concept shape at least this probability.
CONCEPT_THRESHOLD = 0.5
_FORMAT = "lorakit-shapes-judge/1"


class Judge(nn.Module):
    """Four convolutions with batch normalisation (64 → 32 → 16 → 8 → 4 px), global average and max
    pooling, one linear head per question. ``info`` holds what the training measured (seed, accuracy),
    saved with the weights."""

    def __init__(self, heads: dict[str, tuple[str, ...]] | None = None, width: int = 16):
        super().__init__()
        self.heads = dict(heads or HEADS)
        self.info: dict[str, Any] = {}
        w = width
        self.features = nn.Sequential(
            *_block(3, w, kernel=5, stride=2),
            nn.MaxPool2d(2),
            *_block(w, 2 * w),
            nn.MaxPool2d(2),
            *_block(2 * w, 4 * w),
            nn.MaxPool2d(2),
            *_block(4 * w, 4 * w),
        )
        self.out = nn.ModuleDict({name: nn.Linear(8 * w, len(labels)) for name, labels in self.heads.items()})

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits per head for ``images`` (B, 3, 64, 64) with values in [0, 1]."""
        x = self.features(images * 2.0 - 1.0)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return {name: head(pooled) for name, head in self.out.items()}


def _block(channels_in: int, channels_out: int, kernel: int = 3, stride: int = 1) -> list[nn.Module]:
    """A convolution, batch normalisation (fast, steady training) and ReLU."""
    conv = nn.Conv2d(channels_in, channels_out, kernel, stride=stride, padding=kernel // 2, bias=False)
    return [conv, nn.BatchNorm2d(channels_out), nn.ReLU()]


def to_tensor(images: Sequence[Any]) -> torch.Tensor:
    """PIL images (or HxWx3 uint8 arrays) → a (B, 3, 64, 64) float tensor in [0, 1]."""
    import numpy as np
    from PIL import Image

    arrays = []
    for image in images:
        if not isinstance(image, Image.Image):
            image = Image.fromarray(np.asarray(image, dtype=np.uint8))
        image = image.convert("RGB")
        if image.size != (SIZE, SIZE):
            image = image.resize((SIZE, SIZE), Image.BILINEAR)
        arrays.append(np.asarray(image, dtype=np.float32) / 255.0)
    if not arrays:
        return torch.zeros(0, 3, SIZE, SIZE)
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


@torch.no_grad()
def probabilities(judge: Judge, images: Sequence[Any] | torch.Tensor) -> dict[str, torch.Tensor]:
    """Per head, the (B, labels) probabilities the judge gives each image."""
    x = images if isinstance(images, torch.Tensor) else to_tensor(images)
    judge.eval()
    return {name: logits.softmax(dim=1) for name, logits in judge(x).items()}


def predict(judge: Judge, images: Sequence[Any] | torch.Tensor) -> list[dict[str, str]]:
    """What the judge sees in each image: ``{"shape": "star", "colour": "red", ...}``."""
    probs = probabilities(judge, images)
    picks = {name: p.argmax(dim=1).tolist() for name, p in probs.items()}
    count = len(next(iter(picks.values()))) if picks else 0
    return [{name: judge.heads[name][picks[name][i]] for name in picks} for i in range(count)]


def concept_probability(judge: Judge, images: Sequence[Any] | torch.Tensor) -> torch.Tensor:
    """The probability, per image, that it shows the concept shape."""
    return probabilities(judge, images)["shape"][:, judge.heads["shape"].index(CONCEPT)]


def shows_concept(judge: Judge, images: Sequence[Any] | torch.Tensor) -> list[bool]:
    """Whether each image shows the concept (probability at least ``CONCEPT_THRESHOLD``)."""
    return [bool(p >= CONCEPT_THRESHOLD) for p in concept_probability(judge, images)]


def concept_share(judge: Judge, images: Sequence[Any] | torch.Tensor) -> float:
    """The share of ``images`` that show the concept, 0.0 to 1.0."""
    verdicts = shows_concept(judge, images)
    return sum(verdicts) / len(verdicts) if verdicts else 0.0


def save_judge(judge: Judge, path: str | Path = JUDGE_FILE) -> Path:
    """Write the judge as safetensors; its labels and ``info`` go in the metadata."""
    from safetensors.torch import save

    from lorakit.fileio import atomic_write_bytes

    tensors = {k: v.detach().cpu().contiguous() for k, v in judge.state_dict().items()}
    metadata = {"format": _FORMAT, "heads": json.dumps(judge.heads), "info": json.dumps(judge.info, sort_keys=True)}
    atomic_write_bytes(Path(path), save(tensors, metadata=metadata))
    return Path(path)


def load_judge(path: str | Path | None = None) -> Judge:
    """The judge saved at ``path`` (default: the one shipped with lorakit)."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path or JUDGE_FILE)
    if not path.is_file():
        raise ModelError(
            f"The shapes judge {path} is missing.",
            "Rebuild it with `python scripts/build_shapes_world.py judge` (about a minute on a CPU).",
        )
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        if metadata.get("format") != _FORMAT:
            raise ValueError(f"format {metadata.get('format')!r}")
        heads = {name: tuple(labels) for name, labels in json.loads(metadata["heads"]).items()}
        judge = Judge(heads)
        judge.load_state_dict(load_file(str(path)))
        judge.info = json.loads(metadata.get("info", "{}"))
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ModelError(
            f"{path} is not a shapes judge lorakit can read ({error}).",
            "Rebuild it with `python scripts/build_shapes_world.py judge`.",
        ) from error
    judge.eval()
    return judge
