"""Load a base model for training: a diffusers folder or a single-file checkpoint, with an optional VAE.

Nothing is downloaded. A single-file checkpoint (A1111/Civitai ``.safetensors``) is read by diffusers'
``from_single_file`` with a local config folder (the family's layout), so no network is needed.
``.ckpt``/``.pt`` files can run code when unpickled: they are refused unless the user opts in, and then
read with ``weights_only=True`` only.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lorakit.errors import ModelError
from lorakit.models import families
from lorakit.models.families.base import Components, ModelFamily

PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def detect_family(folder: str | Path) -> str:
    """The family name of a diffusers folder, from its configs."""
    folder = Path(folder)
    model_index = _read_json(folder / "model_index.json")
    unet = _read_json(folder / "unet" / "config.json")
    text = _read_json(folder / "text_encoder" / "config.json")
    for family in families.all_families():
        if family.matches(model_index, unet, text):
            return family.name
    raise ModelError(
        f"{folder} does not look like an SD1, SD2 or SDXL model (no UNet config found).",
        "Point the model setting at a diffusers folder (with model_index.json) or a .safetensors checkpoint.",
    )


def _family_from_header(path: Path) -> str:
    """A single-file checkpoint's family from its tensor header (lorakit.models.detect)."""
    from lorakit.models.detect import detect

    family = detect(path).family
    if family not in families.names():
        raise ModelError(
            f"{path.name} looks like a {family or 'unknown'} model, which this trainer does not train yet.",
            "Use an SD1, SD2 or SDXL checkpoint, or set model.family if the detection is wrong.",
        )
    return family


def _check_source(path: Path, allow_pickle: bool) -> None:
    if not path.exists():
        raise ModelError(
            f"The base model {path} does not exist.",
            "Check the path, or download a model first with `lorakit models download`.",
        )
    if path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES and not allow_pickle:
        raise ModelError(
            f"{path.name} is a pickle checkpoint ({path.suffix}), which can run code when opened.",
            "Use a .safetensors version of this model, or set allow_pickle = true if you trust its source"
            " (it is then read with weights_only=True).",
        )


def quiet_libraries() -> None:
    """Loading bars and notes from diffusers/transformers would break our own progress display."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    for lib in (diffusers_logging, transformers_logging):
        lib.set_verbosity_error()
        lib.disable_progress_bar()


def _from_folder(folder: Path, family_cls: type[ModelFamily], dtype: torch.dtype) -> Components:
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=dtype)
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype)
    encoders, tokenizers = [], []
    for i, _ in enumerate(family_cls.text_encoder_names):
        suffix = "" if i == 0 else f"_{i + 1}"
        cls = CLIPTextModel if i == 0 else CLIPTextModelWithProjection
        encoders.append(cls.from_pretrained(folder, subfolder=f"text_encoder{suffix}", torch_dtype=dtype))
        tokenizers.append(CLIPTokenizer.from_pretrained(folder, subfolder=f"tokenizer{suffix}"))
    scheduler = DDPMScheduler.from_pretrained(folder, subfolder="scheduler")
    return Components(unet, vae, encoders, tokenizers, scheduler, source=str(folder))


def _from_single_file(path: Path, family_cls: type[ModelFamily], config: Path | None, dtype) -> Components:
    import diffusers
    from diffusers import DDPMScheduler

    if config is None:
        raise ModelError(
            f"{path.name} is a single-file checkpoint and lorakit needs the model layout to read it offline.",
            "Set model_config to a diffusers folder of the same family (for example the one from"
            " `lorakit models download`), or use a diffusers folder as the base model.",
        )
    pipeline_cls = getattr(diffusers, family_cls.pipeline_class)
    try:
        pipe = pipeline_cls.from_single_file(str(path), config=str(config), local_files_only=True, torch_dtype=dtype)
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(
            f"Could not read {path.name} as a {family_cls.title} checkpoint ({error}).",
            "Check that the file is complete and of the family you chose.",
        ) from error
    encoders = [pipe.text_encoder] + ([pipe.text_encoder_2] if hasattr(pipe, "text_encoder_2") else [])
    tokenizers = [pipe.tokenizer] + ([pipe.tokenizer_2] if hasattr(pipe, "tokenizer_2") else [])
    scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    return Components(pipe.unet, pipe.vae, encoders, tokenizers, scheduler, source=str(path))


def load_model(
    source: str | Path,
    *,
    family: str | None = None,
    vae: str | Path | None = None,
    config: str | Path | None = None,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    allow_pickle: bool = False,
    v_prediction: bool | None = None,
) -> ModelFamily:
    """Load a base model and wrap it in its family.

    ``family`` defaults to detection from the folder (or ``config`` for single files); ``vae`` replaces
    the model's VAE (a diffusers folder or a single ``.safetensors``); ``v_prediction`` overrides the
    scheduler's prediction type (SD2 768-v models shipped without a config).
    """
    path = Path(source).expanduser()
    _check_source(path, allow_pickle)
    quiet_libraries()
    config_path = Path(config).expanduser() if config else None
    layout = path if path.is_dir() else config_path
    found = detect_family(layout) if layout is not None else None
    family = family or found or _family_from_header(path)
    family_cls = families.get(family)
    if found is not None and (found == "sdxl") != (family_cls.name == "sdxl"):
        # SD1 and SD2 share one layout (told apart by width only); SDXL's is different: loading would fail
        # deep inside diffusers, so say it plainly here.
        raise ModelError(
            f"{path} is a {families.get(found).title} model, but the config asks for {family_cls.title}.",
            f"Set model.family to {found!r} (or 'auto'), or choose a {family_cls.title} base model.",
            field="family",
        )
    if path.is_dir():
        components = _from_folder(path, family_cls, dtype)
    else:
        components = _from_single_file(path, family_cls, config_path, dtype)
    if vae:
        components.vae = load_vae(vae, dtype, allow_pickle=allow_pickle)
    if v_prediction is not None:
        prediction = "v_prediction" if v_prediction else "epsilon"
        components.noise_scheduler.register_to_config(prediction_type=prediction)
    for module in (components.unet, components.vae, *components.text_encoders):
        module.to(device)
    return family_cls(components)


def load_vae(source: str | Path, dtype: torch.dtype = torch.float32, *, allow_pickle: bool = False):
    """A separate VAE: a diffusers folder (with config.json) or a single-file VAE."""
    from diffusers import AutoencoderKL

    path = Path(source).expanduser()
    _check_source(path, allow_pickle)
    if path.is_dir():
        sub = "vae" if (path / "vae" / "config.json").exists() else None
        return AutoencoderKL.from_pretrained(path, subfolder=sub, torch_dtype=dtype)
    return AutoencoderKL.from_single_file(str(path), torch_dtype=dtype)
