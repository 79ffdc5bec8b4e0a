"""Stable Diffusion 2.x: OpenCLIP-H text encoder (1024 wide), epsilon (512) or v-prediction (768) models."""

from __future__ import annotations

from lorakit.models.families import register
from lorakit.models.families.base import ModelFamily


@register
class StableDiffusion2(ModelFamily):
    name = "sd2"
    title = "Stable Diffusion 2.x"
    default_resolution = 768

    @property
    def is_v2(self) -> bool:
        return True

    @property
    def base_model_version(self) -> str:
        # sd-scripts tells v-prediction 2.x models apart: tools pick the right sampler from this.
        return "sd_v2_v" if self.prediction_type == "v_prediction" else "sd_v2"

    @property
    def modelspec_architecture(self) -> str:  # type: ignore[override]
        v = self.prediction_type == "v_prediction"
        return "stable-diffusion-v2-768-v/lora" if v else "stable-diffusion-v2-512/lora"

    @classmethod
    def matches(cls, model_index: dict, unet_config: dict, text_config: dict) -> bool:
        # 1024-wide cross-attention (OpenCLIP-H), or at any width an OpenCLIP text encoder: gelu, where
        # SD1's CLIP-L uses quick_gelu (the tiny SD2 is 64 wide).
        openclip = text_config.get("hidden_act") == "gelu"
        return "text_encoder_2" not in model_index and (unet_config.get("cross_attention_dim") == 1024 or openclip)
