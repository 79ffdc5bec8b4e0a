"""The training data: the step plan's images, batched by bucket, loaded with their augmentations.

Batches follow sd-scripts: each bucket holds its images × repeats, shuffled, cut into batches of
``batch_size``, and the batches of all buckets are shuffled together; so an epoch has exactly the
plan's ``batches_per_epoch``. The order depends only on (seed, epoch), so a resumed run can skip to
its position in the epoch and see the same batches as an uninterrupted one.

Sizes, resizes and crops come from the plan's :class:`~lorakit.data.buckets.Placement` (one source of
truth with ``lorakit plan``). An image that cannot be decoded is skipped with a warning, never a crash.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from lorakit.config.dataset import ResolvedSubset
from lorakit.data.buckets import Placement, crop_box
from lorakit.data.face_crop import FaceBox, face_box, face_crop
from lorakit.data.plan import PlannedImage, TrainPlan


@dataclass
class Example:
    """One image of the plan with its subset's options."""

    path: Path
    caption: str
    is_reg: bool
    repeats: int
    subset: ResolvedSubset
    placement: Placement
    masked_loss: bool = False  # dataset.masked_loss: every image gets a loss mask (ones when it has none)
    mask_path: Path | None = None  # its mask image (masks/<stem>.png), see lorakit.data.masks

    @property
    def bucket(self) -> tuple[int, int]:
        return self.placement.bucket

    @property
    def face(self) -> FaceBox | None:
        """The face box in the file name, when face_crop_aug_range is set (see lorakit.data.face_crop)."""
        return face_box(self.path) if self.subset.face_crop_aug_range else None

    @property
    def cacheable(self) -> bool:
        """Latents can be cached when the pixels do not change between epochs (flip is cached both ways)."""
        return not (self.subset.random_crop or self.subset.color_aug or self.face is not None)


@dataclass
class LoadedImage:
    """Pixels in [-1, 1] (3, H, W), optional alpha mask (1, H, W), SDXL size conditioning (6,)."""

    pixels: torch.Tensor
    mask: torch.Tensor | None
    sizes: torch.Tensor
    flipped: bool


def examples_from_plan(plan: TrainPlan, subsets: list[ResolvedSubset], *, masked_loss: bool = False) -> list[Example]:
    """The plan's images (readable, placed, with reg repeats matched) as training examples.

    With ``masked_loss`` each image's mask file (``masks/<stem>.png``) is looked up here, once.
    """
    from lorakit.data.masks import find_mask

    out = []
    for image in plan.images:
        image: PlannedImage
        out.append(
            Example(
                image.path,
                image.caption,
                image.is_reg,
                image.repeats,
                subsets[image.subset_index],
                image.placement,
                masked_loss=masked_loss,
                mask_path=find_mask(image.path) if masked_loss else None,
            )
        )
    return out


def epoch_batches(examples: list[Example], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Batches (lists of example indices) of one epoch, in training order; depends only on seed and epoch."""
    rng = random.Random(f"{seed}:{epoch}")
    buckets: dict[tuple[int, int], list[int]] = {}
    for index, example in enumerate(examples):
        buckets.setdefault(example.bucket, []).extend([index] * example.repeats)
    batches = []
    for bucket in sorted(buckets):
        items = buckets[bucket]
        rng.shuffle(items)
        batches += [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    rng.shuffle(batches)
    return batches


def _color_shift(img: Image.Image, rng: random.Random) -> Image.Image:
    """sd-scripts' color_aug: a small random hue shift (±0.02 of the colour wheel)."""
    shift = rng.uniform(-0.02, 0.02)
    hsv = np.asarray(img.convert("HSV")).copy()
    hsv[..., 0] = ((hsv[..., 0].astype(np.int16) + int(shift * 255)) % 256).astype(np.uint8)
    return Image.fromarray(hsv, "HSV").convert("RGB")


def load_example(example: Example, rng: random.Random, *, flip: bool | None = None) -> LoadedImage:
    """Decode, resize, crop and augment one image exactly as the plan placed it.

    Raises :class:`lorakit.data.images.ImageError` (a :class:`DatasetError`) for a file that cannot be read.
    """
    from lorakit.data.images import open_image, to_rgb, to_rgba
    from lorakit.data.masks import load_mask

    subset, p = example.subset, example.placement
    raw = open_image(example.path)
    # The loss mask (a mask file before the alpha channel, as sd-scripts) follows every resize/crop/flip.
    mask_img = None
    if example.mask_path is not None:
        mask_img = load_mask(example.mask_path, raw.size)
    elif subset.alpha_mask:
        mask_img = to_rgba(raw).getchannel("A")
    img = to_rgb(raw)
    resized, box = p.resized, p.crop_box
    face = example.face
    if face is not None:
        crop = face_crop(img.size, face, p.bucket, subset.face_crop_aug_range, rng, subset.random_crop)
        resized, box = crop.resized, crop.box
    elif subset.random_crop:
        excess = (p.resized[0] - p.bucket[0], p.resized[1] - p.bucket[1])
        box = crop_box(p.resized, p.bucket, (rng.randint(0, excess[0]), rng.randint(0, excess[1])))
    if img.size != resized:
        # Shrinking uses an area filter (sharp, no ringing); enlarging a smooth one. sd-scripts: cv2 INTER_AREA.
        filt = Image.Resampling.BOX if resized[0] < img.size[0] else Image.Resampling.BICUBIC
        img = img.resize(resized, filt)
        if mask_img is not None:
            mask_img = mask_img.resize(resized, filt)
    img = img.crop(box)
    if subset.color_aug:
        img = _color_shift(img, rng)
    flipped = (rng.random() < 0.5) if flip is None and subset.flip_aug else bool(flip)
    if flipped:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    pixels = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0
    mask = None
    if mask_img is not None:
        mask_img = mask_img.crop(box)
        if flipped:
            mask_img = mask_img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        mask = torch.from_numpy(np.asarray(mask_img, dtype=np.float32) / 255.0)[None]
    elif example.masked_loss:
        mask = torch.ones(1, pixels.shape[1], pixels.shape[2])  # no mask for this image: all of it is learned
    (ow, oh), (bw, bh) = p.original, p.bucket
    left, top = p.sdxl_crop_ltrb[0], p.sdxl_crop_ltrb[1]
    if face is not None:
        left, top = box[0], box[1]  # SDXL's crop conditioning: where the face crop starts
    sizes = torch.tensor([oh, ow, top, left, bh, bw], dtype=torch.float32)
    return LoadedImage(pixels.contiguous(), mask, sizes, flipped)
