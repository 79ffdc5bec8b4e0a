"""Load a base model for training: a diffusers folder or a single-file checkpoint, with an optional VAE.

Nothing is downloaded. A single-file checkpoint (A1111/Civitai ``.safetensors``) is read by diffusers'
``from_single_file`` with a local model layout: one shipped with lorakit, chosen from the weights, or a
diffusers folder the user names (:mod:`lorakit.models.single_file`), so no network is needed.
``.ckpt``/``.pt`` files can run code when unpickled: they are refused unless the user opts in, and then
read with ``weights_only=True`` only.
"""

from __future__ import annotations

import json
import re
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


_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def from_hub_cache(source: str | Path) -> Path | None:
    """A Hugging Face repo id (``owner/name``) that is no local path: its folder in the local Hub cache.

    A diffusers repo gives its snapshot folder; a repo holding one ``.safetensors`` checkpoint gives that file.
    Nothing is downloaded: a repo not in the cache is refused with the command that fetches it.
    """
    text = str(source)
    if Path(text).expanduser().exists() or not _REPO_ID.match(text):
        return None
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(text, local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError) as error:
        raise ModelError(
            f"{text} is neither a file or folder here nor a Hugging Face repo in the local cache.",
            f"Check the path, or download the model first with `lorakit models download {text}`"
            " (or `huggingface-cli download`), then train again.",
            field="pretrained_model_name_or_path",
        ) from error
    if (folder / "model_index.json").is_file():
        return folder
    checkpoints = sorted(folder.glob("*.safetensors"))
    if len(checkpoints) == 1:
        return checkpoints[0]
    raise ModelError(
        f"The cached Hugging Face repo {text} is no diffusers model and holds {len(checkpoints)} .safetensors"
        " checkpoints, so lorakit cannot tell which to train on.",
        f"Set model.pretrained_model_name_or_path to one of the files in {folder}.",
        field="pretrained_model_name_or_path",
    )


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


def pickle_only_parts(folder: Path) -> list[str]:
    """The parts of a diffusers folder (unet/, vae/, text_encoder/ ...) whose weights exist only as pickles."""
    found = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file()):
        files = [f for f in sub.iterdir() if f.is_file()]
        safe = any(f.suffix == ".safetensors" or f.name.endswith(".safetensors.index.json") for f in files)
        if not safe and any(f.suffix in PICKLE_SUFFIXES for f in files):
            found.append(sub.name)
    return found


def _check_folder_weights(folder: Path, allow_pickle: bool) -> None:
    parts = pickle_only_parts(folder)
    if parts and not allow_pickle:
        raise ModelError(
            f"{folder} keeps the weights of {', '.join(parts)} only as pickle files (.bin), which can run code"
            " when opened.",
            "Use a copy of this model with .safetensors weights (`lorakit models download` fetches only those),"
            " or convert it with diffusers' save_pretrained(..., safe_serialization=True) where you trust it.",
            field="pretrained_model_name_or_path",
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


def _check_layout(config: Path, path: Path, family_cls: type[ModelFamily]) -> None:
    """The layout a single file is read with must hold every part's config (tokenizers may come from the cache)."""
    # Without a part's config, diffusers falls back to a default of the wrong size and fails on shapes.
    needed = ["unet/config.json", "vae/config.json", "scheduler/scheduler_config.json"]
    for i, _ in enumerate(family_cls.text_encoder_names):
        suffix = "" if i == 0 else f"_{i + 1}"
        needed.append(f"text_encoder{suffix}/config.json")
    missing = [name for name in needed if not (config / name).exists()]
    if missing:
        raise ModelError(
            f"The model layout {config} for {path.name} lacks {', '.join(missing)}.",
            f"Set model.architecture_config to a complete {family_cls.title} diffusers folder (configs and"
            " tokenizer files are enough), or leave it empty to use lorakit's built-in layout.",
            field="architecture_config",
        )


def _from_single_file(
    path: Path, family_cls: type[ModelFamily], config: Path, dtype, vae=None, tokenizer_parts: dict | None = None
) -> Components:
    import diffusers
    from diffusers import DDPMScheduler
    from diffusers.loaders.single_file_utils import SingleFileComponentError

    pipeline_cls = getattr(diffusers, family_cls.pipeline_class)
    parts = ({"vae": vae} if vae is not None else {}) | (tokenizer_parts or {})
    try:
        pipe = pipeline_cls.from_single_file(
            str(path), config=str(config), local_files_only=True, torch_dtype=dtype, **parts
        )
    except SingleFileComponentError as error:
        raise ModelError(
            f"{path.name} does not hold every part of a {family_cls.title} model ({error.message.splitlines()[0]})",
            "Use a complete checkpoint; a checkpoint without a VAE loads with model.vae set to a separate VAE.",
        ) from error
    except NotImplementedError as error:
        if "meta tensor" not in str(error):
            raise
        # diffusers builds each part empty ("meta") and fills it from the file; a tensor the file lacks stays
        # empty and PyTorch fails on it without naming the file.
        raise ModelError(
            f"{path.name} lacks some tensors of a {family_cls.title} model (the file is incomplete or of another"
            " family).",
            "Check that the file downloaded completely and that model.architecture_config (if set) is of the"
            " same family.",
        ) from error
    except (OSError, ValueError, KeyError) as error:
        raise ModelError(
            f"Could not read {path.name} as a {family_cls.title} checkpoint ({error}).",
            "Check that the file is complete, of the family you chose, and that model.architecture_config (if set) is"
            " a diffusers folder of the same family and size as the checkpoint.",
        ) from error
    encoders = [pipe.text_encoder] + ([pipe.text_encoder_2] if hasattr(pipe, "text_encoder_2") else [])
    tokenizers = [pipe.tokenizer] + ([pipe.tokenizer_2] if hasattr(pipe, "tokenizer_2") else [])
    # A tensor the file lacks can also stay empty without an error from diffusers (a part it left on "meta").
    for name, module in (
        ("unet", pipe.unet),
        ("vae", pipe.vae),
        *zip(family_cls.text_encoder_names, encoders, strict=True),
    ):
        empty = [key for key, tensor in module.state_dict().items() if tensor.is_meta]
        if empty:
            raise ModelError(
                f"{path.name} has no weights for {len(empty)} tensor(s) of its {name} ({', '.join(empty[:3])}).",
                f"Check that the file is a complete {family_cls.title} checkpoint (and model.architecture_config of"
                " the same family).",
            )
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
    in_memory: bool = True,
) -> ModelFamily:
    """Load a base model and wrap it in its family.

    ``source`` is a diffusers folder, a single-file checkpoint, or a Hugging Face repo id already in the local
    Hub cache (see :func:`from_hub_cache`).

    ``family`` defaults to detection from the folder (or the weights, for single files); ``config`` is the layout
    a single file is read with: a diffusers folder of the same model or a built-in name (``sd1``, ``sd2``,
    ``sd2-v``, ``sdxl``; default: chosen from the weights, see :mod:`lorakit.models.single_file`); ``vae`` replaces
    the model's VAE (a diffusers folder or a single ``.safetensors``); ``v_prediction`` overrides the
    scheduler's prediction type (SD2 768-v models shipped without a config). On the CPU the weights end up in
    ordinary memory, not as views of the mapped files (``in_memory``; see :mod:`lorakit.models.in_memory`).
    """
    path = from_hub_cache(source) or Path(source).expanduser()
    _check_source(path, allow_pickle)
    quiet_libraries()
    if path.is_dir():
        found = detect_family(path)
        family_cls = families.get(family or found)
        if "flux" in (found, family_cls.name):  # Flux has its own loader (models/families/flux_loading.py)
            return _load_flux(path, found, family_cls, config, dtype, device, in_memory)
        if (found == "sdxl") != (family_cls.name == "sdxl"):
            # SD1 and SD2 share one layout (told apart by width only); SDXL's is different: loading would fail
            # deep inside diffusers, so say it plainly here.
            raise ModelError(
                f"{path} is a {families.get(found).title} model, but the config asks for {family_cls.title}.",
                f"Set model.family to {found!r} (or 'auto'), or choose a {family_cls.title} base model.",
                field="family",
            )
        _check_folder_weights(path, allow_pickle)
        separate_vae = load_vae(vae, dtype, allow_pickle=allow_pickle, layout=path) if vae else None
        components = _from_folder(path, family_cls, dtype)
    else:
        from lorakit.models import single_file

        if family == "flux" or _is_flux_file(path):
            return _load_flux(path, "flux", families.get("flux"), config, dtype, device, in_memory)
        named = single_file.named_layout(path, config)
        if family is None:
            try:
                family, v_weights = single_file.family_from_weights(path)
            except ModelError:
                if named is None:
                    raise
                # Weights of an unusual size (no standard width): the layout the user named says the family.
                family, v_weights = detect_family(named), False
        else:
            v_weights = family == "sd2-v" or single_file.predicts_v(path)
        family_cls = families.get(family)
        if v_prediction is None and v_weights:
            v_prediction = True  # the file says so (metadata, v_pred key, name); an explicit setting wins
        v_pred = bool(v_prediction)
        layout = single_file.choose_layout(path, config, family_cls.name, v_pred)
        layout_family = detect_family(layout)
        if (layout_family == "sdxl") != (family_cls.name == "sdxl"):
            raise ModelError(
                f"The model layout {layout} is a {families.get(layout_family).title} model, but {path.name} is"
                f" read as {family_cls.title}.",
                f"Set model.architecture_config (config= from Python) to a {family_cls.title} diffusers folder or"
                " leave it empty, or set model.family to the checkpoint's family.",
                field="architecture_config",
            )
        _check_layout(layout, path, family_cls)
        single_file.check_weights_match(path, layout)
        tokenizer_parts = single_file.tokenizers(layout, family_cls.name)
        separate_vae = load_vae(vae, dtype, allow_pickle=allow_pickle, layout=layout) if vae else None
        # A separate VAE goes in at load time: checkpoints shipped without one cannot be read otherwise.
        components = _from_single_file(path, family_cls, layout, dtype, separate_vae, tokenizer_parts)
    if separate_vae is not None:
        components.vae = separate_vae
    if v_prediction is not None:
        prediction = "v_prediction" if v_prediction else "epsilon"
        components.noise_scheduler.register_to_config(prediction_type=prediction)
    modules = (components.unet, components.vae, *components.text_encoders)
    if in_memory and torch.device(device).type == "cpu":
        from lorakit.models.in_memory import into_memory

        into_memory(modules)  # a GPU gets its own copy from .to(device)
    for module in modules:
        module.to(device)
    return family_cls(components)


def _is_flux_file(path: Path) -> bool:
    from lorakit.models.families.flux_loading import bfl_prefix
    from lorakit.models.header import read_header

    try:
        return bfl_prefix(set(read_header(path).tensors)) is not None
    except Exception:  # not a readable safetensors header: the SD path reports it
        return False


def _load_flux(path: Path, found: str, family_cls, config, dtype, device, in_memory: bool) -> ModelFamily:
    """A Flux model: a diffusers folder, or a transformer file with the rest from ``config`` (a Flux folder)."""
    from lorakit.models.families import flux_loading

    if found != family_cls.name:
        raise ModelError(
            f"{path} is a {families.get(found).title} model, but the config asks for {family_cls.title}.",
            f"Set model.family to {found!r} (or 'auto'), or choose a {family_cls.title} base model.",
            field="family",
        )
    if path.is_dir():
        components = flux_loading.from_folder(path, dtype)
    else:
        layout = (from_hub_cache(config) or Path(config).expanduser()) if config else None
        components = flux_loading.from_single_file(path, layout, dtype)
    modules = (components.unet, components.vae, *components.text_encoders)
    if in_memory and torch.device(device).type == "cpu":
        from lorakit.models.in_memory import into_memory

        into_memory(modules)
    for module in modules:
        module.to(device)
    return family_cls(components)


def load_vae(
    source: str | Path,
    dtype: torch.dtype = torch.float32,
    *,
    allow_pickle: bool = False,
    layout: str | Path | None = None,
):
    """A separate VAE: a diffusers folder (with config.json) or a single-file VAE.

    A single file is read with ``layout``'s ``vae/config.json`` (the base model's folder or its single-file
    layout), offline; the VAE's shape and latent scale are the base model's.
    """
    from diffusers import AutoencoderKL

    path = Path(source).expanduser()
    _check_source(path, allow_pickle)
    if path.is_dir():
        sub = "vae" if (path / "vae" / "config.json").exists() else None
        return AutoencoderKL.from_pretrained(path, subfolder=sub, torch_dtype=dtype)
    if layout is None:
        raise ModelError(
            f"The VAE file {path.name} needs the model layout it belongs to, to be read offline.",
            "Load it together with its base model (model.vae), or pass layout= the base model's diffusers folder.",
        )
    try:
        return AutoencoderKL.from_single_file(
            str(path), config=str(layout), subfolder="vae", local_files_only=True, torch_dtype=dtype
        )
    except (OSError, ValueError, KeyError, NotImplementedError) as error:
        raise ModelError(
            f"Could not read {path.name} as the VAE of this base model ({str(error).splitlines()[0]}).",
            "Use a VAE made for the base model's family (an SDXL VAE for SDXL models, an SD VAE for SD1/SD2).",
            field="vae",
        ) from error
