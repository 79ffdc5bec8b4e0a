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
        from lorakit.models.families.sd2 import StableDiffusion2

        sd2 = StableDiffusion2.matches(model_index, unet_config, text_config)
        return "text_encoder_2" not in model_index and not sd2
