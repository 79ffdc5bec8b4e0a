"""Dataset and captions sections: which images, at what size, and how their captions are used."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import field_validator

from lorakit.config.dataset import AugmentOptions, CaptionOptions, SubsetConfig
from lorakit.config.fields import setting


class DatasetSection(AugmentOptions):
    """The images: subsets (or an sd-scripts ``train_data_dir``), training size, buckets, augmentations.

    The augmentation fields (flip_aug, ...) come from :class:`AugmentOptions` and are the defaults for
    every subset.
    """

    subsets: list[SubsetConfig] = setting(
        default_factory=list,
        help="The image folders to train on, each with its repeats and caption options."
        " Balance them with repeats so each folder gets a fair share of steps.",
        kohya="subsets",
        effect="trainer",
    )
    train_data_dir: Path | None = setting(
        None,
        help="Instead of subsets: an sd-scripts style folder whose subfolders are named '<repeats>_<name>'"
        " (e.g. '10_ohwx woman'). lorakit turns each into a subset.",
        kohya="train_data_dir",
        effect="trainer",
    )
    reg_data_dir: Path | None = setting(
        None,
        help="With train_data_dir: a folder of '<repeats>_<class>' subfolders of regularization images.",
        kohya="reg_data_dir",
        effect="trainer",
        level="advanced",
    )
    prior_loss_weight: float = setting(
        1.0,
        help="How much regularization images count against your own images. 1.0 = equal; lower it"
        " (0.3-0.7) if the LoRA comes out too weak.",
        kohya="prior_loss_weight",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=10.0,
    )
    resolution: int | tuple[int, int] = setting(
        512,
        help="Training size in pixels: 512 for SD1.5, 768 for SD2-v, 1024 for SDXL and Flux. Raising it makes"
        " training slower and hungrier for memory. Give one number for square, or [width, height].",
        kohya="resolution",
        effect="trainer",
        unit="px",
        # A number or a pair: the range is checked by the validator below (pydantic cannot bound a union).
        range=(64, 4096),
    )
    enable_bucket: bool = setting(
        True,
        help="Group images by aspect ratio instead of cropping them all square. Keep on unless all your images"
        " are square.",
        kohya="enable_bucket",
        effect="trainer",
        recommended=True,
    )
    min_bucket_reso: int = setting(
        256,
        help="Smallest bucket side. 256 for SD1.5, 512 or 640 for SDXL.",
        kohya="min_bucket_reso",
        effect="trainer",
        level="advanced",
        ge=32,
        le=4096,
        unit="px",
    )
    max_bucket_reso: int = setting(
        1024,
        help="Largest bucket side. 1024 for SD1.5, 2048 for SDXL. Raising it allows more extreme aspect ratios.",
        kohya="max_bucket_reso",
        effect="trainer",
        level="advanced",
        ge=64,
        le=8192,
        unit="px",
    )
    bucket_reso_steps: int = setting(
        64,
        help="Bucket sides are multiples of this. 64 is safe for every model; SDXL also works with 32 (more"
        " buckets, less cropping).",
        kohya="bucket_reso_steps",
        effect="trainer",
        level="advanced",
        ge=8,
        le=256,
        unit="px",
        recommended=64,
    )
    bucket_no_upscale: bool = setting(
        False,
        help="Never enlarge small images to fit a bucket; they get a smaller bucket instead.",
        kohya="bucket_no_upscale",
        effect="trainer",
        level="advanced",
    )
    masked_loss: bool = setting(
        False,
        help="Use mask images (or the alpha channel with alpha_mask) so only the masked area is learned.",
        kohya="masked_loss",
        effect="trainer",
        level="expert",
    )

    @field_validator("resolution", mode="before")
    @classmethod
    def _resolution(cls, v):
        # sd-scripts writes "512" or "512,768"; TOML gives lists. Both become int or (width, height).
        if isinstance(v, str):
            parts = [p.strip() for p in v.split(",") if p.strip()]
            v = [int(p) for p in parts] if all(p.isdigit() for p in parts) else v
        if isinstance(v, (list, tuple)):
            if len(v) == 1:
                return v[0]
            if len(v) == 2 and v[0] == v[1]:
                return v[0]
        return v

    @field_validator("resolution")
    @classmethod
    def _resolution_range(cls, v):
        for side in (v,) if isinstance(v, int) else v:
            if not 64 <= side <= 4096:
                raise ValueError(f"each side must be between 64 and 4096 pixels, got {side}")
        return v

    @property
    def resolution_wh(self) -> tuple[int, int]:
        """The training size as (width, height)."""
        if isinstance(self.resolution, int):
            return self.resolution, self.resolution
        return self.resolution


class CaptionsSection(CaptionOptions):
    """How captions are read and varied (defaults for every subset), and how long they may be."""

    weighted_captions: bool = setting(
        False,
        help="Read (word:1.2) weights in captions like A1111 prompts. Rarely needed; turns off shuffling of"
        " weighted parts.",
        kohya="weighted_captions",
        effect="trainer",
        level="expert",
    )
    max_token_length: Literal[75, 150, 225] = setting(
        75,
        help="How many tokens of a caption the text encoder reads: 75, 150 or 225. Raise it for long tag"
        " lists; the extra length costs a little speed.",
        kohya="max_token_length",
        effect="trainer",
        level="advanced",
        unit="tokens",
        recommended=75,
    )
