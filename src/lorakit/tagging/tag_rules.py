"""From a tagger's probabilities to a caption: thresholds, MCut, ordering and the tag options people use.

The order of a finished caption: always-first tags (those found), the rating (when asked for first), character tags
(when ``character_first``), general tags by confidence, the rating (when asked for last). Tags are
written in lorakit's normal form (:func:`lorakit.data.tags.normalize_tag`: spaces, kaomoji kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from lorakit.data.tags import deduplicate, format_tags, normalize_tag

RATING, GENERAL, CHARACTER = 9, 0, 4

# Thresholds at the precision = recall point of SmilingWolf's model cards (see REFERENCE.md).
DEFAULT_THRESHOLDS = (
    ("eva02-large", 0.53),
    ("vit-large", 0.26),
    ("vit-tagger-v3", 0.26),
    ("swinv2-tagger-v3", 0.27),
    ("convnext-tagger-v3", 0.27),
    ("-v3", 0.27),
    ("v1-4", 0.35),
    ("-v2", 0.35),
)
FALLBACK_THRESHOLD = 0.35
CHARACTER_THRESHOLD = 0.85
CHARACTER_MCUT_FLOOR = 0.15
EXISTING_CHOICES = ("skip", "append", "overwrite")


def default_threshold(model_name: str) -> float:
    """The general-tag threshold a model's card recommends (0.35 for models we do not know)."""
    name = model_name.lower()
    return next((value for key, value in DEFAULT_THRESHOLDS if key in name), FALLBACK_THRESHOLD)


def mcut_threshold(probs: np.ndarray) -> float:
    """Maximum Cut thresholding: the middle of the largest gap between neighbouring sorted probabilities.

    Largeron et al., "MCut: A Thresholding Strategy for Multi-label Classification" (IDA 2012).
    """
    if len(probs) < 2:
        return 1.0 if len(probs) == 0 else float(probs[0]) / 2
    ordered = np.sort(probs)[::-1]
    gaps = ordered[:-1] - ordered[1:]
    i = int(np.argmax(gaps))
    return float((ordered[i] + ordered[i + 1]) / 2)


@dataclass
class TagSettings:
    """How probabilities become a caption. ``None`` thresholds use the model's recommended value."""

    general_threshold: float | None = None
    character_threshold: float = CHARACTER_THRESHOLD
    general_mcut: bool = False
    character_mcut: bool = False
    rating: str = "none"  # none | first | last
    character_first: bool = True
    always_first: list[str] = field(default_factory=list)
    undesired: list[str] = field(default_factory=list)
    replacements: dict[str, str] = field(default_factory=dict)
    drop_overlap: bool = False
    existing: str = "skip"  # skip | append | overwrite: what to do with images that already have captions
    underscores: bool = False  # write tags with underscores (the models' own spelling)
    escape_brackets: bool = False
    batch_size: int = 8
    caption_extension: str = ".txt"

    def __post_init__(self) -> None:
        from lorakit.errors import ConfigError

        if self.existing not in EXISTING_CHOICES:
            raise ConfigError(
                f"existing={self.existing!r} is not a choice.", f"Use one of: {', '.join(EXISTING_CHOICES)}."
            )
        if self.rating not in ("none", "first", "last"):
            raise ConfigError(f"rating={self.rating!r} is not a choice.", "Use none, first or last.")
        for name in ("general_threshold", "character_threshold"):
            value = getattr(self, name)
            if value is not None and not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name}={value} is outside 0..1.", "Thresholds are probabilities: use 0.2-0.9.")


def drop_overlapping(tags: list[str]) -> list[str]:
    """Drop a tag that a more specific tag already says (``shirt`` when ``white shirt`` is there)."""
    keys = [t.lower() for t in tags]
    out = []
    for tag, key in zip(tags, keys, strict=True):
        pattern = re.compile(rf"(^|\s){re.escape(key)}($|\s)")
        if any(other != key and pattern.search(other) for other in keys):
            continue
        out.append(tag)
    return out


def select_tags(
    probs: np.ndarray,
    names: list[str],
    categories: np.ndarray,
    settings: TagSettings,
    *,
    general_threshold: float,
) -> list[str]:
    """The ordered, cleaned tag list for one image's probabilities."""
    general_idx = np.flatnonzero(categories == GENERAL)
    character_idx = np.flatnonzero(categories == CHARACTER)
    rating_idx = np.flatnonzero(categories == RATING)

    g_thresh = general_threshold
    if settings.general_mcut and len(general_idx):
        g_thresh = mcut_threshold(probs[general_idx])
    c_thresh = settings.character_threshold
    if settings.character_mcut and len(character_idx):
        c_thresh = max(CHARACTER_MCUT_FLOOR, mcut_threshold(probs[character_idx]))

    def above(indices: np.ndarray, threshold: float) -> list[str]:
        chosen = indices[probs[indices] > threshold]  # vectorised: a WD14 model scores ~10,000 tags
        chosen = chosen[np.argsort(-probs[chosen], kind="stable")]  # most confident first
        return [names[i] for i in chosen.tolist()]

    general = above(general_idx, g_thresh)
    characters = above(character_idx, c_thresh)
    rating = [names[int(rating_idx[np.argmax(probs[rating_idx])])]] if len(rating_idx) else []

    replace = {normalize_tag(k).lower(): v for k, v in settings.replacements.items()}
    unwanted = {normalize_tag(t).lower() for t in settings.undesired}

    def clean(tags: list[str]) -> list[str]:
        out = []
        for tag in map(normalize_tag, tags):
            tag = normalize_tag(replace.get(tag.lower(), tag))
            if tag and tag.lower() not in unwanted:
                out.append(tag)
        return out

    general, characters, rating = clean(general), clean(characters), clean(rating)
    if settings.drop_overlap:
        general = drop_overlapping(general)
    body = characters + general if settings.character_first else general + characters
    # As sd-scripts' --always_first_tags: those present (e.g. 1girl, solo) move to the front, in this order.
    present = {t.lower(): t for t in body}
    first = [present[k] for k in (normalize_tag(t).lower() for t in settings.always_first) if k in present]
    ordered = (
        first + (rating if settings.rating == "first" else []) + body + (rating if settings.rating == "last" else [])
    )
    return deduplicate([t for t in ordered if t])


def caption_text(tags: list[str], settings: TagSettings) -> str:
    return format_tags(tags, escape_brackets=settings.escape_brackets, underscores=settings.underscores)
