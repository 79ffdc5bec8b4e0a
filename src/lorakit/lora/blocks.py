"""Block-wise network settings: a rank, alpha and learning-rate weight per UNet block, as sd-scripts' networks.lora.

Blocks are numbered as sd-scripts' ``get_block_index``:

- SD1/SD2 (kohya names in diffusers layout), 25 blocks: 0-11 down (``down_blocks_i`` resnet/attention j →
  1 + 3i + j, its downsampler → 3 + 3i; block 0 is ``conv_in``, which never has a module), 12 the middle
  block, 13-24 up (``up_blocks_i`` … j → 13 + 3i + j, upsampler → 15 + 3i). ``down_lr_weight`` and
  ``up_lr_weight`` have 12 values, ``mid_lr_weight`` one.
- SDXL (kohya names in SGM layout), 23 blocks: 0 the embeddings (no modules), ``input_blocks_N`` → 1 + N
  (1-9), ``middle_block_N`` → 10 + N (10-12), ``output_blocks_N`` → 13 + N (13-21), 22 ``out`` (no modules).
  ``down_lr_weight``/``up_lr_weight`` have 9 values and the middle has 3: a single ``mid_lr_weight`` is the
  first of them, the other two stay 1.0, exactly as sd-scripts pads a short list.

Text-encoder modules have no block (-1) and keep the network's rank, alpha and learning rate.

``block_dims``/``block_alphas`` (one value per block) give linear and 1×1 conv modules their rank/alpha
(either alone: the other stays the network's dim/alpha), ``conv_block_dims``/``conv_block_alphas`` the 3×3
convs (conv_block_dims turns them on, as LoCon; conv_block_alphas alone needs conv_dim). Short
``down_lr_weight``/``up_lr_weight`` lists are padded with 1.0 (sd-scripts); too long ones are refused (sd-scripts
would drop the extra values silently). A block whose weight is 0, or at or below
``block_lr_zero_threshold``, gets no modules at all (``remove_block_dims_and_alphas``), so it is not trained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lorakit.errors import ConfigError

_DIFFUSERS = re.compile(r"lora_unet_(up|down)_blocks_(\d+)_(resnets|upsamplers|downsamplers|attentions)_(\d+)_")
_SGM = re.compile(r"lora_unet_(input_blocks|middle_block|output_blocks)_(\d+)_")


@dataclass(frozen=True)
class Layout:
    """How many blocks a UNet has, and how many of them the down/mid/up learning-rate weights cover."""

    total: int
    side: int  # down (and up) blocks covered by down_lr_weight / up_lr_weight
    mid: int
    lead: int  # blocks before the down blocks with a fixed weight of 1 (SDXL's embeddings)


SD = Layout(total=25, side=12, mid=1, lead=0)
SDXL = Layout(total=23, side=9, mid=3, lead=1)


def block_index(kohya_name: str) -> int:
    """The block of a UNet module's kohya name (sd-scripts' numbering); -1 for text-encoder modules."""
    m = _DIFFUSERS.match(kohya_name)
    if m:
        kind, i, part, j = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
        idx = 3 * i + (2 if part in ("upsamplers", "downsamplers") else j)
        return 1 + idx if kind == "down" else SD.side + 1 + idx
    if kohya_name.startswith("lora_unet_mid_block_"):
        return SD.side
    m = _SGM.match(kohya_name)
    if m:
        n = int(m.group(2))
        return {"input_blocks": 1, "middle_block": 10, "output_blocks": 13}[m.group(1)] + n
    if kohya_name.startswith(("lora_unet_time_embed_", "lora_unet_label_emb_")):
        return 0
    if kohya_name.startswith("lora_unet_out_"):
        return SDXL.total - 1
    return -1


def _exactly(values, name: str, layout: Layout) -> tuple | None:
    if values is None:
        return None
    values = tuple(values)
    if len(values) != layout.total:
        model = "SDXL" if layout is SDXL else "SD1/SD2"
        raise ConfigError(
            f"{name} has {len(values)} values, but an {model} UNet has {layout.total} blocks.",
            f"Give exactly {layout.total} numbers, one per block in sd-scripts' order (see docs/training.md).",
            field=name,
        )
    return values


def _padded(values, name: str, count: int) -> list[float] | None:
    """sd-scripts pads a short weight list with 1.0; a long one is refused here (it would drop values)."""
    if values is None:
        return None
    values = [float(v) for v in (values if isinstance(values, (list, tuple)) else [values])]
    if len(values) > count:
        raise ConfigError(
            f"{name} has {len(values)} values; this UNet has {count} blocks there.",
            f"Give at most {count} numbers (missing ones count as 1.0).",
            field=name,
        )
    return values + [1.0] * (count - len(values))


@dataclass(frozen=True)
class BlockSettings:
    """Per-block ranks, alphas and learning-rate weights (all optional), checked and resolved."""

    dims: tuple[int, ...] | None = None
    alphas: tuple[float, ...] | None = None
    conv_dims: tuple[int, ...] | None = None
    conv_alphas: tuple[float, ...] | None = None
    lr_weights: tuple[float, ...] | None = None  # one per block (25 or 23), zeroed at or below the threshold

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
        sdxl: bool = False,
    ) -> BlockSettings:
        layout = SDXL if sdxl else SD
        dims = _exactly(block_dims, "block_dims", layout)
        alphas = _exactly(block_alphas, "block_alphas", layout)
        conv_dims = _exactly(conv_block_dims, "conv_block_dims", layout)
        conv_alphas = _exactly(conv_block_alphas, "conv_block_alphas", layout)
        if conv_alphas is not None and conv_dims is None and not conv_dim:
            raise ConfigError(
                "conv_block_alphas is set, but no convolution layers are trained.",
                "Set conv_block_dims (one conv rank per block) or conv_dim too.",
                field="conv_block_alphas",
            )
        lr = None
        if down_lr_weight is not None or mid_lr_weight is not None or up_lr_weight is not None:
            threshold = block_lr_zero_threshold or 0.0
            parts = []
            for name, values, count in (
                ("down_lr_weight", down_lr_weight, layout.side),
                ("mid_lr_weight", mid_lr_weight, layout.mid),
                ("up_lr_weight", up_lr_weight, layout.side),
            ):
                given = _padded(values, name, count)
                # sd-scripts zeroes weights at or below the threshold only in the lists that were given.
                parts += [w if w > threshold else 0.0 for w in given] if given is not None else [1.0] * count
            lead = [1.0] * layout.lead
            lr = tuple(lead + parts + [1.0] * (layout.total - len(lead) - len(parts)))
        return cls(dims, alphas, conv_dims, conv_alphas, lr)

    @property
    def conv_enabled(self) -> bool:
        return self.conv_dims is not None

    def lr_weight(self, block: int) -> float:
        if self.lr_weights is None or not 0 <= block < len(self.lr_weights):
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
