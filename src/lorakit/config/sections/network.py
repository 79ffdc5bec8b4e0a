"""Network section: the shape of the LoRA (type, rank, alpha, dropouts, per-block settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from lorakit.config.dataset import Section
from lorakit.config.fields import LORAKIT_ONLY, setting

NetworkType = Literal["lora", "locon", "loha", "lokr", "dora", "ia3", "dylora", "full"]
# Types that can put adapters on convolution layers (conv_dim).
CONV_CAPABLE = frozenset({"lora", "locon", "loha", "lokr", "dora", "full"})


class NetworkSection(Section):
    """What kind of adapter is trained, and how big it is."""

    type: NetworkType = setting(
        "lora",
        help="The adapter kind. 'lora' suits almost everything; 'locon' also adapts convolution layers (good"
        " for styles); 'loha'/'lokr' pack more into a small file; 'dora' can learn finer detail.",
        kohya="network_module",
        effect="trainer",
        recommended="lora",
    )
    dim: int = setting(
        16,
        help="Rank: how much the LoRA can hold. 8-32 for characters, 32-64 for styles. Higher = bigger file and"
        " more detail, but more prone to overfitting.",
        kohya="network_dim",
        effect="trainer",
        ge=1,
        le=1024,
        unit="rank",
        recommended=16,
    )
    alpha: float = setting(
        8.0,
        help="Scales the LoRA's updates: strength = alpha / dim. Half of dim is common; equal to dim is"
        " stronger, 1 is very gentle (then raise the learning rate).",
        kohya="network_alpha",
        effect="trainer",
        gt=0.0,
        le=1024.0,
        recommended=8.0,
    )
    conv_dim: int | None = setting(
        None,
        help="Rank for convolution layers (LoCon/LyCORIS). 4-16 helps styles and textures; empty = off.",
        kohya="conv_dim",
        effect="trainer",
        level="advanced",
        ge=1,
        le=1024,
        unit="rank",
    )
    conv_alpha: float | None = setting(
        None,
        help="Alpha for convolution layers; empty = same as conv_dim.",
        kohya="conv_alpha",
        effect="trainer",
        level="advanced",
        gt=0.0,
        le=1024.0,
    )
    network_dropout: float | None = setting(
        None,
        help="Randomly switch off parts of the LoRA while training (0.1 is typical), against overfitting.",
        kohya="network_dropout",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=1.0,
    )
    rank_dropout: float | None = setting(
        None,
        help="Randomly drop whole ranks while training (0.1 is typical).",
        kohya="rank_dropout",
        effect="trainer",
        level="expert",
        ge=0.0,
        le=1.0,
    )
    module_dropout: float | None = setting(
        None,
        help="Randomly skip whole LoRA modules while training (0.1 is typical).",
        kohya="module_dropout",
        effect="trainer",
        level="expert",
        ge=0.0,
        le=1.0,
    )
    factor: int | None = setting(
        None,
        help="LoKr: how each layer's weight is split into two Kronecker factors. -1 = the most balanced split;"
        " 4-16 put that size in the small factor (it must divide the layer's sizes). Empty = -1.",
        kohya="factor",
        effect="trainer",
        level="advanced",
        ge=-1,
        le=1024,
    )
    decompose_both: bool = setting(
        False,
        help="LoKr: also make the small Kronecker factor low-rank (when the rank is below half its size).",
        kohya="decompose_both",
        effect="trainer",
        level="expert",
    )
    full_matrix: bool = setting(
        False,
        help="LoKr: train both Kronecker factors as full matrices (no rank, no alpha scale): the most capacity.",
        kohya="full_matrix",
        effect="trainer",
        level="expert",
    )
    dora_wd: bool = setting(
        False,
        help="DoRA weight decomposition on top of lora, locon, loha or lokr: learns each output's magnitude"
        " apart from its direction (type 'dora' is LoRA with this on).",
        kohya="dora_wd",
        effect="trainer",
        level="advanced",
    )
    dylora_unit: int | None = setting(
        None,
        help="DyLoRA: train ranks in steps of this size (the file can later be cut to any multiple).",
        kohya="unit",
        effect="refused",
        level="expert",
        ge=1,
        le=1024,
    )
    train_norm: bool = setting(
        False,
        help="LyCORIS: also train normalization layers. Can help styles; makes the file a little bigger.",
        kohya="train_norm",
        effect="refused",
        level="expert",
    )
    use_tucker: bool = setting(
        False,
        help="LyCORIS: Tucker decomposition for convolution layers (smaller conv adapters).",
        kohya="use_tucker",
        effect="refused",
        level="expert",
    )
    use_scalar: bool = setting(
        False,
        help="LyCORIS: add a trained scale to each adapter.",
        kohya="use_scalar",
        effect="refused",
        level="expert",
    )
    train_unet_only: bool = setting(
        False,
        help="Train only the image model, not the text encoder. Saves memory; usual for SDXL and Flux.",
        kohya="network_train_unet_only",
        effect="trainer",
        level="advanced",
    )
    train_text_encoder_only: bool = setting(
        False,
        help="Train only the text encoder, not the image model (rarely useful; for prompt-only concepts).",
        kohya="network_train_text_encoder_only",
        effect="trainer",
        level="advanced",
    )
    network_weights: Path | None = setting(
        None,
        help="Start from an existing LoRA file instead of from zero (to continue or refine it).",
        kohya="network_weights",
        effect="trainer",
        level="advanced",
    )
    dim_from_weights: bool = setting(
        False,
        help="Take dim and alpha from network_weights instead of the values here.",
        kohya="dim_from_weights",
        effect="trainer",
        level="expert",
    )
    block_dims: list[int] | None = setting(
        None,
        help="A rank per UNet block (25 numbers for SD1/SD2, 23 for SDXL), to spend capacity where it matters.",
        kohya="block_dims",
        effect="trainer",
        level="expert",
    )
    block_alphas: list[float] | None = setting(
        None,
        help="An alpha per UNet block (same count as block_dims).",
        kohya="block_alphas",
        effect="trainer",
        level="expert",
    )
    conv_block_dims: list[int] | None = setting(
        None,
        help="A convolution rank per UNet block (same count as block_dims).",
        kohya="conv_block_dims",
        effect="trainer",
        level="expert",
    )
    conv_block_alphas: list[float] | None = setting(
        None,
        help="A convolution alpha per UNet block (same count as conv_block_dims).",
        kohya="conv_block_alphas",
        effect="trainer",
        level="expert",
    )
    down_lr_weight: list[float] | None = setting(
        None,
        help="Learning-rate multipliers for the UNet's down blocks (12 numbers; 9 for SDXL), e.g. to learn less"
        " composition.",
        kohya="down_lr_weight",
        effect="trainer",
        level="expert",
    )
    mid_lr_weight: float | None = setting(
        None,
        help="Learning-rate multiplier for the UNet's middle block (SDXL: the first of its 3 middle blocks).",
        kohya="mid_lr_weight",
        effect="trainer",
        level="expert",
    )
    up_lr_weight: list[float] | None = setting(
        None,
        help="Learning-rate multipliers for the UNet's up blocks (12 numbers; 9 for SDXL).",
        kohya="up_lr_weight",
        effect="trainer",
        level="expert",
    )
    block_lr_zero_threshold: float | None = setting(
        None,
        help="Blocks whose multiplier is at or below this are not trained at all.",
        kohya="block_lr_zero_threshold",
        effect="trainer",
        level="expert",
        ge=0.0,
    )
    target_modules: list[str] = setting(
        default_factory=list,
        help="Names of the layers to adapt (expert). Empty = the usual attention and feed-forward layers.",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
    )
    base_weights: list[Path] = setting(
        default_factory=list,
        help="LoRA files merged into the base model before training (e.g. a style LoRA you train on top of).",
        kohya="base_weights",
        effect="trainer",
        level="expert",
    )
    base_weights_multiplier: list[float] = setting(
        default_factory=list,
        help="Strength of each base_weights file (one number each; empty = 1.0).",
        kohya="base_weights_multiplier",
        effect="trainer",
        level="expert",
    )
    scale_weight_norms: float | None = setting(
        None,
        help="Cap how large the LoRA's weights may grow (1.0 is typical); keeps it from overpowering prompts.",
        kohya="scale_weight_norms",
        effect="trainer",
        level="expert",
        gt=0.0,
    )
    train_blocks: Literal["all", "single", "double"] | None = setting(
        None,
        help="Flux only: which transformer blocks get LoRA: all, only the single blocks, or only the double"
        " blocks (sd-scripts' train_blocks). Empty = all.",
        kohya="train_blocks",
        effect="trainer",
        level="expert",
    )
    train_t5xxl: bool | None = setting(
        None,
        help="Flux only: also train a LoRA on the T5-XXL text encoder (with the text encoder; needs a lot of"
        " memory). Empty = no.",
        kohya="train_t5xxl",
        effect="trainer",
        level="expert",
    )
    extra_args: dict[str, Any] = setting(
        default_factory=dict,
        help="Further network arguments passed to the adapter as they are (sd-scripts' network_args that"
        " lorakit has no field for).",
        kohya="network_args",
        effect="export-only",
        level="expert",
    )
