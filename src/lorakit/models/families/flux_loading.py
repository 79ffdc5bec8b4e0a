"""Loading Flux.1: a diffusers folder, or a single transformer file (BFL layout) with the rest from a folder.

The common downloads are transformer-only files (``flux1-dev.safetensors``: ``double_blocks.N.img_attn.qkv``,
``single_blocks.N.linear1`` ..., sometimes under ``model.diffusion_model.``) next to separate CLIP-L, T5-XXL
and autoencoder files. lorakit converts such a file with its own BFL → diffusers mapping (diffusers'
single-file converter assumes the full 3072 width) into a transformer built from the config of a Flux
diffusers folder (``model.architecture_config``, e.g. the FLUX.1-dev repo from the local Hugging Face cache),
and takes the text encoders, tokenizers and VAE from that folder. dev and schnell are told apart by the
weights (``guidance_in`` present → dev). Fill (``img_in`` 384 inputs), Canny/Depth (128) and Kontext models
are refused: they train with an image condition this trainer does not feed.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from lorakit.errors import ModelError
from lorakit.models.families.base import Components

PLAIN_IN_CHANNELS = 64
OTHER_FLUX = {384: "a Flux Fill (inpainting/outpainting) model", 128: "a Flux Canny/Depth (structural control) model"}
KONTEXT_PIPELINES = ("FluxKontextPipeline", "FluxKontextInpaintPipeline")
BFL_PREFIXES = ("model.diffusion_model.", "diffusion_model.", "")


def _refuse_variant(what: str, where: str) -> None:
    raise ModelError(
        f"{where} is {what}, not a plain Flux.1 dev or schnell model.",
        "Train the LoRA on the plain FLUX.1-dev (or schnell) model; LoRAs trained there also load on"
        " Fill/Kontext/Canny/Depth variants in most UIs.",
        field="pretrained_model_name_or_path",
    )


def check_variant(in_channels: int | None, pipeline_class: str, where: str) -> None:
    """Refuse Fill / Canny / Depth / Kontext models, saying what they are."""
    if pipeline_class in KONTEXT_PIPELINES:
        _refuse_variant("a Flux Kontext (image editing) model", where)
    if in_channels is not None and in_channels != PLAIN_IN_CHANNELS:
        _refuse_variant(OTHER_FLUX.get(in_channels, f"a Flux variant with {in_channels} input channels"), where)


def _t5_missing(where: Path) -> ModelError:
    return ModelError(
        f"{where} has no T5-XXL text encoder (text_encoder_2/ with its tokenizer_2/), which Flux needs.",
        "Use a complete Flux diffusers folder (e.g. `lorakit models download black-forest-labs/FLUX.1-dev`,"
        " or `huggingface-cli download` of it), or set model.architecture_config to one that has text_encoder_2/"
        " and tokenizer_2/.",
        field="t5xxl",
    )


def from_folder(folder: Path, dtype: torch.dtype, transformer=None) -> Components:
    """The parts of a Flux diffusers folder; ``transformer`` replaces the folder's own (a single file's)."""
    from diffusers import AutoencoderKL, FlowMatchEulerDiscreteScheduler, FluxTransformer2DModel
    from transformers import AutoTokenizer, CLIPTextModel, CLIPTokenizer, T5EncoderModel

    index = _read_json(folder / "model_index.json")
    if transformer is None:
        config = _read_json(folder / "transformer" / "config.json")
        check_variant(config.get("in_channels"), str(index.get("_class_name", "")), str(folder))
    for part in ("text_encoder_2", "tokenizer_2"):
        if not (folder / part).is_dir():
            raise _t5_missing(folder)
    if transformer is None:
        transformer = FluxTransformer2DModel.from_pretrained(folder, subfolder="transformer", torch_dtype=dtype)
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=dtype)
    clip = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder", torch_dtype=dtype)
    t5 = T5EncoderModel.from_pretrained(folder, subfolder="text_encoder_2", torch_dtype=dtype)
    tokenizers = [
        CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer"),
        AutoTokenizer.from_pretrained(folder, subfolder="tokenizer_2"),
    ]
    scheduler = FlowMatchEulerDiscreteScheduler.from_pretrained(folder, subfolder="scheduler")
    return Components(transformer, vae, [clip, t5], tokenizers, scheduler, source=str(folder))


def bfl_prefix(keys) -> str | None:
    """The prefix before ``double_blocks.0.img_attn.qkv.weight`` in a BFL-layout file, or None if not Flux."""
    for prefix in BFL_PREFIXES:
        if f"{prefix}double_blocks.0.img_attn.qkv.weight" in keys:
            return prefix
    return None


def inspect_file(path: Path) -> dict:
    """What a single Flux file is: ``{"variant": dev|schnell, "in_channels": n, "double": n, "single": n}``."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        keys = set(f.keys())
        prefix = bfl_prefix(keys)
        if prefix is None:
            raise ModelError(
                f"{path.name} is no Flux transformer in the original (BFL) layout: it has no"
                " double_blocks.0.img_attn.qkv.weight.",
                "Use the flux1-dev/flux1-schnell .safetensors download, or a Flux diffusers folder.",
                field="pretrained_model_name_or_path",
            )
        in_channels = f.get_slice(f"{prefix}img_in.weight").get_shape()[-1]
    count = lambda part: len({k.split(".")[len(prefix.split("."))] for k in keys if k.startswith(f"{prefix}{part}.")})  # noqa: E731
    return {
        "variant": "dev" if f"{prefix}guidance_in.in_layer.weight" in keys else "schnell",
        "in_channels": in_channels,
        "double": count("double_blocks"),
        "single": count("single_blocks"),
    }


def from_single_file(path: Path, layout: Path | None, dtype: torch.dtype) -> Components:
    """A transformer-only Flux file, with the rest of the model from the diffusers folder ``layout``."""
    info = inspect_file(path)
    check_variant(info["in_channels"], "", path.name)
    if layout is None or not (layout / "model_index.json").is_file():
        raise ModelError(
            f"{path.name} holds only the Flux transformer; the text encoders (CLIP-L, T5-XXL), tokenizers and VAE"
            " must come from a Flux diffusers folder.",
            "Set model.architecture_config to a FLUX.1 diffusers folder (or its Hugging Face repo id in the local"
            " cache, e.g. black-forest-labs/FLUX.1-dev after `lorakit models download`).",
            field="architecture_config",
        )
    config = _read_json(layout / "transformer" / "config.json")
    if bool(config.get("guidance_embeds")) != (info["variant"] == "dev"):
        # dev and schnell differ in the guidance embedder only: the file decides which config is used.
        config["guidance_embeds"] = info["variant"] == "dev"
    config["num_layers"], config["num_single_layers"] = info["double"], info["single"]
    try:
        transformer = _transformer_from_bfl(path, config, dtype)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        raise ModelError(
            f"Could not read {path.name} as a Flux transformer ({str(error).splitlines()[0]}).",
            "Check that the file downloaded completely and that model.architecture_config is a Flux folder.",
        ) from error
    components = from_folder(layout, dtype, transformer=transformer)
    components.source = str(path)
    return components


def bfl_to_diffusers(bfl: dict[str, torch.Tensor], num_layers: int, num_single_layers: int) -> dict[str, torch.Tensor]:
    """BFL-layout Flux transformer weights (prefix removed) → diffusers' FluxTransformer2DModel names.

    Our own mapping (diffusers' converter assumes the full 3072 width): fused qkv / linear1 are split by the
    model width (the q/k norm scale's length × the heads is not needed: qkv is 3 equal parts, linear1 is
    3 × width + the MLP), and the final modulation's (shift, scale) becomes diffusers' (scale, shift).
    """
    sd = dict(bfl)
    out: dict[str, torch.Tensor] = {}

    def take(src: str, dst: str) -> None:
        for kind in ("weight", "bias"):
            if f"{src}.{kind}" in sd:
                out[f"{dst}.{kind}"] = sd.pop(f"{src}.{kind}")

    def split(src: str, dsts: list[str], sizes: list[int]) -> None:
        for kind in ("weight", "bias"):
            if f"{src}.{kind}" in sd:
                for dst, part in zip(dsts, torch.split(sd.pop(f"{src}.{kind}"), sizes), strict=True):
                    out[f"{dst}.{kind}"] = part

    width = sd["img_in.weight"].shape[0]
    for bfl_name, dif in (
        ("time_in", "timestep_embedder"),
        ("vector_in", "text_embedder"),
        ("guidance_in", "guidance_embedder"),
    ):
        take(f"{bfl_name}.in_layer", f"time_text_embed.{dif}.linear_1")
        take(f"{bfl_name}.out_layer", f"time_text_embed.{dif}.linear_2")
    take("txt_in", "context_embedder")
    take("img_in", "x_embedder")
    for i in range(num_layers):
        b, d = f"double_blocks.{i}", f"transformer_blocks.{i}"
        take(f"{b}.img_mod.lin", f"{d}.norm1.linear")
        take(f"{b}.txt_mod.lin", f"{d}.norm1_context.linear")
        split(f"{b}.img_attn.qkv", [f"{d}.attn.to_q", f"{d}.attn.to_k", f"{d}.attn.to_v"], [width] * 3)
        split(
            f"{b}.txt_attn.qkv", [f"{d}.attn.add_q_proj", f"{d}.attn.add_k_proj", f"{d}.attn.add_v_proj"], [width] * 3
        )
        for side, q, k in (("img", "norm_q", "norm_k"), ("txt", "norm_added_q", "norm_added_k")):
            out[f"{d}.attn.{q}.weight"] = sd.pop(f"{b}.{side}_attn.norm.query_norm.scale")
            out[f"{d}.attn.{k}.weight"] = sd.pop(f"{b}.{side}_attn.norm.key_norm.scale")
        take(f"{b}.img_attn.proj", f"{d}.attn.to_out.0")
        take(f"{b}.txt_attn.proj", f"{d}.attn.to_add_out")
        take(f"{b}.img_mlp.0", f"{d}.ff.net.0.proj")
        take(f"{b}.img_mlp.2", f"{d}.ff.net.2")
        take(f"{b}.txt_mlp.0", f"{d}.ff_context.net.0.proj")
        take(f"{b}.txt_mlp.2", f"{d}.ff_context.net.2")
    for i in range(num_single_layers):
        b, d = f"single_blocks.{i}", f"single_transformer_blocks.{i}"
        take(f"{b}.modulation.lin", f"{d}.norm.linear")
        mlp = sd[f"{b}.linear1.weight"].shape[0] - 3 * width
        split(
            f"{b}.linear1",
            [f"{d}.attn.to_q", f"{d}.attn.to_k", f"{d}.attn.to_v", f"{d}.proj_mlp"],
            [width] * 3 + [mlp],
        )
        take(f"{b}.linear2", f"{d}.proj_out")
        out[f"{d}.attn.norm_q.weight"] = sd.pop(f"{b}.norm.query_norm.scale")
        out[f"{d}.attn.norm_k.weight"] = sd.pop(f"{b}.norm.key_norm.scale")
    take("final_layer.linear", "proj_out")
    for kind in ("weight", "bias"):
        shift, scale = sd.pop(f"final_layer.adaLN_modulation.1.{kind}").chunk(2, dim=0)
        out[f"norm_out.linear.{kind}"] = torch.cat([scale, shift])
    if sd:
        raise KeyError(f"{len(sd)} tensors with no place in a Flux transformer ({', '.join(sorted(sd)[:3])})")
    return out


def _transformer_from_bfl(path: Path, config: dict, dtype: torch.dtype):
    """Build the transformer from ``config`` without weights, then fill it from the BFL file (converted)."""
    from accelerate import init_empty_weights
    from diffusers import FluxTransformer2DModel
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    prefix = bfl_prefix(tensors.keys()) or ""
    bfl = {k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)}
    state = bfl_to_diffusers(bfl, config["num_layers"], config["num_single_layers"])
    keep = {k: v for k, v in config.items() if not k.startswith("_")}
    with init_empty_weights():
        transformer = FluxTransformer2DModel.from_config(keep)
    state = {k: (v.to(dtype) if v.is_floating_point() else v) for k, v in state.items()}
    missing, unexpected = transformer.load_state_dict(state, strict=False, assign=True)
    if missing or unexpected:
        raise KeyError(f"the file does not fit the transformer config (missing {missing[:3]}, extra {unexpected[:3]})")
    return transformer


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
