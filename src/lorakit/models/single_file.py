"""What a single-file checkpoint is read with, offline: its model layout (configs) and its tokenizers.

A single ``.safetensors`` checkpoint (A1111/Civitai layout) holds weights only; diffusers needs a model layout
(``model_index.json`` and each part's ``config.json``) to build the model around them. lorakit ships the
layouts of the standard architectures in ``arch_configs/`` (``sd1``, ``sd2``, ``sd2-v``, ``sdxl``; SDXL's
descendants such as Pony, Illustrious and NoobAI share SDXL base's), chosen from the weights when the user
names none. The user may instead name a diffusers folder of the same model (``model.architecture_config``).

Tokenizers come from the layout folder when it has ``tokenizer*/`` folders, else from the Hugging Face cache,
else from the CLIP vocabulary lorakit ships (:mod:`lorakit.models.clip_vocab`), never from the network. The shipped
one is used only for a text encoder of CLIP's vocabulary size (49,408 tokens, as all standard models have).
"""

from __future__ import annotations

import json
from pathlib import Path

from lorakit.errors import ModelError

BUILTIN_DIR = Path(__file__).parent / "arch_configs"
BUILTIN_LAYOUTS = ("sd1", "sd2", "sd2-v", "sdxl")
FIELD = "architecture_config"
_VOCAB_FILES = ("vocab.json", "merges.txt")

# Where each tokenizer of a standard model lives on the Hub (repo id, subfolder), tried in order in the local
# Hugging Face cache. CLIP-L's and OpenCLIP's vocabularies are the same; OpenCLIP pads with "!".
_SHIPPED_KIND = {"sd1": ["clip-l"], "sd2": ["openclip"], "sdxl": ["clip-l", "openclip"]}
_TOKENIZER_SOURCES = {
    "sd1": [[("openai/clip-vit-large-patch14", None), ("stable-diffusion-v1-5/stable-diffusion-v1-5", "tokenizer")]],
    "sd2": [
        [("stabilityai/stable-diffusion-2-1", "tokenizer"), ("stabilityai/stable-diffusion-2-1-base", "tokenizer")]
    ],
    "sdxl": [
        [("stabilityai/stable-diffusion-xl-base-1.0", "tokenizer"), ("openai/clip-vit-large-patch14", None)],
        [
            ("stabilityai/stable-diffusion-xl-base-1.0", "tokenizer_2"),
            ("laion/CLIP-ViT-bigG-14-laion2B-39B-b160k", None),
        ],
    ],
}
_CONFIG_REPOS = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sd2": "stabilityai/stable-diffusion-2-1",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
}


def builtin_layout(name: str) -> Path:
    """The folder of a shipped layout (``sd1``, ``sd2``, ``sd2-v``, ``sdxl``)."""
    return BUILTIN_DIR / name


def choose_layout(path: Path, config: str | Path | None, family: str, v_prediction: bool) -> Path:
    """The layout folder ``path`` is read with: ``config`` (a folder or a built-in name), else the family's own."""
    if config is None or str(config) == "":
        name = "sd2-v" if family == "sd2" and v_prediction else family
        if name not in BUILTIN_LAYOUTS:
            raise ModelError(
                f"lorakit has no built-in layout for {path.name} ({family} model).",
                "Set model.architecture_config to a diffusers folder of this model, or use an SD1, SD2 or SDXL"
                " checkpoint.",
                field=FIELD,
            )
        return builtin_layout(name)
    if str(config) in BUILTIN_LAYOUTS:
        return builtin_layout(str(config))
    folder = named_layout(path, config)
    assert folder is not None  # not empty, not a built-in name: a folder, or named_layout refused it
    return folder


def named_layout(path: Path, config: str | Path | None) -> Path | None:
    """The diffusers folder the user named as layout (None for empty or a built-in name); refuses anything else."""
    if config is None or str(config) in ("", *BUILTIN_LAYOUTS):
        return None
    folder = Path(config).expanduser()
    if not (folder / "model_index.json").is_file():
        raise ModelError(
            f"The model layout {folder} for {path.name} is not a diffusers folder (no model_index.json)"
            f" nor a built-in layout ({', '.join(BUILTIN_LAYOUTS)}).",
            "Set model.architecture_config (config= from Python) to a diffusers folder of the same model, to one"
            f" of {', '.join(BUILTIN_LAYOUTS)}, or leave it empty to choose from the weights.",
            field=FIELD,
        )
    return folder


def predicts_v(path: Path) -> bool:
    """Whether the file says it predicts v (metadata, a ``v_pred`` key, its name): NoobAI v-pred, SD2 768-v."""
    from lorakit.errors import LorakitError
    from lorakit.models.detect import detect

    try:
        return detect(path).prediction == "v"
    except (LorakitError, OSError, ValueError):
        return False  # an unreadable header is reported when the file is loaded


def family_from_weights(path: Path) -> tuple[str, bool]:
    """A single file's family and whether it is known to predict v, from its header alone."""
    from lorakit.models import families
    from lorakit.models.detect import detect

    info = detect(path)
    if info.family not in families.names():
        found = f"a {info.family} model" if info.family else "no model family lorakit knows"
        raise ModelError(
            f"{path.name} looks like {found} (from its tensor names and shapes), so lorakit cannot tell which"
            " architecture to read it with.",
            "Use an SD1, SD2 or SDXL .safetensors checkpoint; if it is one, set model.family (sd1, sd2, sd2-v,"
            " sdxl) and model.architecture_config to a diffusers folder of the same model.",
            field="family",
        )
    return info.family, info.prediction == "v"


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _first(shapes: dict, *keys: str) -> tuple[str, tuple[int, ...]] | None:
    for key in keys:
        if key in shapes:
            return key, shapes[key]
    return None


def check_weights_match(path: Path, layout: Path) -> None:
    """Refuse a layout whose sizes differ from the file's (diffusers would fail deep inside, on one tensor)."""
    from lorakit.models.header import read_header

    shapes = {name: entry.shape for name, entry in read_header(path).tensors.items()}
    unet = _read(layout / "unet" / "config.json")
    vae = _read(layout / "vae" / "config.json")
    te1 = _read(layout / "text_encoder" / "config.json")
    te2 = _read(layout / "text_encoder_2" / "config.json")
    attn2 = next(
        (k for k in shapes if k.startswith("model.diffusion_model.") and k.endswith("attn2.to_k.weight")), None
    )
    checks = [
        ("UNet width", _first(shapes, "model.diffusion_model.input_blocks.0.0.weight"), 0,
         (unet.get("block_out_channels") or [None])[0]),
        ("UNet text width", (attn2, shapes[attn2]) if attn2 else None, 1, unet.get("cross_attention_dim")),
        ("VAE width", _first(shapes, "first_stage_model.encoder.conv_in.weight"), 0,
         (vae.get("block_out_channels") or [None])[0]),
        ("text encoder width", _first(
            shapes,
            "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
            "cond_stage_model.transformer.embeddings.token_embedding.weight",
            "cond_stage_model.model.token_embedding.weight",
            "conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
            "conditioner.embedders.0.transformer.embeddings.token_embedding.weight",
        ), 1, te1.get("hidden_size")),
        ("second text encoder width", _first(shapes, "conditioner.embedders.1.model.token_embedding.weight"), 1,
         te2.get("hidden_size")),
    ]  # fmt: skip
    for what, found, dim, want in checks:
        if found is None or want is None or len(found[1]) <= dim:
            continue
        if found[1][dim] != want:
            raise ModelError(
                f"The model layout {layout} does not match {path.name}: its {what} is {want}, the file's is"
                f" {found[1][dim]} ({found[0]}).",
                "Leave model.architecture_config empty to choose the layout from the weights, or set it to a diffusers"
                " folder of this same model (same family and size).",
                field=FIELD,
            )


def _has_vocabulary(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or all((folder / f).is_file() for f in _VOCAB_FILES)


def _cached_tokenizer(repo: str, sub: str | None):
    """A CLIP tokenizer from the local Hugging Face cache, or None. Files are looked up one by one: transformers
    would build an empty tokenizer (two tokens) without a word of warning when they are missing."""
    from huggingface_hub import try_to_load_from_cache
    from transformers import CLIPTokenizer

    for names in (("tokenizer.json",), _VOCAB_FILES):
        files = [try_to_load_from_cache(repo, f"{sub}/{name}" if sub else name) for name in names]
        if all(isinstance(file, str) for file in files):
            break
    else:
        return None
    file = files[0]
    assert isinstance(file, str)
    return CLIPTokenizer.from_pretrained(str(Path(file).parent))


def _encoder_vocab_size(layout: Path, slot: str) -> int:
    """The vocabulary size of the text encoder that reads ``slot``'s tokens (CLIPTextConfig's default if unset)."""
    from lorakit.models.clip_vocab import VOCAB_SIZE

    config = _read(layout / slot.replace("tokenizer", "text_encoder") / "config.json")
    size = config.get("vocab_size", config.get("text_config", {}).get("vocab_size", VOCAB_SIZE))
    return size if isinstance(size, int) else VOCAB_SIZE


def tokenizers(layout: Path, family: str) -> dict:
    """The tokenizers the layout folder lacks, as from_single_file arguments: from the local Hugging Face cache,
    else built from the CLIP vocabulary lorakit ships (for a text encoder of CLIP's vocabulary size)."""
    from lorakit.models.clip_vocab import VOCAB_SIZE, clip_tokenizer

    found = {}
    for i, sources in enumerate(_TOKENIZER_SOURCES[family]):
        slot = "tokenizer" if i == 0 else f"tokenizer_{i + 1}"
        if _has_vocabulary(layout / slot):
            continue  # diffusers reads it from the layout
        for repo, sub in sources:
            tokenizer = _cached_tokenizer(repo, sub)
            if tokenizer is not None:
                found[slot] = tokenizer
                break
        else:
            size = _encoder_vocab_size(layout, slot)
            if size == VOCAB_SIZE:
                found[slot] = clip_tokenizer(_SHIPPED_KIND[family][i])
                continue
            repo = _CONFIG_REPOS[family]
            raise ModelError(
                f"The {slot} (CLIP vocabulary) for this {family.upper()} checkpoint is not on this computer:"
                f" the layout {layout} has no {slot}/ folder with vocab.json and merges.txt, the Hugging Face"
                f" cache has none of {', '.join(r for r, _ in sources)}, and its text encoder's vocabulary"
                f" ({size} tokens) is not CLIP's ({VOCAB_SIZE}), so lorakit's own cannot stand in.",
                f"Set model.architecture_config to a diffusers folder of the model (configs and tokenizer files are"
                f" enough: `huggingface-cli download {repo} --include '*.json' '*.txt'` fetches them), or fill"
                f" the cache once with `huggingface-cli download {sources[0][0]}`.",
                field=FIELD,
            )
    return found
