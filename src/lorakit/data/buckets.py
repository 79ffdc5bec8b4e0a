"""Aspect-ratio buckets, exactly as sd-scripts makes and fills them.

Images of different shapes are trained at different sizes ("buckets") of about the same pixel count, so
nothing is squashed and little is cropped. The rules below follow sd-scripts (``library/model_util.py``
``make_bucket_resolutions``; ``library/train_util.py`` ``BucketManager.select_bucket``,
``get_crop_ltrb``, ``trim_and_resize_if_required``; ``BaseDataset.adjust_min_max_bucket_reso_by_steps``)
so that a LoRA trained here sees the same sizes and crops as one trained there, and so the step plan is
exact. The planner and the trainer's data loader both call :meth:`BucketSet.place`: one source of truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from lorakit.errors import ConfigError

Size = tuple[int, int]  # (width, height), as sd-scripts and Pillow write sizes


def make_bucket_resolutions(
    max_reso: Size, min_size: int = 256, max_size: int = 1024, divisible: int = 64
) -> list[Size]:
    """The fixed bucket sizes for a training resolution, sorted.

    Area stays at most width × height of ``max_reso``: the square bucket, then for each width from
    ``min_size`` to ``max_size`` in ``divisible`` steps, the tallest height that fits the area (floored to
    ``divisible``, capped at ``max_size``), and its transpose.
    """
    max_width, max_height = max_reso
    max_area = max_width * max_height
    side = int(math.sqrt(max_area) // divisible) * divisible
    resos = {(side, side)}
    width = min_size
    while width <= max_size:
        height = min(max_size, int((max_area // width) // divisible) * divisible)
        if height >= min_size:
            resos.add((width, height))
            resos.add((height, width))
        width += divisible
    return sorted(resos)


@dataclass(frozen=True)
class BucketSettings:
    """How images are sized for training. Defaults are sd-scripts' defaults."""

    resolution: Size = (512, 512)
    enable_bucket: bool = True
    min_bucket_reso: int = 256
    max_bucket_reso: int = 1024
    bucket_reso_steps: int = 64
    bucket_no_upscale: bool = False

    @classmethod
    def square(cls, resolution: int, **kwargs) -> BucketSettings:
        return cls(resolution=(resolution, resolution), **kwargs)


@dataclass(frozen=True)
class Placement:
    """Where one image goes and how it is cut to fit.

    The image (``original``) is resized to ``resized`` (both sides scaled by ``scale``, rounded as
    sd-scripts rounds), then ``crop_box`` (left, top, right, bottom in the resized image; centred unless
    random crop is on) is cut out: its size is exactly ``bucket``. ``sdxl_crop_ltrb`` is the value
    sd-scripts passes to SDXL as crop conditioning (its ``get_crop_ltrb``).
    """

    original: Size
    bucket: Size
    resized: Size
    crop_box: tuple[int, int, int, int]
    sdxl_crop_ltrb: tuple[float, float, float, float]
    aspect_error: float  # bucket aspect ratio minus image aspect ratio

    @property
    def scale(self) -> float:
        return self.resized[0] / self.original[0]

    @property
    def upscaled(self) -> bool:
        """True when the image is enlarged to fill its bucket (it will look softer than the rest)."""
        return self.resized[0] > self.original[0] or self.resized[1] > self.original[1]

    @property
    def cropped_pixels(self) -> tuple[int, int]:
        """How many pixels (of the resized image) are cut away in width and height."""
        return self.resized[0] - self.bucket[0], self.resized[1] - self.bucket[1]


def crop_box(resized: Size, bucket: Size, offset: tuple[int, int] | None = None) -> tuple[int, int, int, int]:
    """The part of a resized image kept for its bucket: centred, or at ``offset`` (random crop).

    sd-scripts trims the excess width, then height, keeping ``excess // 2`` on the left/top side.
    """
    left = (resized[0] - bucket[0]) // 2 if offset is None else offset[0]
    top = (resized[1] - bucket[1]) // 2 if offset is None else offset[1]
    return left, top, left + bucket[0], top + bucket[1]


def sdxl_crop_ltrb(bucket: Size, original: Size) -> tuple[float, float, float, float]:
    """sd-scripts' ``get_crop_ltrb``: the SDXL crop-conditioning box (following Stability AI's preprocessing)."""
    bucket_ar = bucket[0] / bucket[1]
    image_ar = original[0] / original[1]
    if bucket_ar > image_ar:
        fit_width, fit_height = bucket[1] * image_ar, float(bucket[1])
    else:
        fit_width, fit_height = float(bucket[0]), bucket[0] / image_ar
    left = (bucket[0] - fit_width) // 2
    top = (bucket[1] - fit_height) // 2
    return left, top, left + fit_width, top + fit_height


class BucketSet:
    """The buckets for one dataset's settings. ``bucket_for(w, h)`` says where an image goes.

    With ``enable_bucket`` off there is one bucket, the resolution itself. With ``bucket_no_upscale`` each
    image gets its own bucket: shrunk to the resolution's area if larger, never enlarged, then floored to
    ``bucket_reso_steps``.
    """

    def __init__(self, settings: BucketSettings):
        self.settings = settings
        width, height = settings.resolution
        if width <= 0 or height <= 0:
            raise ConfigError(
                f"The resolution {width}×{height} is not a size.",
                "Use e.g. 512 for SD1.5 or 1024 for SDXL.",
                field="resolution",
            )
        self.max_area = width * height
        if not settings.enable_bucket:
            self.steps = None
            self.min_size = self.max_size = None
            self.resolutions: list[Size] = [(width, height)]
            self.no_upscale = False
            self._index_resolutions()
            return
        self.steps = settings.bucket_reso_steps
        if self.steps <= 0:
            raise ConfigError(
                f"bucket_reso_steps is {self.steps}.", "Use 64 (or 32 for SDXL).", field="bucket_reso_steps"
            )
        # sd-scripts rounds min down and max up to the step (adjust_min_max_bucket_reso_by_steps); a min below
        # one step would round to 0 (a bucket with no pixels, and a division by zero): one step is the least.
        self.min_size = max(self.steps, settings.min_bucket_reso - settings.min_bucket_reso % self.steps)
        max_size = settings.max_bucket_reso
        self.max_size = max_size if max_size % self.steps == 0 else max_size + self.steps - max_size % self.steps
        if min(width, height) < self.min_size:
            raise ConfigError(
                f"min_bucket_reso ({settings.min_bucket_reso}) is larger than the resolution ({width}×{height}).",
                f"Lower min_bucket_reso to {min(width, height)} or less (256 is usual).",
                field="min_bucket_reso",
            )
        if max(width, height) > self.max_size:
            raise ConfigError(
                f"max_bucket_reso ({settings.max_bucket_reso}) is smaller than the resolution ({width}×{height}).",
                f"Raise max_bucket_reso to {max(width, height)} or more (1024 for SD1.5, 2048 for SDXL is usual).",
                field="max_bucket_reso",
            )
        self.no_upscale = settings.bucket_no_upscale
        # With no_upscale the buckets come from the images themselves; min/max are ignored (as in sd-scripts).
        self.resolutions = []
        if not self.no_upscale:
            self.resolutions = make_bucket_resolutions((width, height), self.min_size, self.max_size, self.steps)
        self._index_resolutions()

    def _index_resolutions(self) -> None:
        self._placed: dict[Size, Placement] = {}
        self._resolution_set = set(self.resolutions)
        self._ratios = [w / h for w, h in self.resolutions]

    def bucket_for(self, width: int, height: int) -> Size:
        """The bucket (width, height) an image of this size is trained at."""
        return self.place(width, height).bucket

    def place(self, width: int, height: int, crop_offset: tuple[int, int] | None = None) -> Placement:
        """The bucket, resize and crop for an image of ``width`` × ``height`` (sd-scripts' select_bucket)."""
        if crop_offset is None:
            # Datasets repeat sizes (a camera, an export preset): compute each size once.
            known = self._placed.get((width, height))
            if known is None:
                known = self._placed[(width, height)] = self._place(width, height, None)
            return known
        return self._place(width, height, crop_offset)

    def _place(self, width: int, height: int, crop_offset: tuple[int, int] | None) -> Placement:
        if width <= 0 or height <= 0:
            raise ValueError(f"image size must be positive, got {width}x{height}")
        aspect = width / height
        if self.no_upscale:
            resized = self._shrunk_size(width, height, aspect)
            steps = self.steps or 1
            bucket = (resized[0] - resized[0] % steps, resized[1] - resized[1] % steps)
        else:
            bucket = (width, height)
            if bucket not in self._resolution_set:
                bucket = self.resolutions[_nearest(self._ratios, aspect)]
            # Scale so the image covers the bucket: match the side that would otherwise fall short.
            scale = bucket[1] / height if aspect > bucket[0] / bucket[1] else bucket[0] / width
            resized = (int(width * scale + 0.5), int(height * scale + 0.5))
        if bucket[0] <= 0 or bucket[1] <= 0:
            # Only with bucket_no_upscale: a side shorter than one bucket step has nothing left to train on.
            raise ValueError(f"image {width}x{height} is smaller than one bucket step ({self.steps} px)")
        return Placement(
            original=(width, height),
            bucket=bucket,
            resized=resized,
            crop_box=crop_box(resized, bucket, crop_offset),
            sdxl_crop_ltrb=sdxl_crop_ltrb(bucket, (width, height)),
            aspect_error=bucket[0] / bucket[1] - aspect,
        )

    def _shrunk_size(self, width: int, height: int, aspect: float) -> Size:
        if width * height <= self.max_area:
            return width, height
        # Too large: shrink to the resolution's area keeping the aspect ratio, then round one side to the
        # step: whichever rounding keeps the aspect ratio closer (sd-scripts' select_bucket, no_upscale branch).
        resized_width = math.sqrt(self.max_area * aspect)
        resized_height = self.max_area / resized_width
        w_rounded = self._round_to_steps(resized_width)
        h_for_w = self._round_to_steps(w_rounded / aspect)
        h_rounded = self._round_to_steps(resized_height)
        w_for_h = self._round_to_steps(h_rounded * aspect)
        ar_by_width = w_rounded / h_for_w if h_for_w else math.inf
        ar_by_height = w_for_h / h_rounded if h_rounded else math.inf
        if abs(ar_by_width - aspect) < abs(ar_by_height - aspect):
            return w_rounded, int(w_rounded / aspect + 0.5)
        return int(h_rounded * aspect + 0.5), h_rounded

    def _round_to_steps(self, x: float) -> int:
        steps = self.steps or 1
        rounded = int(x + 0.5)
        return rounded - rounded % steps

    def describe(self) -> str:
        """One line for reports: what the buckets are."""
        w, h = self.settings.resolution
        if not self.settings.enable_bucket:
            return f"one size {w}×{h} (bucketing off: images are resized and centre-cropped)"
        if self.no_upscale:
            return f"per-image sizes up to {w}×{h} pixels of area in steps of {self.steps} (no upscaling)"
        n, low, high = len(self.resolutions), self.min_size, self.max_size
        return f"{n} size{'s' if n != 1 else ''} around {w}×{h} in steps of {self.steps} ({low}–{high} px per side)"


def _nearest(ratios: Sequence[float], aspect: float) -> int:
    # First index with the smallest error, like numpy's argmin in sd-scripts, so ties resolve the same way.
    best, best_error = 0, math.inf
    for index, ratio in enumerate(ratios):
        error = abs(ratio - aspect)
        if error < best_error:
            best, best_error = index, error
    return best
