"""The dataset description: subsets of images with their repeats, class tokens and caption options.

Mirrors sd-scripts' dataset TOML: ``[general]`` defaults → ``[[datasets]]`` → ``[[datasets.subsets]]``,
the most specific value winning. Here the defaults live in :class:`DatasetConfig` (and the caption
options in :class:`CaptionOptions`); each :class:`SubsetConfig` may override any caption or
augmentation option (``None`` = use the dataset's value). :func:`resolve_subset` gives the effective
values a trainer or a step plan uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator
from pydantic.fields import FieldInfo

from lorakit.config.fields import LORAKIT_ONLY, setting
from lorakit.errors import DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".avif", ".heic", ".heif", ".jxl")

# sd-scripts' folder convention without a dataset TOML: "<repeats>_<class tokens>".
_REPEAT_FOLDER = re.compile(r"^(\d+)_(.*)$")


class _Strict(BaseModel):
    """A config section: unknown keys are errors, and assignments are checked like loaded values."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


Section = _Strict


class CaptionOptions(_Strict):
    """How captions are read and varied during training (defaults for every subset)."""

    caption_extension: str = setting(
        ".txt",
        help="File extension of the caption next to each image. lorakit and most taggers write .txt.",
        kohya="caption_extension",
        effect="trainer",
        level="advanced",
    )
    shuffle_caption: bool = setting(
        False,
        help="Shuffle the comma-separated tags of each caption every time it is shown, so the LoRA does not"
        " learn tag order. Good for tag-style captions; leave off for sentences.",
        kohya="shuffle_caption",
        effect="trainer",
        level="advanced",
    )
    keep_tokens: int = setting(
        0,
        help="How many leading tags stay in place when shuffling or dropping tags (usually your trigger word: 1).",
        kohya="keep_tokens",
        effect="trainer",
        level="advanced",
        unit="tags",
        ge=0,
        le=32,
        recommended=1,
    )
    keep_tokens_separator: str = setting(
        "",
        help="Instead of a count, everything before this marker (e.g. '|||') stays fixed.",
        kohya="keep_tokens_separator",
        effect="trainer",
        level="expert",
    )
    secondary_separator: str = setting(
        "",
        help="Tags joined by this marker (e.g. ';;;') are shuffled and dropped as one tag.",
        kohya="secondary_separator",
        effect="trainer",
        level="expert",
    )
    caption_prefix: str = setting(
        "",
        help="Text put before every caption (e.g. a trigger word).",
        kohya="caption_prefix",
        effect="trainer",
        level="advanced",
    )
    caption_suffix: str = setting(
        "",
        help="Text put after every caption (e.g. a style tag).",
        kohya="caption_suffix",
        effect="trainer",
        level="advanced",
    )
    caption_dropout_rate: float = setting(
        0.0,
        help="Chance that an image is shown with an empty caption. Small values (0.05) help the LoRA work"
        " without its trigger word.",
        kohya="caption_dropout_rate",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=1.0,
    )
    caption_dropout_every_n_epochs: int = setting(
        0,
        help="Drop all captions every N epochs (0 = never).",
        kohya="caption_dropout_every_n_epochs",
        effect="trainer",
        level="expert",
        ge=0,
        unit="epochs",
    )
    caption_tag_dropout_rate: float = setting(
        0.0,
        help="Chance that each single tag is left out (kept tags excepted). 0.1 makes a LoRA more flexible.",
        kohya="caption_tag_dropout_rate",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=1.0,
    )
    token_warmup_min: int = setting(
        1,
        help="Token warmup: start by showing only this many tags, growing to the full caption.",
        kohya="token_warmup_min",
        effect="trainer",
        level="expert",
        ge=1,
        unit="tags",
    )
    token_warmup_step: float = setting(
        0.0,
        help="Token warmup: the step (or fraction of training if below 1) at which full captions are reached;"
        " 0 = off.",
        kohya="token_warmup_step",
        effect="trainer",
        level="expert",
        ge=0,
    )
    enable_wildcard: bool = setting(
        False,
        help="Read {a|b|c} in captions as a random choice, and multi-line caption files as alternatives.",
        kohya="enable_wildcard",
        effect="trainer",
        level="expert",
    )


class AugmentOptions(_Strict):
    """Image augmentations (defaults for every subset)."""

    flip_aug: bool = setting(
        False,
        help="Randomly mirror images left-right. Doubles variety; avoid for asymmetric characters or text.",
        kohya="flip_aug",
        effect="trainer",
        level="advanced",
    )
    color_aug: bool = setting(
        False,
        help="Randomly shift hue slightly. Rarely helps; disables latent caching.",
        kohya="color_aug",
        effect="trainer",
        level="expert",
    )
    random_crop: bool = setting(
        False,
        help="Crop a random part of each image instead of the centre. Disables latent caching.",
        kohya="random_crop",
        effect="trainer",
        level="expert",
    )
    face_crop_aug_range: tuple[float, float] | None = setting(
        None,
        help="Zoom range around the face for face-centred crops, e.g. (2.0, 4.0). Needs face data; rarely used.",
        kohya="face_crop_aug_range",
        effect="trainer",
        level="expert",
    )
    alpha_mask: bool = setting(
        False,
        help="Use each image's transparency as a loss mask: transparent areas are not learned.",
        kohya="alpha_mask",
        effect="trainer",
        level="expert",
    )


# The dataset-level options a subset may override, by name: the subset's fields below are checked against these.
_DATASET_OPTIONS = {**CaptionOptions.model_fields, **AugmentOptions.model_fields}
_OVERRIDABLE = tuple(_DATASET_OPTIONS)


def _inherit(name: str) -> Any:
    """A subset's override of the dataset option ``name``: None inherits it; a value obeys that option's bounds."""
    override = FieldInfo(default=None)
    override.metadata = list(_DATASET_OPTIONS[name].metadata)  # ge/le etc. of the dataset-level field
    return override


class SubsetConfig(_Strict):
    """One folder of images. Caption and augmentation options left as None use the dataset's values."""

    image_dir: Path = setting(
        ..., help="Folder with the images (and their caption files).", kohya="image_dir", effect="trainer"
    )
    num_repeats: int = setting(
        1,
        help="How many times each image is shown per epoch. Balance subsets: a folder with fewer images"
        " gets more repeats.",
        kohya="num_repeats",
        effect="trainer",
        ge=1,
        le=10000,
        unit="times",
    )
    class_tokens: str | None = setting(
        None,
        help="Caption used for images that have no caption file (e.g. 'ohwx woman').",
        kohya="class_tokens",
        effect="trainer",
    )
    is_reg: bool = setting(
        False,
        help="Regularization images: generic pictures of the class that keep the model from forgetting it.",
        kohya="is_reg",
        effect="trainer",
        level="advanced",
    )
    name: str | None = setting(
        None,
        help="A label for this subset in reports and the step plan (default: the folder name).",
        kohya=LORAKIT_ONLY,
        effect="display",
        level="expert",
    )

    # Per-subset overrides (None = inherit), one per dataset-level option of the same name, with its bounds; their
    # help lives on the dataset-level field (tests/train/test_settings_drift.py keeps the two lists equal).
    caption_extension: str | None = _inherit("caption_extension")
    shuffle_caption: bool | None = _inherit("shuffle_caption")
    keep_tokens: int | None = _inherit("keep_tokens")
    keep_tokens_separator: str | None = _inherit("keep_tokens_separator")
    secondary_separator: str | None = _inherit("secondary_separator")
    caption_prefix: str | None = _inherit("caption_prefix")
    caption_suffix: str | None = _inherit("caption_suffix")
    caption_dropout_rate: float | None = _inherit("caption_dropout_rate")
    caption_dropout_every_n_epochs: int | None = _inherit("caption_dropout_every_n_epochs")
    caption_tag_dropout_rate: float | None = _inherit("caption_tag_dropout_rate")
    token_warmup_min: int | None = _inherit("token_warmup_min")
    token_warmup_step: float | None = _inherit("token_warmup_step")
    enable_wildcard: bool | None = _inherit("enable_wildcard")
    flip_aug: bool | None = _inherit("flip_aug")
    color_aug: bool | None = _inherit("color_aug")
    random_crop: bool | None = _inherit("random_crop")
    face_crop_aug_range: tuple[float, float] | None = _inherit("face_crop_aug_range")
    alpha_mask: bool | None = _inherit("alpha_mask")

    @field_validator("image_dir", mode="before")
    @classmethod
    def _path(cls, v):
        return Path(v).expanduser() if isinstance(v, str) else v

    @property
    def label(self) -> str:
        return self.name or Path(self.image_dir).name


class ResolvedSubset(CaptionOptions, AugmentOptions):
    """A subset with every option filled in: what the trainer and the step plan read."""

    image_dir: Path
    num_repeats: int = 1
    class_tokens: str | None = None
    is_reg: bool = False
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or Path(self.image_dir).name


def resolve_subset(subset: SubsetConfig, captions: CaptionOptions, augment: AugmentOptions) -> ResolvedSubset:
    """Fill a subset's unset options from the dataset defaults (subset > dataset, as sd-scripts)."""
    # Only the per-subset options: the dataset section carries more fields (resolution, buckets) than a subset has.
    values = {name: getattr(captions, name) for name in CaptionOptions.model_fields}
    values.update({name: getattr(augment, name) for name in AugmentOptions.model_fields})
    for name in _OVERRIDABLE:
        own = getattr(subset, name)
        if own is not None:
            values[name] = own
    return ResolvedSubset(
        image_dir=subset.image_dir,
        num_repeats=subset.num_repeats,
        class_tokens=subset.class_tokens,
        is_reg=subset.is_reg,
        name=subset.name,
        **values,
    )


def parse_repeat_folder(name: str) -> tuple[int, str] | None:
    """``"10_ohwx woman"`` → ``(10, "ohwx woman")``; None if the name does not follow the convention."""
    m = _REPEAT_FOLDER.match(name)
    if not m:
        return None
    return int(m.group(1)), m.group(2).strip()


def subsets_from_train_dir(train_data_dir: str | Path, *, is_reg: bool = False) -> list[SubsetConfig]:
    """Turn an sd-scripts style ``train_data_dir`` (``10_name`` subfolders) into explicit subsets.

    Each ``<repeats>_<class tokens>`` folder becomes a subset with those repeats and class tokens,
    so the repeats are written down instead of hidden in a folder name.
    """
    root = Path(train_data_dir).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"The training folder {root} does not exist.",
            "Check the path, or create it and put one '<repeats>_<name>' folder of images inside.",
        )
    subsets = []
    skipped = []
    for child in sorted(p for p in root.iterdir() if p.is_dir()):
        parsed = parse_repeat_folder(child.name)
        if parsed is None:
            skipped.append(child.name)
            continue
        repeats, tokens = parsed
        if repeats < 1:
            raise DatasetError(
                f"The folder {child.name!r} asks for {repeats} repeats.", "Rename it with a number of 1 or more."
            )
        subsets.append(SubsetConfig(image_dir=child, num_repeats=repeats, class_tokens=tokens or None, is_reg=is_reg))
    if not subsets:
        hint = f" (found {', '.join(skipped[:5])})" if skipped else ""
        raise DatasetError(
            f"No '<repeats>_<name>' folders in {root}{hint}.",
            "Name each image folder like '10_mychar' (10 repeats), or list subsets explicitly in the config.",
        )
    return subsets
