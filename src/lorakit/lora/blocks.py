"""Block-wise network settings: a rank, alpha and learning-rate weight per UNet block (kohya's 25 blocks).

sd-scripts' ``networks.lora`` numbers the UNet's blocks 0-24: 0-11 the down (input) blocks, 12 the middle
block, 13-24 the up (output) blocks. The number is the block's index in the original (SGM/LDM) layout:
``input_blocks.N`` → N, ``middle_block`` → 12, ``output_blocks.N`` → 13 + N. For SD1/SD2, whose kohya names
use diffusers paths, sd-scripts' ``get_block_index`` formula gives the same numbers (``down_blocks_i`` resnet
or attention j → 1 + 3i + j, its downsampler → 3 + 3i; ``up_blocks_i`` … → 13 + 3i + j, upsampler → 15 + 3i).
SDXL names are SGM names, so its blocks are read directly: input blocks 0-8, middle 12, output blocks 13-21
(slots 9-11 and 22-24 hold no modules). Block 0 (``conv_in``) never has a LoRA module. Text-encoder modules
have no block (-1) and keep the network's rank, alpha and learning rate.

``block_dims``/``block_alphas`` give linear (and 1×1 conv) modules their rank/alpha (either alone: the other
stays the network's dim/alpha), ``conv_block_dims``/``conv_block_alphas`` the 3×3 convolutions (conv_block_dims
turns them on, as LoCon; conv_block_alphas alone needs conv_dim). ``down_lr_weight`` (12 values,
blocks 0-11), ``mid_lr_weight`` (block 12) and ``up_lr_weight`` (12 values, blocks 13-24) multiply the UNet
learning rate per block; a block whose weight is 0, or at or below ``block_lr_zero_threshold``, gets no
modules at all (sd-scripts' ``remove_block_dims_and_alphas``), so it is not trained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lorakit.errors import ConfigError

NUM_BLOCKS = 25
MID_BLOCK = 12
_HALF = 12  # down blocks 0-11, up blocks 13-24

_DIFFUSERS = re.compile(r"lora_unet_(up|down)_blocks_(\d+)_(resnets|upsamplers|downsamplers|attentions)_(\d+)_")
_SGM = re.compile(r"lora_unet_(input_blocks|output_blocks)_(\d+)_")


def block_index(kohya_name: str) -> int:
    """The kohya block (0-24) of a UNet module's kohya name; -1 for text-encoder and unknown modules."""
    m = _DIFFUSERS.match(kohya_name)
    if m:
        kind, i, part, j = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        idx = 3 * i + (2 if part in ("upsamplers", "downsamplers") else j)
        return 1 + idx if kind == "down" else _HALF + 1 + idx
    if kohya_name.startswith(("lora_unet_mid_block_", "lora_unet_middle_block_")):
        return MID_BLOCK
    m = _SGM.match(kohya_name)
    if m:
        n = int(m.group(2))
        return n if m.group(1) == "input_blocks" else _HALF + 1 + n
    return -1


def _exactly(values, name: str, count: int = NUM_BLOCKS) -> tuple | None:
    if values is None:
        return None
    values = tuple(values)
    if len(values) != count:
        raise ConfigError(
            f"{name} has {len(values)} values, but the UNet has {count} blocks.",
            f"Give exactly {count} numbers (down blocks 0-11, the middle block, up blocks 0-11), as sd-scripts.",
            field=name,
        )
    return values


def _padded(values, name: str) -> list[float] | None:
    """sd-scripts pads a short down/up weight list with 1.0 and refuses a long one here (it would drop values)."""
    if values is None:
        return None
    values = [float(v) for v in values]
    if len(values) > _HALF:
        raise ConfigError(
            f"{name} has {len(values)} values; there are {_HALF} blocks on that side of the UNet.",
            f"Give at most {_HALF} numbers (missing ones count as 1.0).",
            field=name,
        )
    return values + [1.0] * (_HALF - len(values))


@dataclass(frozen=True)
class BlockSettings:
    """Per-block ranks, alphas and learning-rate weights (all optional), checked and resolved."""

    dims: tuple[int, ...] | None = None
    alphas: tuple[float, ...] | None = None
    conv_dims: tuple[int, ...] | None = None
    conv_alphas: tuple[float, ...] | None = None
    lr_weights: tuple[float, ...] | None = None  # 25 values, zeroed at or below the threshold

    @classmethod
    def build(
        cls,
        block_dims=None,
        block_alphas=None,
        conv_block_dims=None,
        conv_block_alphas=None,
        down_lr_weight=None,
        mid_lr_weight=None,
        up_lr_weight=None,
        block_lr_zero_threshold=None,
        conv_dim=None,
    ) -> BlockSettings:
        dims = _exactly(block_dims, "block_dims")
        alphas = _exactly(block_alphas, "block_alphas")
        conv_dims = _exactly(conv_block_dims, "conv_block_dims")
        conv_alphas = _exactly(conv_block_alphas, "conv_block_alphas")
        if conv_alphas is not None and conv_dims is None and not conv_dim:
            raise ConfigError(
                "conv_block_alphas is set, but no convolution layers are trained.",
                "Set conv_block_dims (one conv rank per block) or conv_dim too.",
                field="conv_block_alphas",
            )
        lr = None
        down, up = _padded(down_lr_weight, "down_lr_weight"), _padded(up_lr_weight, "up_lr_weight")
        if down is not None or up is not None or mid_lr_weight is not None:
            lr = (
                (down or [1.0] * _HALF)
                + [1.0 if mid_lr_weight is None else float(mid_lr_weight)]
                + (up or [1.0] * _HALF)
            )
            if block_lr_zero_threshold:
                lr = [w if w > block_lr_zero_threshold else 0.0 for w in lr]
            lr = tuple(lr)
        return cls(dims, alphas, conv_dims, conv_alphas, lr)

    @property
    def conv_enabled(self) -> bool:
        return self.conv_dims is not None

    def lr_weight(self, block: int) -> float:
        if self.lr_weights is None or block < 0:
            return 1.0
        return self.lr_weights[block]

    def linear(self, block: int, rank: int, alpha: float) -> tuple[int, float]:
        """Rank and alpha of a linear/1×1 module in ``block`` (the network's own without block_dims)."""
        if block < 0:
            return rank, alpha
        rank = int(self.dims[block]) if self.dims is not None else rank
        return rank, float(self.alphas[block]) if self.alphas is not None else alpha

    def conv(self, block: int, rank: int, alpha: float) -> tuple[int, float]:
        """Rank and alpha of a 3×3 conv module in ``block`` (conv_dim/conv_alpha without conv_block_dims)."""
        if block < 0:
            return rank, alpha
        rank = int(self.conv_dims[block]) if self.conv_dims is not None else rank
        return rank, float(self.conv_alphas[block]) if self.conv_alphas is not None else alpha
