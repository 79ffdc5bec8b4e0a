"""SDXL: CLIP-L + OpenCLIP-G text encoders, size/crop conditioning, SGM names in kohya files."""

from __future__ import annotations

import torch

from lorakit.lora.keys import TE1_PREFIX, TE2_PREFIX, sdxl_unet_to_sgm
from lorakit.models.families import register
from lorakit.models.families.base import Conditioning, ModelFamily


@register
class StableDiffusionXL(ModelFamily):
    name = "sdxl"
    title = "Stable Diffusion XL"
    pipeline_class = "StableDiffusionXLPipeline"
    text_encoder_names = ("te1", "te2")
    text_encoder_prefixes = (TE1_PREFIX, TE2_PREFIX)
    default_resolution = 1024
    modelspec_architecture = "stable-diffusion-xl-v1-base/lora"

    @property
    def base_model_version(self) -> str:
        return "sdxl_base_v1-0"

    def unet_name_path(self, module_path: str) -> str:
        # ComfyUI/A1111/Forge expect SDXL LoRA keys in the original SGM layout.
        return sdxl_unet_to_sgm(module_path, self.components.unet.config)

    def encode_prompts(self, captions: list[str], clip_skip: int = 1, max_token_length: int = 75) -> Conditioning:
        """Both encoders' penultimate hidden states, concatenated; the pooled embedding from the second.

        SDXL was trained on the penultimate layer without the final norm, so clip skip does not apply.
        """
        states = []
        pooled = None
        for tokenizer, encoder in zip(self.components.tokenizers, self.components.text_encoders, strict=True):
            ids = self.tokenize(tokenizer, captions, max_token_length)
            hidden, pooled_here = self._encode_chunks(encoder, ids, -2, final_norm=False)
            states.append(hidden)
            pooled = pooled_here if pooled_here is not None else pooled
        return {"encoder_hidden_states": torch.cat(states, dim=-1), "text_embeds": pooled}

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning, sizes: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``sizes``: (batch, 6) original h, w, crop top, left, target h, w — SDXL's micro-conditioning."""
        if sizes is None:
            h, w = noisy.shape[-2] * 8, noisy.shape[-1] * 8
            sizes = torch.tensor([[h, w, 0, 0, h, w]] * noisy.shape[0])
        added = {"text_embeds": cond["text_embeds"].to(noisy.dtype), "time_ids": sizes.to(noisy.device, noisy.dtype)}
        hidden = cond["encoder_hidden_states"].to(noisy.dtype)
        return self.components.unet(noisy, timesteps, encoder_hidden_states=hidden, added_cond_kwargs=added).sample

    @classmethod
    def matches(cls, model_index: dict, unet_config: dict, text_config: dict) -> bool:
        return "text_encoder_2" in model_index and "unet" in model_index  # (Flux has a transformer instead)
