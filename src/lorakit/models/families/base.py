"""The model-family protocol: everything the training loop needs to know about a base model.

A family wraps the loaded components (UNet, VAE, text encoders, tokenizers, noise scheduler) and
answers five questions the same way for every model: how to encode prompts, how to encode images,
how to predict, where LoRA goes (and how kohya names it), and what prediction type it learns. The
loop calls only these, so it has no ``if sdxl`` branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from lorakit.lora.keys import TE_PREFIX, UNET_PREFIX
from lorakit.lora.network import ComponentTargets

Conditioning = dict[str, torch.Tensor]

UNET_ATTENTION_BLOCKS = ("Transformer2DModel",)
UNET_CONV_BLOCKS = ("ResnetBlock2D", "Downsample2D", "Upsample2D")
TEXT_ENCODER_BLOCKS = ("CLIPAttention", "CLIPMLP", "CLIPSdpaAttention", "CLIPFlashAttention2")
TOKENS_PER_CHUNK = 75  # CLIP reads 77 tokens: BOS + 75 + EOS


@dataclass
class Components:
    """The loaded parts of a base model."""

    unet: nn.Module
    vae: nn.Module
    text_encoders: list[nn.Module]
    tokenizers: list[Any]
    noise_scheduler: Any
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def text_encoder_name_path(module_path: str) -> str:
    """Kohya text-encoder names start at ``text_model`` (transformers 5's CLIPTextModel dropped that level)."""
    return module_path if module_path.startswith("text_model.") else f"text_model.{module_path}"


class ModelFamily:
    """Base class of the SD-style families; subclasses register in :mod:`lorakit.models.families`."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    pipeline_class: ClassVar[str] = "StableDiffusionPipeline"
    text_encoder_names: ClassVar[tuple[str, ...]] = ("te",)
    text_encoder_prefixes: ClassVar[tuple[str, ...]] = (TE_PREFIX,)
    default_resolution: ClassVar[int] = 512
    modelspec_architecture: ClassVar[str] = "stable-diffusion-v1/lora"

    def __init__(self, components: Components):
        self.components = components

    # -- what the model learns ---------------------------------------------------------------
    @property
    def prediction_type(self) -> str:
        """``epsilon`` or ``v_prediction``, from the model's own scheduler config."""
        return self.components.noise_scheduler.config.get("prediction_type", "epsilon")

    @property
    def base_model_version(self) -> str:
        """The ``ss_base_model_version`` value (``sd_v1``, ``sd_v2``, ``sd_v2_v``, ``sdxl_base_v1-0``)."""
        return "sd_v1"

    @property
    def is_v2(self) -> bool:
        return False

    # -- where LoRA goes ----------------------------------------------------------------------
    def trainable_parts(self) -> dict[str, nn.Module]:
        """Components by network name: ``unet`` and the text encoders (``te`` or ``te1``/``te2``)."""
        parts = {"unet": self.components.unet}
        parts.update(zip(self.text_encoder_names, self.components.text_encoders, strict=True))
        return parts

    def unet_name_path(self, module_path: str) -> str:
        """The module path spelled as in kohya files (diffusers names for SD1/SD2)."""
        return module_path

    def lora_targets(self, train_unet: bool = True, train_text_encoder: bool = False) -> dict[str, ComponentTargets]:
        """Where LoRA/LoCon modules go in each component, and their kohya prefixes."""
        specs: dict[str, ComponentTargets] = {}
        if train_unet:
            specs["unet"] = ComponentTargets(
                "unet", UNET_PREFIX, UNET_ATTENTION_BLOCKS, UNET_CONV_BLOCKS, name_path=self.unet_name_path
            )
        if train_text_encoder:
            for name, prefix in zip(self.text_encoder_names, self.text_encoder_prefixes, strict=True):
                specs[name] = ComponentTargets(name, prefix, TEXT_ENCODER_BLOCKS, name_path=text_encoder_name_path)
        return specs

    # -- encoding -----------------------------------------------------------------------------
    def tokenize(self, tokenizer, captions: list[str], max_token_length: int = TOKENS_PER_CHUNK) -> torch.Tensor:
        """Token ids (batch, chunks, 77): long prompts cut in 75-token blocks as sd-scripts does."""
        from lorakit.train.tokens import chunk_count, chunk_tokenized

        chunks = chunk_count(max_token_length)
        ids = tokenizer(
            captions,
            padding="max_length",
            truncation=True,
            max_length=chunks * TOKENS_PER_CHUNK + 2,
            return_tensors="pt",
        ).input_ids
        return chunk_tokenized(ids, tokenizer.eos_token_id, tokenizer.pad_token_id)

    def _encode_chunks(self, encoder, ids: torch.Tensor, layer: int, final_norm: bool):
        """Run the encoder over each 77-token block and join them (sd-scripts' get_hidden_states)."""
        from lorakit.train.tokens import join_chunk_pooled, join_chunk_states

        batch, chunks, length = ids.shape
        out = encoder(ids.reshape(batch * chunks, length).to(encoder.device), output_hidden_states=True)
        hidden = out.hidden_states[layer]
        if final_norm:
            hidden = getattr(encoder, "text_model", encoder).final_layer_norm(hidden)
        pooled = getattr(out, "text_embeds", None)
        return join_chunk_states(hidden, chunks), (join_chunk_pooled(pooled, chunks) if pooled is not None else None)

    def encode_prompts(self, captions: list[str], clip_skip: int = 1, max_token_length: int = 75) -> Conditioning:
        """Captions → the UNet's text conditioning. SD1/SD2: clip skip picks the layer, then the final norm."""
        tokenizer, encoder = self.components.tokenizers[0], self.components.text_encoders[0]
        ids = self.tokenize(tokenizer, captions, max_token_length)
        # A1111/sd-scripts: clip skip N = hidden state -N, then the final layer norm (N = 1 is the encoder's
        # normal output, last_hidden_state). diffusers' pipeline clip_skip=N means this N + 1.
        hidden, _ = self._encode_chunks(encoder, ids, -max(1, clip_skip), final_norm=True)
        return {"encoder_hidden_states": hidden}

    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """Images in [-1, 1] (batch, 3, H, W) → scaled latents (batch, 4, H/8, W/8)."""
        vae = self.components.vae
        latents = vae.encode(pixels.to(vae.device, vae.dtype)).latent_dist.sample()
        shift = getattr(vae.config, "shift_factor", None) or 0.0
        return (latents - shift) * vae.config.scaling_factor

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning, sizes: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The UNet's output for noisy latents. ``sizes`` (batch, 6) is SDXL's size/crop conditioning."""
        unet = self.components.unet
        return unet(noisy, timesteps, encoder_hidden_states=cond["encoder_hidden_states"].to(noisy.dtype)).sample

    # -- sampling -----------------------------------------------------------------------------
    def pipeline(self, scheduler=None):
        """A diffusers pipeline sharing the training modules (LoRA included), for samples."""
        import diffusers

        c = self.components
        cls = getattr(diffusers, self.pipeline_class)
        kwargs = {
            "vae": c.vae,
            "unet": c.unet,
            "scheduler": scheduler or c.noise_scheduler,
            "text_encoder": c.text_encoders[0],
            "tokenizer": c.tokenizers[0],
        }
        if len(c.text_encoders) > 1:
            kwargs.update(text_encoder_2=c.text_encoders[1], tokenizer_2=c.tokenizers[1])
        else:
            kwargs.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
        pipe = cls(**kwargs)
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @classmethod
    def matches(cls, model_index: dict, unet_config: dict, text_config: dict) -> bool:
        """True when a diffusers folder's configs are of this family."""
        return False
