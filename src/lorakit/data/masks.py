"""Loss masks for ``masked_loss``: which pixels of an image are learned.

A mask comes, in this order (sd-scripts: conditioning images before alpha masks), from

1. a mask image with the same name in a ``masks`` folder next to the image (``cat.png`` →
   ``masks/cat.png``, any image extension): its red channel, as sd-scripts reads a conditioning image
   (so a grey-scale mask works as is); white = learned, black = ignored, grey in between;
2. the image's alpha channel when ``alpha_mask`` is on (transparent = ignored);
3. otherwise, with ``masked_loss`` on, the whole image is learned (a mask of ones).

The mask is resized to the image's size, then resized, cropped and flipped with the image, then area-
downsampled to the latent size and multiplied into the loss (:func:`lorakit.train.loss.per_sample_loss`).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from lorakit.config.dataset import IMAGE_EXTENSIONS

MASK_FOLDER = "masks"


def find_mask(image: str | Path) -> Path | None:
    """The mask image of ``image`` (``<folder>/masks/<stem>.<ext>``), or None."""
    image = Path(image)
    folder = image.parent / MASK_FOLDER
    if not folder.is_dir():
        return None
    for ext in IMAGE_EXTENSIONS:
        for candidate in (folder / f"{image.stem}{ext}", folder / f"{image.stem}{ext.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def load_mask(path: Path, size: tuple[int, int]) -> Image.Image:
    """A mask file as an 8-bit ("L") image of ``size`` (w, h): its red channel, resized to the image."""
    from lorakit.data.images import open_image, to_rgb

    mask = to_rgb(open_image(path), background=(0, 0, 0)).getchannel("R")
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.BILINEAR)
    return mask


def no_masks_warning(examples) -> tuple[str, str] | None:
    """(problem, fix) when masked_loss is on but no image has a mask file or an alpha mask: it changes nothing."""
    if not examples or not examples[0].masked_loss:
        return None
    if any(e.mask_path is not None or e.subset.alpha_mask for e in examples):
        return None
    return (
        "masked_loss is on, but no image has a mask, so every pixel is learned as without it.",
        f"Put a mask image with the same name in a '{MASK_FOLDER}' folder next to each image (white = learn,"
        " black = ignore), or turn on alpha_mask for images with transparency.",
    )
