"""Flux.1 (dev and schnell): a rectified-flow transformer, CLIP-L (pooled) + T5-XXL (sequence) text, 16-channel VAE.

The family keeps latents in the VAE's (B, 16, h, w) shape everywhere the trainer sees them (caches, flips,
noise) and packs them 2x2 into Flux's (B, h/2 * w/2, 64) tokens only inside :meth:`Flux.predict`, with the
image position ids (0, row, column) and all-zero text ids, as diffusers' FluxPipeline and sd-scripts do.
Training is flow matching (:mod:`lorakit.train.flow`), chosen by ``flow_matching = True``.

LoRA goes on the Linear layers of the double blocks (``transformer_blocks``, diffusers' FluxTransformerBlock)
and single blocks (``single_transformer_blocks``), without the modulation layers (sd-scripts' default), and
``train_blocks`` picks all / single / double. Inside the network the modules keep their diffusers names; the
file is written in sd-scripts' layout (fused qkv, ``lora_unet_double_blocks_N_...``) by
:mod:`lorakit.lora.flux_keys`. Text-encoder LoRA: CLIP-L as ``lora_te1``, and T5 (``train_t5xxl``) as
``lora_te3``, sd-scripts' prefixes.
"""

from __future__ import annotations

import torch

from lorakit.lora.keys import TE1_PREFIX, UNET_PREFIX
from lorakit.lora.network import ComponentTargets
from lorakit.models.families import register
from lorakit.models.families.base import TEXT_ENCODER_BLOCKS, Conditioning, ModelFamily, text_encoder_name_path

DOUBLE_BLOCK, SINGLE_BLOCK = "FluxTransformerBlock", "FluxSingleTransformerBlock"
T5_PREFIX = "lora_te3"  # sd-scripts' lora_flux: CLIP-L is lora_te1, T5-XXL lora_te3
T5_BLOCKS = ("T5Attention", "T5DenseGatedActDense", "T5DenseActDense")
MODULATION = (".norm1.linear", ".norm1_context.linear", ".norm.linear")
TRAIN_BLOCKS = ("all", "single", "double")
CLIP_LENGTH = 77


def pack_latents(latents: torch.Tensor) -> torch.Tensor:
    """(B, C, h, w) → (B, h/2 * w/2, 4C): each 2x2 patch one token, channels then the patch row and column."""
    b, c, h, w = latents.shape
    x = latents.view(b, c, h // 2, 2, w // 2, 2).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // 2) * (w // 2), c * 4)


def unpack_latents(tokens: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """The inverse of :func:`pack_latents` for latents of height ``h`` and width ``w``."""
    b, _, d = tokens.shape
    x = tokens.view(b, h // 2, w // 2, d // 4, 2, 2).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, d // 4, h, w)


def image_ids(h: int, w: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Flux's position ids of the packed latent tokens: (h/2 * w/2, 3) rows of (0, row, column)."""
    ids = torch.zeros(h // 2, w // 2, 3)
    ids[..., 1] = torch.arange(h // 2)[:, None]
    ids[..., 2] = torch.arange(w // 2)[None, :]
    return ids.reshape(-1, 3).to(device=device, dtype=dtype)


@register
class Flux(ModelFamily):
    name = "flux"
    title = "Flux.1"
    pipeline_class = "FluxPipeline"
    text_encoder_names = ("te1", "te2")  # CLIP-L, T5-XXL (te2: its learning rate is text_encoder_2_lr)
    text_encoder_prefixes = (TE1_PREFIX, T5_PREFIX)
    default_resolution = 1024
    flow_matching = True

    # Set from the config by configure() (lorakit.train.setup); these are sd-scripts' defaults.
    t5_max_length: int | None = None  # None: 512 for dev, 256 for schnell
    apply_t5_attn_mask = False
    guidance_scale = 1.0
    train_blocks = "all"
    train_t5 = False

    def configure(self, model_cfg, train_blocks: str = "all", train_t5: bool = False) -> None:
        """Take the Flux settings of the config's model section (T5 length and mask, guidance)."""
        self.t5_max_length = model_cfg.t5xxl_max_token_length
        self.apply_t5_attn_mask = bool(model_cfg.apply_t5_attn_mask)
        self.guidance_scale = float(model_cfg.guidance_scale)
        self.train_blocks = train_blocks if train_blocks in TRAIN_BLOCKS else "all"
        self.train_t5 = train_t5

    # -- what the model is --------------------------------------------------------------------
    @property
    def is_dev(self) -> bool:
        """dev has a guidance embedding (``guidance_in``); schnell has none."""
        return bool(self.components.unet.config.get("guidance_embeds", False))

    @property
    def prediction_type(self) -> str:
        return "flow"

    @property
    def base_model_version(self) -> str:
        return "flux1" if self.is_dev else "flux1-schnell"

    @property
    def modelspec_architecture(self) -> str:  # type: ignore[override]
        return "flux-1-dev/lora" if self.is_dev else "flux-1-schnell/lora"

    @property
    def t5_length(self) -> int:
        length = self.t5_max_length or (512 if self.is_dev else 256)
        return min(length, getattr(self.components.tokenizers[1], "model_max_length", length) or length)

    @property
    def cache_tag(self) -> str:
        """What else decides the cached text outputs (part of the text cache's identity)."""
        return f"t5:{self.t5_length}:{int(self.apply_t5_attn_mask)}"

    def network_args(self) -> dict[str, str]:
        """The sd-scripts network_args that differ from lora_flux's defaults (for ss_network_args)."""
        args = {}
        if self.train_blocks != "all":
            args["train_blocks"] = self.train_blocks
        if self.train_t5:
            args["train_t5xxl"] = "True"
        return args

    # -- where LoRA goes ----------------------------------------------------------------------
    def _skip(self, path: str) -> bool:
        if path.endswith(MODULATION):
            return True  # sd-scripts' default exclude_patterns: the modulation (img_mod/txt_mod/modulation)
        if self.train_blocks == "single":
            return not path.startswith("single_transformer_blocks.")
        if self.train_blocks == "double":
            return not path.startswith("transformer_blocks.")
        return False

    def lora_targets(self, train_unet: bool = True, train_text_encoder: bool = False) -> dict[str, ComponentTargets]:
        specs: dict[str, ComponentTargets] = {}
        if train_unet:
            specs["unet"] = ComponentTargets("unet", UNET_PREFIX, (DOUBLE_BLOCK, SINGLE_BLOCK), skip=self._skip)
        if train_text_encoder:
            specs["te1"] = ComponentTargets("te1", TE1_PREFIX, TEXT_ENCODER_BLOCKS, name_path=text_encoder_name_path)
            if self.train_t5:
                specs["te2"] = ComponentTargets("te2", T5_PREFIX, T5_BLOCKS)
        return specs

    def lora_file_tensors(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The network's tensors (diffusers module names) in sd-scripts' Flux layout, for the file."""
        from lorakit.lora.flux_keys import to_sd_scripts

        return to_sd_scripts(tensors)

    def network_tensors(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A Flux LoRA file's tensors (sd-scripts or diffusers layout) in the network's names."""
        from lorakit.lora.flux_keys import from_sd_scripts

        return from_sd_scripts(tensors, self.components.unet.config)

    # -- encoding -----------------------------------------------------------------------------
    def encode_prompts(self, captions: list[str], clip_skip: int = 1, max_token_length: int = 75) -> Conditioning:
        """CLIP-L's pooled output and T5's last hidden states (padded to the T5 length, masked if asked)."""
        clip_tok, t5_tok = self.components.tokenizers
        clip, t5 = self.components.text_encoders
        ids = clip_tok(captions, padding="max_length", max_length=CLIP_LENGTH, truncation=True, return_tensors="pt")
        pooled = clip(ids.input_ids.to(clip.device), output_hidden_states=False).pooler_output
        tokens = t5_tok(
            captions, padding="max_length", max_length=self.t5_length, truncation=True, return_tensors="pt"
        )
        mask = tokens.attention_mask.to(t5.device)
        states = t5(tokens.input_ids.to(t5.device), attention_mask=mask if self.apply_t5_attn_mask else None)
        hidden = states.last_hidden_state
        cond = {"encoder_hidden_states": hidden, "pooled_projections": pooled}
        if self.apply_t5_attn_mask:  # as sd-scripts: padding states zeroed, and masked in the attention
            cond["encoder_hidden_states"] = hidden * mask.unsqueeze(-1).to(hidden.dtype)
            cond["t5_attn_mask"] = mask
        return cond

    def predict(
        self, noisy: torch.Tensor, timesteps: torch.Tensor, cond: Conditioning, sizes: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The velocity for ``noisy`` latents (B, 16, h, w) at flow times ``timesteps`` in [0, 1]."""
        transformer = self.components.unet
        b, _, h, w = noisy.shape
        dtype, device = noisy.dtype, noisy.device
        text = cond["encoder_hidden_states"].to(device, dtype)
        guidance = None
        if self.is_dev:
            guidance = torch.full((b,), self.guidance_scale, device=device, dtype=torch.float32)
        extra = None
        mask = cond.get("t5_attn_mask")
        if mask is not None:
            joint = torch.cat(
                [mask.to(device).bool(), torch.ones(b, (h // 2) * (w // 2), dtype=torch.bool, device=device)], 1
            )
            extra = {"attention_mask": joint[:, None, None, :]}
        out = transformer(
            hidden_states=pack_latents(noisy),
            encoder_hidden_states=text,
            pooled_projections=cond["pooled_projections"].to(device, dtype),
            timestep=timesteps.to(device, dtype),
            img_ids=image_ids(h, w, device, dtype),
            txt_ids=torch.zeros(text.shape[1], 3, device=device, dtype=dtype),
            guidance=guidance,
            joint_attention_kwargs=extra,
        ).sample
        return unpack_latents(out, h, w)

    # -- sampling -----------------------------------------------------------------------------
    def pipeline(self, scheduler=None):
        """A FluxPipeline sharing the training modules; always Flux's own flow-matching sampler."""
        from diffusers import FluxPipeline

        c = self.components
        pipe = FluxPipeline(
            scheduler=c.noise_scheduler,
            vae=c.vae,
            text_encoder=c.text_encoders[0],
            tokenizer=c.tokenizers[0],
            text_encoder_2=c.text_encoders[1],
            tokenizer_2=c.tokenizers[1],
            transformer=c.unet,
        )
        pipe.set_progress_bar_config(disable=True)
        return pipe

    @classmethod
    def matches(cls, model_index: dict, unet_config: dict, text_config: dict) -> bool:
        return "transformer" in model_index and model_index.get("_class_name", "").startswith("Flux")
