"""The built-in tiny models: SD1-, SD2- and SDXL-shaped pipelines with random, seeded weights, no download.

They have the real architecture (same classes, same module names, VAE downscale 8, CLIP tokenizer)
at a few hundred kilobytes, so the whole engine — training, kohya files, diffusers loading — runs on
a laptop CPU in seconds. Used by ``lorakit demo`` and by the tests. The tokenizer is a handmade BPE
vocabulary (``tiny_vocab/``) that knows common tag words whole and spells anything else.
"""

from __future__ import annotations

import json
from pathlib import Path

from lorakit.errors import ConfigError
from lorakit.fileio import atomic_write_text

VOCAB_DIR = Path(__file__).parent / "tiny_vocab"
TINY_FAMILIES = ("sd1", "sd2", "sdxl", "flux")
# Bump when the configs below change, so a cached tiny model is rebuilt.
TINY_VERSION = 2
_MARKER = "lorakit_tiny.json"

_SCHEDULER = dict(
    beta_start=0.00085,
    beta_end=0.012,
    beta_schedule="scaled_linear",
    num_train_timesteps=1000,
    clip_sample=False,
    prediction_type="epsilon",
    steps_offset=1,  # as the published SD1.5/SDXL scheduler configs
)
# Four VAE levels so latents are 1/8 of the image, as in the real models (bucket geometry matches).
_VAE = dict(
    block_out_channels=(16, 16, 32, 32),
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    latent_channels=4,
    layers_per_block=1,
    norm_num_groups=8,
    sample_size=64,
)
_UNET_COMMON = dict(
    block_out_channels=(32, 64),
    layers_per_block=2,
    sample_size=8,
    in_channels=4,
    out_channels=4,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    norm_num_groups=32,
)
_TEXT = dict(
    hidden_size=32,
    intermediate_size=64,
    num_attention_heads=4,
    num_hidden_layers=3,
    max_position_embeddings=77,
    layer_norm_eps=1e-5,
    projection_dim=32,
)


# SD2: an OpenCLIP-style text encoder (gelu, no projection used) of its own width, 64 against SD1's 32, as
# SD2's 1024 is not SD1's 768; the UNet attends to it with linear projections and per-level head counts;
# the scheduler predicts v (as SD 2.x 768-v).
_TEXT_SD2 = dict(_TEXT, hidden_size=64, intermediate_size=128, projection_dim=64)
_UNET_SD2 = dict(_UNET_COMMON, cross_attention_dim=64, attention_head_dim=(2, 4), use_linear_projection=True)
_SCHEDULER_SD2 = dict(_SCHEDULER, prediction_type="v_prediction")


def _tokenizer():
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(VOCAB_DIR), model_max_length=77)


def _text_config(tokenizer, hidden_act: str, sizes: dict | None = None):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        hidden_act=hidden_act,
        **(sizes or _TEXT),
    )


def build_tiny_pipeline(family: str = "sd1", seed: int = 0):
    """A diffusers pipeline of the tiny ``family`` ("sd1", "sd2", "sdxl" or "flux") with weights drawn from ``seed``.

    The weights come from a forked RNG: the caller's global torch RNG is left exactly as it was, so a run
    that builds the tiny model on first use trains the same as every later run (which finds it built).
    """
    if family not in TINY_FAMILIES:
        raise ConfigError(f"There is no tiny {family!r} model.", f"Use one of: {', '.join(TINY_FAMILIES)}.")
    return _seeded(seed, _build_pipeline, family)


def _seeded(seed: int, build, *args):
    """``build(*args)`` with the global torch RNG seeded inside a fork: the caller's RNG is left as it was."""
    import torch

    # The modules draw their initial weights from the global RNG (diffusers/transformers take no generator).
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(*args)


def _build_pipeline(family: str):
    from diffusers import (
        AutoencoderKL,
        DDPMScheduler,
        StableDiffusionPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel

    if family == "flux":  # its own module: a transformer, CLIP-L + T5 and a 16-channel VAE
        from lorakit.models.tiny_flux import build_flux_pipeline

        return build_flux_pipeline()
    tokenizer = _tokenizer()
    vae = AutoencoderKL(**_VAE)
    if family == "sd1":
        unet = UNet2DConditionModel(**_UNET_COMMON, cross_attention_dim=32, attention_head_dim=8)
        text_encoder = CLIPTextModel(_text_config(tokenizer, "quick_gelu"))
        return StableDiffusionPipeline(
            vae=vae,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
            unet=unet,
            scheduler=DDPMScheduler(**_SCHEDULER),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    if family == "sd2":
        return StableDiffusionPipeline(
            vae=vae,
            text_encoder=CLIPTextModel(_text_config(tokenizer, "gelu", _TEXT_SD2)),
            tokenizer=tokenizer,
            unet=UNet2DConditionModel(**_UNET_SD2),
            scheduler=DDPMScheduler(**_SCHEDULER_SD2),
            safety_checker=None,
            feature_extractor=None,
            requires_safety_checker=False,
        )
    return _sdxl_pipeline(tokenizer, vae, _TEXT)


def _sdxl_pipeline(tokenizer, vae, text_2: dict):
    """SDXL: CLIP-L-like (hidden states only) + OpenCLIP-G-like ``text_2`` (with projection: the pooled
    embedding). The UNet sees both hidden states concatenated (32 + width of ``text_2``) and "text_time"
    extra conditioning: the pooled embedding + six size/crop numbers embedded at 8 dims each."""
    from diffusers import DDPMScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    unet = UNet2DConditionModel(
        **_UNET_COMMON,
        cross_attention_dim=_TEXT["hidden_size"] + text_2["hidden_size"],
        attention_head_dim=(2, 4),
        transformer_layers_per_block=(1, 2),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=text_2["projection_dim"] + 6 * 8,
    )
    return StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(_text_config(tokenizer, "quick_gelu")),
        text_encoder_2=CLIPTextModelWithProjection(_text_config(tokenizer, "gelu", text_2)),
        tokenizer=tokenizer,
        tokenizer_2=_tokenizer(),
        unet=unet,
        scheduler=DDPMScheduler(**_SCHEDULER, timestep_spacing="leading"),
    )


def build_tiny_model(family: str, folder: str | Path, seed: int = 0) -> Path:
    """Save the tiny ``family`` pipeline as a diffusers folder (reused if already built) and return it."""
    folder = Path(folder)
    marker = folder / _MARKER
    want = {"family": family, "seed": seed, "version": TINY_VERSION}
    if marker.exists():
        try:
            if json.loads(marker.read_text()) == want:
                return folder
        except (OSError, ValueError):
            pass
    from lorakit.models.loading import quiet_libraries

    quiet_libraries()
    pipe = build_tiny_pipeline(family, seed)
    pipe.save_pretrained(folder, safe_serialization=True)
    atomic_write_text(marker, json.dumps(want))  # written last: a half-built folder is rebuilt
    return folder


# An SDXL whose two text encoders have different widths (32 and 48), as the real CLIP-L (768) and OpenCLIP-G
# (1280) do: diffusers' single-file loader tells the encoders apart by width, so only this variant can be
# written as one A1111-layout file and read back. The UNet sees 32 + 48 = 80 wide text and a pooled embedding
# of 48 plus six 8-dim size numbers = 96.
_TEXT_SDXL_G = dict(_TEXT, hidden_size=48, intermediate_size=96, projection_dim=48)


def build_tiny_sdxl_two_widths(seed: int = 0):
    """A tiny SDXL pipeline with text encoders 32 and 48 wide (see above), weights drawn from ``seed``."""
    from diffusers import AutoencoderKL

    return _seeded(seed, lambda: _sdxl_pipeline(_tokenizer(), AutoencoderKL(**_VAE), _TEXT_SDXL_G))
