"""Stable Diffusion 1.x: one CLIP-L text encoder, epsilon prediction, diffusers names in kohya files."""

from __future__ import annotations

from lorakit.models.families import register
from lorakit.models.families.base import ModelFamily


@register
class StableDiffusion1(ModelFamily):
    name = "sd1"
    title = "Stable Diffusion 1.x"
    default_resolution = 512
    modelspec_architecture = "stable-diffusion-v1/lora"

    @classmethod
    def matches(cls, model_index: dict, unet_config: dict, text_config: dict) -> bool:
        return "text_encoder_2" not in model_index and unet_config.get("cross_attention_dim") != 1024
