"""Shared fixtures: the tiny SD1, SD2 and SDXL models, built once per test session, never downloaded.

``tiny_sd1`` / ``tiny_sd2`` / ``tiny_sdxl`` are paths to diffusers folders (real classes, random seeded weights);
treat them as read-only. ``tiny_model(family)`` returns the same folders by name for parametrized tests.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest


def pytest_configure(config):
    # Without a workspace named, lorakit uses ~/lorakit (lorakit.workspace.locate_workspace): tests, and the
    # processes they start, get one of their own instead, so they never touch (or depend on) a user's files.
    os.environ["LORAKIT_WORKSPACE"] = tempfile.mkdtemp(prefix="lorakit-tests-")


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


def _build(root: Path, family: str) -> Path:
    from lorakit.models.tiny import build_tiny_model

    return build_tiny_model(family, root / family)


@pytest.fixture(scope="session")
def tiny_sd1(tiny_models_dir) -> Path:
    """A tiny SD1-style diffusers folder (UNet, VAE, CLIP text encoder and tokenizer, DDPM scheduler)."""
    return _build(tiny_models_dir, "sd1")


@pytest.fixture(scope="session")
def tiny_sd2(tiny_models_dir) -> Path:
    """A tiny SD2-style (768-v) folder: OpenCLIP-style text encoder 64 wide (SD1's is 32), linear-projection
    attention, v-prediction scheduler."""
    return _build(tiny_models_dir, "sd2")


@pytest.fixture(scope="session")
def tiny_sdxl(tiny_models_dir) -> Path:
    """A tiny SDXL-style diffusers folder (two text encoders, text_time conditioning)."""
    return _build(tiny_models_dir, "sdxl")


@pytest.fixture(scope="session")
def tiny_flux(tiny_models_dir) -> Path:
    """A tiny Flux.1-dev-style diffusers folder (transformer 48 wide, CLIP-L 32, T5 24, 16-channel VAE)."""
    return _build(tiny_models_dir, "flux")


@pytest.fixture(scope="session")
def tiny_model(tiny_models_dir):
    """``tiny_model("sd1")`` / ``tiny_model("sd2")`` / ``tiny_model("sdxl")``: the folder of that tiny model."""
    return lambda family: _build(tiny_models_dir, family)


# Original single-file (A1111/Civitai) key layout, as lorakit.lora.bake/extract read it and diffusers'
# from_single_file converts back: UNet under model.diffusion_model.<SGM path>, CLIP under its transformers
# names, OpenCLIP (SDXL's second encoder) with q/k/v stacked, VAE under first_stage_model.<LDM path>.


def _ldm_unet(unet) -> dict:
    from lorakit.lora.keys import sdxl_unet_to_sgm

    config = dict(unet.config)
    out = {}
    for key, value in unet.state_dict().items():
        module, _, leaf = key.rpartition(".")
        out[f"model.diffusion_model.{sdxl_unet_to_sgm(module, config)}.{leaf}"] = value.clone()
    return out


def _clip(encoder, prefix: str, whole: bool = False) -> dict:
    """A transformers CLIP encoder under ``prefix``; ``whole``: with the ``text_model.`` level of the original layout,
    which transformers >= 5.6 no longer has in ``CLIPTextModel`` (diffusers strips it again when loading)."""
    inner = "text_model." if whole and not hasattr(encoder, "text_model") else ""
    return {f"{prefix}{inner}{k}": v.clone() for k, v in encoder.state_dict().items()}


def _openclip(encoder, prefix: str, whole: bool = False) -> dict:
    """A transformers CLIP encoder in OpenCLIP layout (q/k/v stacked into in_proj), as SDXL checkpoints hold it."""
    import torch

    sd = encoder.state_dict()
    out = {}
    for i in range(encoder.config.num_hidden_layers):
        hf = f"text_model.encoder.layers.{i}."
        block = f"{prefix}transformer.resblocks.{i}."
        out[block + "attn.in_proj_weight"] = torch.cat([sd[hf + f"self_attn.{x}_proj.weight"] for x in "qkv"])
        out[block + "attn.in_proj_bias"] = torch.cat([sd[hf + f"self_attn.{x}_proj.bias"] for x in "qkv"])
        out[block + "attn.out_proj.weight"] = sd[hf + "self_attn.out_proj.weight"].clone()
        out[block + "mlp.c_fc.weight"] = sd[hf + "mlp.fc1.weight"].clone()
        out[block + "mlp.c_proj.weight"] = sd[hf + "mlp.fc2.weight"].clone()
        if whole:
            for ours, theirs in (
                ("attn.out_proj", "self_attn.out_proj"),
                ("mlp.c_fc", "mlp.fc1"),
                ("mlp.c_proj", "mlp.fc2"),
                ("ln_1", "layer_norm1"),
                ("ln_2", "layer_norm2"),
            ):
                for leaf in ("weight", "bias") if ours.startswith("ln") else ("bias",):
                    out[f"{block}{ours}.{leaf}"] = sd[f"{hf}{theirs}.{leaf}"].clone()
    if whole:
        out[prefix + "positional_embedding"] = sd["text_model.embeddings.position_embedding.weight"].clone()
        out[prefix + "token_embedding.weight"] = sd["text_model.embeddings.token_embedding.weight"].clone()
        out[prefix + "ln_final.weight"] = sd["text_model.final_layer_norm.weight"].clone()
        out[prefix + "ln_final.bias"] = sd["text_model.final_layer_norm.bias"].clone()
        out[prefix + "text_projection"] = sd["text_projection.weight"].T.contiguous()
    return out


def _ldm_vae_key(key: str, up_blocks: int) -> str:
    """A diffusers VAE key in the LDM layout: ``encoder.down_blocks.0.resnets.1`` → ``encoder.down.0.block.1``."""
    key = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
    key = re.sub(r"down_blocks\.(\d+)\.resnets\.", r"down.\1.block.", key)
    key = re.sub(r"down_blocks\.(\d+)\.downsamplers\.0\.", r"down.\1.downsample.", key)
    # The decoder's up blocks are numbered from the bottom in LDM, from the top in diffusers.
    key = re.sub(r"up_blocks\.(\d+)\.resnets\.", lambda m: f"up.{up_blocks - 1 - int(m[1])}.block.", key)
    key = re.sub(r"up_blocks\.(\d+)\.upsamplers\.0\.", lambda m: f"up.{up_blocks - 1 - int(m[1])}.upsample.", key)
    key = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda m: f"mid.block_{int(m[1]) + 1}.", key)
    attention = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    return re.sub(
        r"mid_block\.attentions\.0\.(group_norm|to_q|to_k|to_v|to_out\.0)\.",
        lambda m: f"mid.attn_1.{attention[m[1]]}.",
        key,
    )


def _ldm_vae(vae) -> dict:
    up_blocks = len(vae.config.up_block_types)
    out = {}
    for key, value in vae.state_dict().items():
        ldm = _ldm_vae_key(key, up_blocks)
        if ".attn_1." in ldm and value.dim() == 2:  # LDM's attention projections are 1x1 convolutions
            value = value[:, :, None, None]
        out[f"first_stage_model.{ldm}"] = value.clone()
    return out


@pytest.fixture(scope="session")
def single_file_checkpoint():
    """``single_file_checkpoint(pipe, whole=False)``: the tiny pipeline's weights in the original single-file layout.

    By default only what the LoRA tools touch (UNet, text encoders' weights); ``whole=True`` adds the VAE and
    the OpenCLIP tensors a loader needs (biases, norms, embeddings, projection), so diffusers can load it.
    """

    def build(pipe, whole: bool = False) -> dict:
        checkpoint = _ldm_unet(pipe.unet)
        if getattr(pipe, "text_encoder_2", None) is None:
            checkpoint.update(_clip(pipe.text_encoder, "cond_stage_model.transformer.", whole))
        else:
            checkpoint.update(_clip(pipe.text_encoder, "conditioner.embedders.0.transformer.", whole))
            checkpoint.update(_openclip(pipe.text_encoder_2, "conditioner.embedders.1.model.", whole))
        if whole:
            checkpoint.update(_ldm_vae(pipe.vae))
        return checkpoint

    return build


@pytest.fixture
def lorakit(monkeypatch, capsys):
    """``lorakit(args)``: run the real CLI entry point (errors rendered as problem + fix, exit 2) and return
    (exit code, output with whitespace collapsed, since rich wraps at the terminal width)."""
    import sys

    from lorakit.cli.main import run

    def invoke(args: list[str]) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["lorakit", *args])
        with pytest.raises(SystemExit) as ended:
            run()
        out = capsys.readouterr()
        return ended.value.code or 0, " ".join((out.out + out.err).split())

    return invoke
