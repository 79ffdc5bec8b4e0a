"""Opening images safely: one place that turns any file a person drops in into pixels, or a clear error.

- Decompression bombs: the pixel count is checked from the header before decoding; above the limit
  the file is refused with an :class:`ImageError` (Pillow would only warn below twice its limit).
- EXIF orientation is applied, so a phone photo taken upright is upright.
- Animated GIF/WebP: the first frame.
- AVIF/HEIC: read when a Pillow plugin (``pillow-heif``, ``pillow-avif-plugin``) is installed.
- 0-byte, truncated and not-an-image files raise :class:`ImageError` naming the file.
- :func:`to_rgb` composites transparency on white (what training and WD14 see) and converts CMYK,
  16-bit and greyscale; :func:`to_rgba` keeps the alpha channel for alpha-mask training.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError, features

from lorakit.errors import DatasetError

# Our own pixel check replaces Pillow's DecompressionBombWarning with an error (see open_image), so the
# warning would only repeat what we already raise. Ignored for that category alone.
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)

# Pillow's default limit (~179 megapixels, e.g. 13,400 x 13,400): far above any training image.
DEFAULT_MAX_PIXELS = 178_956_970
WHITE = (255, 255, 255)

_PLUGIN_EXTENSIONS = {".heic": "pillow_heif", ".heif": "pillow_heif", ".avif": "pillow_avif"}
_plugins_tried: set[str] = set()


class ImageError(DatasetError):
    """An image file cannot be used: empty, truncated, not an image, too large, or of an unreadable kind."""

    code = "image"

    def __init__(self, problem: str, fix: str | None = None, *, path: str | os.PathLike | None = None, kind: str = ""):
        super().__init__(problem, fix)
        self.path = str(path) if path else None
        self.kind = kind  # empty | truncated | not_image | too_large | unsupported | unreadable


def _load_plugin(suffix: str) -> None:
    """Register the optional HEIC/AVIF opener the first time such a file is met."""
    module = _PLUGIN_EXTENSIONS.get(suffix)
    if not module or module in _plugins_tried:
        return
    _plugins_tried.add(module)
    try:
        if module == "pillow_heif":
            from pillow_heif import register_heif_opener  # type: ignore[import-not-found]

            register_heif_opener()
        else:
            __import__(module)
    except ImportError:
        pass


def open_image(
    path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS, reduce_to: int | None = None
) -> Image.Image:
    """Open and fully decode an image: first frame, EXIF orientation applied, original mode kept.

    ``reduce_to``: for checks that do not need every pixel, a JPEG may be decoded at 1/2, 1/4 or 1/8
    scale (libjpeg's DCT scaling) as long as its shorter side stays >= this. The whole file is still
    decoded, so damage is still found; ``img.info["original_size"]`` keeps the real size.
    Raises :class:`ImageError` with a plain-words problem and fix for every way a file can be unusable.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as error:
        raise ImageError(
            f"Cannot read {p.name}: {error.strerror or error}.",
            "Check that the file exists and that you may read it.",
            path=p,
            kind="unreadable",
        ) from error
    if size == 0:
        raise ImageError(
            f"{p.name} is an empty file (0 bytes).",
            "Delete it, or copy the image again: the copy or download did not finish.",
            path=p,
            kind="empty",
        )
    _load_plugin(p.suffix.lower())
    try:
        source = Image.open(p)
        out = None
        try:
            width, height = source.size
            if max_pixels and width * height > max_pixels:
                raise _too_large(p, width, height, max_pixels)
            frames = getattr(source, "n_frames", 1)
            if frames > 1:
                source.seek(0)  # animated GIF/WebP/APNG: train on the first frame
            if reduce_to and source.format == "JPEG" and min(width, height) >= 2 * reduce_to:
                scale = min(width, height) / reduce_to
                source.draft(None, (int(width / scale), int(height / scale)))
            source.load()  # single-frame files close their file here; multi-frame ones keep it open
            if _has_orientation(source):
                out = ImageOps.exif_transpose(source)
            elif getattr(source, "fp", None) is not None:
                out = source.copy()  # detach the pixels so the file can be closed
            else:
                out = source
            # Health reports need the format, frame count and real size, which transposing, copying or a
            # reduced decode forget.
            out.format = source.format
            out.info["frames"] = frames
            rotated = out.size != source.size
            out.info["original_size"] = (height, width) if rotated else (width, height)
        finally:
            if out is not source:
                source.close()
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise _too_large(p, 0, 0, max_pixels or DEFAULT_MAX_PIXELS) from error
    except UnidentifiedImageError as error:
        hint = _plugin_hint(p)
        raise ImageError(
            f"{p.name} is not an image Pillow can read{hint}.",
            "Check the file: it may be a different kind of file with an image extension. Remove it from the"
            " dataset, or open and re-save it as PNG or JPEG.",
            path=p,
            kind="unsupported" if hint else "not_image",
        ) from error
    except (OSError, SyntaxError, ValueError) as error:
        message = str(error).lower()
        truncated = "truncated" in message or "broken" in message or isinstance(error, SyntaxError)
        raise ImageError(
            f"{p.name} is damaged ({'the file is truncated' if truncated else error}).",
            "Copy or download the image again, or remove it from the dataset.",
            path=p,
            kind="truncated",
        ) from error
    return out


def _has_orientation(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # a broken EXIF block must not make a good image unusable
        return False


def _too_large(p: Path, width: int, height: int, max_pixels: int) -> ImageError:
    dims = f" ({width} x {height} = {width * height / 1e6:g} megapixels)" if width else ""
    return ImageError(
        f"{p.name} is too large to open safely{dims}; the limit is {max_pixels / 1e6:g} megapixels.",
        "Resize it in an image editor (training uses about 1 megapixel), or raise the limit if you trust the"
        " file: very large images can be crafted to exhaust memory.",
        path=p,
        kind="too_large",
    )


def _plugin_hint(p: Path) -> str:
    module = _PLUGIN_EXTENSIONS.get(p.suffix.lower())
    if module == "pillow_avif" and features.check("avif"):
        return ""  # this Pillow reads AVIF itself: the file is damaged, not unsupported
        package = "pillow-heif" if module == "pillow_heif" else "pillow-avif-plugin"
        return f" (reading {p.suffix} files needs the '{package}' package: pip install {package})"
    return ""


def list_images(folder: str | os.PathLike, *, recursive: bool = True) -> list[Path]:
    """Image files in a folder (by extension), sorted; hidden folders (``.lorakit``, ``.trash``) are skipped."""
    from lorakit.config.dataset import IMAGE_EXTENSIONS

    root = Path(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".")) if recursive else []
        found.extend(
            Path(dirpath) / name
            for name in filenames
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS
        )
    return sorted(found)


def is_16bit(img: Image.Image) -> bool:
    return img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F") or img.mode.endswith(";16")


def has_transparency(img: Image.Image) -> bool:
    """True when some pixel is not fully opaque (an alpha channel that is all 255 does not count)."""
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        lo, _ = img.getchannel("A").getextrema()
        return lo < 255
    if img.mode == "P" and "transparency" in img.info:
        return has_transparency(img.convert("RGBA"))
    return img.mode in ("RGB", "L") and "transparency" in img.info


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit/32-bit greyscale to 8-bit L, keeping the full tonal range (Pillow's convert clips at 255)."""
    arr = np.asarray(img)
    if arr.dtype.kind == "f":
        top = 1.0 if arr.max(initial=0) <= 1.0 else 65535.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255)
    else:
        top = 255 if arr.max(initial=0) <= 255 else 65535
        arr = (arr.astype(np.float64) * (255.0 / top) + 0.5) if top != 255 else arr
    return Image.fromarray(np.asarray(arr, dtype=np.uint8), "L")


def to_rgba(img: Image.Image) -> Image.Image:
    """Any mode to RGBA (opaque where the image had no alpha): for alpha masks and compositing."""
    if img.mode == "RGBA":
        return img
    if is_16bit(img):
        img = _to_8bit(img)
    if img.mode == "CMYK":
        img = img.convert("RGB")
    return img.convert("RGBA")


def to_rgb(img: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """Any mode to RGB; transparent pixels are composited on ``background`` (white by default).

    The compositing is Pillow's ``alpha_composite`` on a solid canvas, the same step WD14's reference
    preprocessing uses, so the tagger and the trainer see identical pixels.
    """
    if img.mode == "RGB" and "transparency" not in img.info:
        return img
    if is_16bit(img):
        img = _to_8bit(img)
    if img.mode == "CMYK":
        return img.convert("RGB")
    if img.mode in ("L", "1", "YCbCr", "LAB", "HSV") and "transparency" not in img.info:
        return img.convert("RGB")
    rgba = to_rgba(img)
    canvas = Image.new("RGBA", rgba.size, (*background, 255))
    canvas.alpha_composite(rgba)
    return canvas.convert("RGB")


def load_rgb(path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an image and return it as RGB on white: the pixels a model is trained or tagged on."""
    return to_rgb(open_image(path, max_pixels=max_pixels))


@dataclass
class ImageInfo:
    """What a health check needs to know about one decoded image."""

    path: str
    width: int
    height: int
    mode: str
    format: str | None
    file_size: int
    has_alpha: bool  # some pixel is not fully opaque
    is_cmyk: bool
    is_16bit: bool
    is_greyscale: bool
    frames: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def describe_image(path: str | os.PathLike, img: Image.Image, *, file_format: str | None = None) -> ImageInfo:
    """Facts about a decoded image (from :func:`open_image`)."""
    width, height = img.info.get("original_size", img.size)
    return ImageInfo(
        path=str(path),
        width=width,
        height=height,
        mode=img.mode,
        format=file_format or img.format,
        file_size=Path(path).stat().st_size,
        has_alpha=has_transparency(img),
        is_cmyk=img.mode == "CMYK",
        is_16bit=is_16bit(img),
        is_greyscale=img.mode in ("L", "LA", "1", "I", "I;16", "I;16B", "I;16L", "F")
        or (img.mode == "P" and _palette_is_grey(img)),
        frames=img.info.get("frames", 1),
    )


def _palette_is_grey(img: Image.Image) -> bool:
    palette = img.getpalette() or []
    triples = np.asarray(palette[: len(palette) // 3 * 3]).reshape(-1, 3)
    return bool(len(triples)) and bool((triples.max(axis=1) == triples.min(axis=1)).all())
