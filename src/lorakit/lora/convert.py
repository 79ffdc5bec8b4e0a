"""Move a LoRA between the key layouts that different tools expect, keeping alpha and metadata.

Layouts (``<m>`` is a module path, dotted):

- ``kohya``: ``lora_unet_<m with _>.lora_down.weight`` / ``.lora_up.weight`` / ``.alpha`` (A1111, Forge,
  ComfyUI, diffusers). SD1/SD2 UNets use diffusers paths, SDXL the SGM paths (REFERENCE.md).
- ``diffusers``: one file, ``unet.<m>.lora_A.weight`` / ``lora_B.weight`` (``text_encoder.``,
  ``text_encoder_2.``), alpha in the ``lora_adapter_metadata`` entry that diffusers' ``load_lora_weights``
  reads (``unet.r``, ``unet.lora_alpha``, ``unet.rank_pattern``, ``unet.alpha_pattern``...). The older
  ``unet.<m>.lora.down.weight`` form is read too.
- ``peft``: a folder per model part with ``adapter_model.safetensors`` (``base_model.model.<m>.lora_A.weight``)
  and ``adapter_config.json`` (``r``, ``lora_alpha``, ``rank_pattern``, ``alpha_pattern``).
- ``comfyui``: ComfyUI's generic form, ``diffusion_model.<SGM m>.lora_down.weight`` and
  ``text_encoders.clip_l.transformer.<m>...`` (ComfyUI ``comfy/lora.py`` ``model_lora_keys_*``).

Everything passes through the kohya form, where the tools in this package work. LyCORIS modules (LoHa,
LoKr, DoRA: ``hada_w1_a``, ``lokr_w1``, ``dora_scale``...) move between ``kohya`` and ``comfyui`` with all
their tensors (ComfyUI reads them in both); the diffusers and peft layouts hold plain LoRA/LoCon only.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter
from pathlib import Path

import torch

from lorakit.lora.modules import (
    LOHA_SUFFIXES,
    LOKR_SUFFIXES,
    LoraFormatError,
    LoraModule,
    LoraState,
    from_tensors,
    read_safetensors,
    require_known,
)
from lorakit.lora.naming import (
    diffusers_to_sgm,
    dotted,
    is_sgm_name,
    sgm_to_diffusers,
    underscored,
    unet_layout,
)

FORMATS = ("kohya", "diffusers", "peft", "comfyui")
LYCORIS_SUFFIXES = (LOHA_SUFFIXES | LOKR_SUFFIXES | {"lora_mid.weight", "dora_scale"}) - {"alpha"}
ADAPTER_CONFIG = "adapter_config.json"
ADAPTER_WEIGHTS = "adapter_model.safetensors"

# kohya prefix -> diffusers pipeline part, per architecture.
_PARTS = {
    "sd1": {"lora_unet": "unet", "lora_te": "text_encoder"},
    "sd2": {"lora_unet": "unet", "lora_te": "text_encoder"},
    "sdxl": {"lora_unet": "unet", "lora_te1": "text_encoder", "lora_te2": "text_encoder_2"},
}
_PEFT_PARTS = ("unet", "text_encoder", "text_encoder_2")
_COMFY_TE = {
    "sd1": {"lora_te": "clip_l"},
    "sd2": {"lora_te": "clip_h"},
    "sdxl": {"lora_te1": "clip_l", "lora_te2": "clip_g"},
}


def family_of(state: LoraState) -> str | None:
    """The model family (sd1, sd2, sdxl, flux, ...) from metadata or keys (``lorakit.models.detect_lora``)."""
    from lorakit.models.detect_lora import base_of
    from lorakit.models.header import TensorEntry

    entries = {
        k: TensorEntry(str(v.dtype), tuple(v.shape), 0, 0) for m in state.modules.values() for k, v in _keyed(m)
    }
    family = base_of(entries, state.metadata)[0]["family"]
    if family is None and any(m.prefix in ("lora_te1", "lora_te2") for m in state.modules.values()):
        return "sdxl"
    return family


def guess_arch(state: LoraState) -> str:
    """sd1, sd2 or sdxl: the families whose key layouts lorakit converts (unknown files count as sd1)."""
    family = family_of(state)
    if family in _PARTS:
        return family
    if family is None:
        return "sd1"
    raise LoraFormatError(
        f"This LoRA is for {family}; lorakit converts SD1, SD2 and SDXL LoRAs.",
        "Use the LoRA as it is: ComfyUI and diffusers read the kohya layout for this model family.",
    )


def normalize_names(state: LoraState, *, arch: str | None = None, unet_config: dict | None = None) -> LoraState:
    """The same LoRA with SDXL UNet modules named the SGM way, as kohya writes them (others unchanged).

    Some trainers write SDXL LoRAs with diffusers UNet names; merging those with kohya-named ones would
    otherwise treat the same layer as two.
    """
    arch = arch or family_of(state)
    if arch != "sdxl":
        return state
    layout = unet_layout(arch, unet_config)
    modules: dict[str, LoraModule] = {}
    for m in state.modules.values():
        name = m.name
        path = dotted(name.removeprefix("lora_unet_"))
        if m.prefix == "lora_unet" and not is_sgm_name(path):
            with contextlib.suppress(KeyError):  # not a UNet block path we know: keep the name as written
                name = f"lora_unet_{underscored(diffusers_to_sgm(path, layout))}"
        modules[name] = LoraModule(name, m.tensors)
    return LoraState(modules, state.metadata, state.unknown_keys)


def _fitted(paths: list[str], layout: dict, *, sgm: bool) -> dict:
    """:func:`lorakit.lora.keys.fit_layout`, its KeyError as a problem and fix."""
    from lorakit.lora.keys import fit_layout

    if not paths:
        return layout
    try:
        return fit_layout(paths, layout, sgm=sgm)
    except KeyError as error:
        raise LoraFormatError(
            f"This LoRA's UNet modules do not fit any UNet layout lorakit knows ({error.args[0]}).",
            "Check the file is a LoRA for SD1, SD2 or SDXL, and pass --arch if its family is not recorded in it.",
        ) from None


def _keyed(m: LoraModule):
    return ((f"{m.name}.{s}", v) for s, v in m.tensors.items())


def detect_layout(keys) -> str:
    """Which layout a state dict uses; unknown layouts raise, listing keys we could not place."""
    keys = list(keys)
    if all(k.startswith(("lora_unet_", "lora_te")) for k in keys):
        return "kohya"
    if all(k.startswith("base_model.model.") for k in keys):
        return "peft"
    if all(k.startswith(("diffusion_model.", "text_encoders.")) for k in keys):
        return "comfyui"
    if all(k.startswith(("unet.", "text_encoder.", "text_encoder_2.")) for k in keys):
        return "diffusers"
    strange = [k for k in keys if not k.startswith(("lora_unet_", "lora_te", "unet.", "text_encoder"))][:8]
    raise LoraFormatError(
        f"The key layout of this file is not one lorakit knows. Keys not understood: {', '.join(strange or keys[:8])}",
        "lorakit reads kohya, diffusers, peft and ComfyUI LoRA layouts for SD1/SD2/SDXL.",
    )


# Suffix spellings of the two factors, per layout family.
_DOWN = (".lora_down.weight", ".lora_A.weight", ".lora.down.weight", ".lora_linear_layer.down.weight")
_UP = (".lora_up.weight", ".lora_B.weight", ".lora.up.weight", ".lora_linear_layer.up.weight")


def _split_key(key: str) -> tuple[str, str]:
    for suffix in _DOWN:
        if key.endswith(suffix):
            return key[: -len(suffix)], "lora_down.weight"
    for suffix in _UP:
        if key.endswith(suffix):
            return key[: -len(suffix)], "lora_up.weight"
    if key.endswith(".alpha"):
        return key[: -len(".alpha")], "alpha"
    for suffix in sorted(LYCORIS_SUFFIXES, key=len, reverse=True):
        if key.endswith(f".{suffix}"):
            return key[: -len(suffix) - 1], suffix
    raise LoraFormatError(f"Key {key} is neither a LoRA down/up factor nor an alpha.")


def to_kohya(
    tensors: dict[str, torch.Tensor],
    metadata: dict[str, str] | None = None,
    *,
    adapter_configs: dict[str, dict] | None = None,
    arch: str | None = None,
    unet_config: dict | None = None,
) -> LoraState:
    """Any known layout -> kohya modules. ``adapter_configs`` maps a part (``unet``) to its peft config."""
    metadata = dict(metadata or {})
    layout = detect_layout(tensors)
    if layout == "kohya":
        state = from_tensors(tensors, metadata)
        require_known(state, "This LoRA")
        return state
    configs = dict(adapter_configs or {})
    if layout == "diffusers" and "lora_adapter_metadata" in metadata:
        packed = json.loads(metadata.pop("lora_adapter_metadata"))
        for key, value in packed.items():
            part, _, field = key.partition(".")
            configs.setdefault(part, {})[field] = value
    grouped: dict[tuple[str, str], dict[str, torch.Tensor]] = {}
    unknown: list[str] = []
    for key, value in tensors.items():
        try:
            module, suffix = _split_key(key)
        except LoraFormatError:
            unknown.append(key)
            continue
        if layout == "peft":
            part, path = "unet", module.removeprefix("base_model.model.")
        elif layout == "comfyui":
            part, path = _comfy_part(module)
        else:
            part, _, path = module.partition(".")
        grouped.setdefault((part, path), {})[suffix] = value
    if unknown:
        raise LoraFormatError(
            f"{len(unknown)} keys are not LoRA factors lorakit understands: {', '.join(unknown[:8])}",
            "Check the file is a LoRA (not a checkpoint or an embedding).",
        )
    lycoris = [f"{part}.{path}" for (part, path), f in grouped.items() if "lora_down.weight" not in f]
    if lycoris and layout != "comfyui":
        raise LoraFormatError(
            f"{len(lycoris)} modules in this {layout}-layout file are not LoRA factors: {', '.join(lycoris[:4])}.",
            "lorakit reads LyCORIS modules (LoHa, LoKr, DoRA) in kohya and ComfyUI layouts only.",
        )
    parts = {part for part, _ in grouped}
    arch = arch or _arch_from_parts(parts, [p for _, p in grouped], metadata)
    unet_names = unet_layout(arch, unet_config)
    if unet_config is None:
        unet_paths = [path for part, path in grouped if part == "unet"]
        unet_names = _fitted([p for p in unet_paths if is_sgm_name(p)], unet_names, sgm=True)
        unet_names = _fitted([p for p in unet_paths if not is_sgm_name(p)], unet_names, sgm=False)
    prefix_of_part = {v: k for k, v in _PARTS[arch].items()}
    comfy_prefix = {v: k for k, v in _COMFY_TE[arch].items()}
    out: dict[str, torch.Tensor] = {}
    for (part, path), factors in grouped.items():
        if layout == "comfyui":
            prefix = "lora_unet" if part == "unet" else comfy_prefix.get(part)
            if part == "unet" and arch != "sdxl":
                path = sgm_to_diffusers(path, unet_names)  # ComfyUI names SD1 UNets the LDM way too
        else:
            prefix = prefix_of_part.get(part)
            if part == "unet" and arch == "sdxl" and not is_sgm_name(path):
                path = diffusers_to_sgm(path, unet_names)
        if prefix is None:
            raise LoraFormatError(f"Part {part!r} does not belong to a {arch} model.", "Pass the right --arch.")
        name = f"{prefix}_{underscored(path)}"
        if "alpha" not in factors and "lora_down.weight" in factors:
            config = configs.get(part, {})
            factors["alpha"] = torch.tensor(float(_peft_alpha(config, path, factors["lora_down.weight"].shape[0])))
        for suffix, value in factors.items():
            out[f"{name}.{suffix}"] = value
    metadata.setdefault("ss_base_model_version", {"sd1": "sd_v1", "sd2": "sd_v2", "sdxl": "sdxl_base_v1-0"}[arch])
    return from_tensors(out, metadata)


def _comfy_part(module: str) -> tuple[str, str]:
    if module.startswith("diffusion_model."):
        return "unet", module.removeprefix("diffusion_model.")
    _, encoder, rest = module.split(".", 2)  # text_encoders.clip_l.transformer.text_model...
    return encoder, rest.removeprefix("transformer.")


def _arch_from_parts(parts: set[str], paths: list[str], metadata: dict[str, str]) -> str:
    version = metadata.get("ss_base_model_version", "")
    if version.startswith("sdxl") or parts & {"text_encoder_2", "clip_g"}:
        return "sdxl"
    if version.startswith("sd_v2") or "clip_h" in parts:
        return "sd2"
    # SDXL UNets have transformer depth > 1 and no attention in the first down block.
    if any(".transformer_blocks.1." in p for p in paths) or any(p.startswith("add_embedding") for p in paths):
        return "sdxl"
    return "sd1"


def _peft_alpha(config: dict, path: str, rank: int) -> float:
    """The alpha peft uses for a module: its alpha_pattern entry (matched as a path suffix), else lora_alpha.

    A file with no config at all (plain diffusers training output) means alpha = rank, i.e. scale 1.
    """
    for pattern, alpha in (config.get("alpha_pattern") or {}).items():
        if path == pattern or path.endswith("." + pattern):
            return float(alpha)
    return float(config.get("lora_alpha", rank))


def from_kohya(
    state: LoraState, layout: str, *, arch: str | None = None, unet_config: dict | None = None
) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, dict]]:
    """kohya modules -> ``({file part: tensors}, {part: peft-style config})`` in the chosen layout.

    For ``diffusers`` and ``comfyui`` there is one part (``""``); for ``peft`` one per model part.
    """
    require_known(state, "This LoRA")
    if layout not in FORMATS:
        raise LoraFormatError(f"Unknown layout {layout!r}.", f"Choose one of: {', '.join(FORMATS)}.")
    arch = arch or guess_arch(state)
    unet_names = unet_layout(arch, unet_config)
    if unet_config is None:
        # A LoRA for a UNet of another shape than the family's real one (the tiny models): read its shape
        # from the names, so every module gets its right name in the other layout.
        paths = [dotted(m.name[len("lora_unet_") :]) for m in state.modules.values() if m.prefix == "lora_unet"]
        diffusers_named = [p for p in paths if not is_sgm_name(p)]
        unet_names = _fitted(diffusers_named, unet_names, sgm=False)
        unet_names = _fitted([p for p in paths if is_sgm_name(p)], unet_names, sgm=True)
    files: dict[str, dict[str, torch.Tensor]] = {}
    ranks: dict[str, dict[str, tuple[int, float]]] = {}
    for m in state.modules.values():
        plain = m.network_type == "lora" and "lora_mid.weight" not in m.tensors
        if not plain and layout not in ("kohya", "comfyui"):
            raise LoraFormatError(
                f"Module {m.name} is {m.network_type}; the {layout} layout holds plain LoRA/LoCon modules only.",
                "Keep LyCORIS (LoHa, LoKr, DoRA) files in kohya layout, which ComfyUI, A1111 and Forge read,"
                " or convert them to the comfyui layout.",
            )
        path = dotted(m.name[len(m.prefix) + 1 :])
        if layout == "kohya":
            name = m.name
            if m.prefix == "lora_unet" and arch == "sdxl" and not is_sgm_name(path):
                name = f"lora_unet_{underscored(diffusers_to_sgm(path, unet_names))}"
            files.setdefault("", {}).update({f"{name}.{suffix}": v for suffix, v in m.tensors.items()})
            continue
        if layout == "comfyui":
            if m.prefix == "lora_unet":
                sgm = path if is_sgm_name(path) else diffusers_to_sgm(path, unet_names)
                key = f"diffusion_model.{sgm}"
            else:
                key = f"text_encoders.{_COMFY_TE[arch][m.prefix]}.transformer.{path}"
            tensors = {f"{key}.{suffix}": v for suffix, v in m.tensors.items()}
            tensors.setdefault(f"{key}.alpha", torch.tensor(m.alpha))
            files.setdefault("", {}).update(tensors)
            continue
        down, up = m.tensors["lora_down.weight"], m.tensors["lora_up.weight"]
        part = _PARTS[arch].get(m.prefix)
        if part is None:
            raise LoraFormatError(f"Module {m.name} does not belong to a {arch} model.", "Pass the right --arch.")
        if part == "unet" and is_sgm_name(path):
            path = sgm_to_diffusers(path, unet_names)
        ranks.setdefault(part, {})[path] = (m.rank, m.alpha)
        if layout == "diffusers":
            files.setdefault("", {}).update({f"{part}.{path}.lora_A.weight": down, f"{part}.{path}.lora_B.weight": up})
        else:
            files.setdefault(part, {}).update(
                {f"base_model.model.{path}.lora_A.weight": down, f"base_model.model.{path}.lora_B.weight": up}
            )
    return files, {part: peft_config(modules) for part, modules in ranks.items()}


def peft_config(modules: dict[str, tuple[int, float]]) -> dict:
    """A peft ``LoraConfig`` dict: the most common rank/alpha, and per-module patterns for the rest."""
    rank = Counter(r for r, _ in modules.values()).most_common(1)[0][0]
    alpha = Counter(a for _, a in modules.values()).most_common(1)[0][0]
    return {
        "peft_type": "LORA",
        "r": rank,
        "lora_alpha": alpha,
        "target_modules": sorted(modules),
        "rank_pattern": {p: r for p, (r, _) in modules.items() if r != rank},
        "alpha_pattern": {p: a for p, (_, a) in modules.items() if a != alpha},
        "lora_dropout": 0.0,
        "bias": "none",
        "init_lora_weights": True,
        "use_dora": False,
    }


def read_any(source: str | os.PathLike, *, arch: str | None = None, unet_config: dict | None = None) -> LoraState:
    """Read a LoRA in any known layout (a file, or a peft folder) as kohya modules."""
    src = Path(source)
    if src.is_file() and src.name == ADAPTER_WEIGHTS and (src.parent / ADAPTER_CONFIG).exists():
        # The weights file of a peft adapter folder: read with its folder, whose config holds the alphas.
        src = src.parent
    if src.is_dir():
        tensors: dict[str, torch.Tensor] = {}
        configs: dict[str, dict] = {}
        parts = [src] if (src / ADAPTER_WEIGHTS).exists() else sorted(p for p in src.iterdir() if p.is_dir())
        for folder in parts:
            if not (folder / ADAPTER_WEIGHTS).exists():
                continue
            # A part folder (unet/, text_encoder/...) read on its own keeps its part's name.
            part = folder.name if folder.name in _PEFT_PARTS else "unet" if folder == src else folder.name
            part_tensors, _ = read_safetensors(folder / ADAPTER_WEIGHTS)
            tensors.update({k.replace("base_model.model.", f"{part}.", 1): v for k, v in part_tensors.items()})
            if (folder / ADAPTER_CONFIG).exists():
                configs[part] = json.loads((folder / ADAPTER_CONFIG).read_text(encoding="utf-8"))
        if not tensors:
            raise LoraFormatError(f"{src} holds no {ADAPTER_WEIGHTS}.", "Point at a peft adapter folder or a file.")
        metadata = _read_metadata_sidecar(src)
        if not metadata and src.name in _PEFT_PARTS:
            metadata = _read_metadata_sidecar(src.parent)
        return to_kohya(tensors, metadata, adapter_configs=configs, arch=arch, unet_config=unet_config)
    tensors, metadata = read_safetensors(src)
    return to_kohya(tensors, metadata, arch=arch, unet_config=unet_config)


def _read_metadata_sidecar(folder: Path) -> dict[str, str]:
    sidecar = folder / "lorakit_metadata.json"
    return json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.exists() else {}


def output_path(output: str | os.PathLike, layout: str) -> Path:
    """Where ``convert_lora`` writes: a peft adapter is a folder, so ``x.safetensors`` becomes the folder ``x``
    (a folder named like a file would fool every tool that opens it)."""
    out = Path(output)
    return out.with_suffix("") if layout == "peft" and out.suffix.lower() == ".safetensors" else out


def convert_lora(
    source: str | os.PathLike,
    output: str | os.PathLike,
    layout: str,
    *,
    arch: str | None = None,
    unet_config: dict | None = None,
) -> Path:
    """Convert ``source`` (any known layout) to ``layout`` at ``output`` (a file; a folder for peft)."""
    from lorakit.fileio import atomic_write_text
    from lorakit.lora import flux_convert
    from lorakit.lora.modules import safetensors_bytes, write_lora

    if flux_convert.is_flux(source, arch):  # Flux: fused q/k/v <-> split layers (lora/flux_convert.py)
        return flux_convert.convert(source, output_path(output, layout), layout)
    state = read_any(source, arch=arch, unet_config=unet_config)
    files, configs = from_kohya(state, layout, arch=arch, unet_config=unet_config)
    out = output_path(output, layout)
    metadata = {k: v for k, v in state.metadata.items() if k != "lora_adapter_metadata"}
    if layout in ("kohya", "comfyui"):
        return write_lora(out, files[""], metadata)
    if layout == "diffusers":
        from lorakit.fileio import atomic_write_bytes

        packed = {f"{part}.{k}": v for part, config in configs.items() for k, v in config.items()}
        metadata["lora_adapter_metadata"] = json.dumps(packed, sort_keys=True)
        metadata["format"] = "pt"
        atomic_write_bytes(out, safetensors_bytes(files[""], metadata))
        return out
    for part, tensors in files.items():
        folder = out / part
        folder.mkdir(parents=True, exist_ok=True)
        from lorakit.fileio import atomic_write_bytes

        atomic_write_bytes(folder / ADAPTER_WEIGHTS, safetensors_bytes(tensors, {"format": "pt"}))
        atomic_write_text(folder / ADAPTER_CONFIG, json.dumps(configs[part], indent=2, sort_keys=True))
    # peft files carry no free-form metadata; keep the ss_* training record beside them.
    atomic_write_text(out / "lorakit_metadata.json", json.dumps(metadata, indent=2, sort_keys=True))
    return out
