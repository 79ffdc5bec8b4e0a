"""Look at a dataset on disk without loading pixels: which images a subset has, their sizes, their captions.

The step plan and the trainer both start here, so they agree on which files exist. Sizes come from the
image header only (Pillow opens lazily), read in threads, and are cached by (path, modification time, file
size) so planning 10,000 images a second time takes a fraction of the first. Files that cannot be read are
reported in the result, never raised, so a plan can show them; a folder that is missing or has no images is
a :class:`~lorakit.errors.DatasetError` that names the folder.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.config.dataset import IMAGE_EXTENSIONS, ResolvedSubset
from lorakit.errors import DatasetError
from lorakit.events import PROGRESS, Emitter

log = logging.getLogger(__name__)

# EXIF orientations 5-8 rotate by 90°/270°: the picture a trainer sees after exif_transpose has width and
# height swapped compared with the stored pixels.
_ROTATED_ORIENTATIONS = {5, 6, 7, 8}
_EXIF_ORIENTATION = 0x0112
# Entries the size cache file keeps at most (~100 bytes each) before it drops those not used lately.
MAX_CACHED_SIZES = 200_000


@dataclass(frozen=True)
class ScannedImage:
    """One image file of a subset, as far as the header and the caption file tell."""

    path: Path
    width: int = 0
    height: int = 0
    caption: str = ""
    # Where the caption came from: "file", "class_tokens" (no caption file), "empty_file", or "none".
    caption_source: str = "none"
    error: str | None = None  # why the image could not be read; None when width/height are known

    @property
    def readable(self) -> bool:
        return self.error is None


@dataclass
class SubsetScan:
    """The images of one subset: those whose size is known, and those that could not be read."""

    subset: ResolvedSubset
    images: list[ScannedImage] = field(default_factory=list)
    unreadable: list[ScannedImage] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.subset.label


class SizeCache:
    """Image sizes keyed on (path, mtime, file size), optionally kept in a JSON file between runs.

    A changed or replaced file has a new mtime or size, so a stale entry is never used.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else None
        self._sizes: dict[str, tuple[int, int, int, int]] = {}  # path -> (mtime_ns, bytes, width, height)
        self._lock = threading.Lock()
        self._dirty = False
        self._touched: set[str] = set()  # paths used in this session
        if self.path and self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._sizes = {k: tuple(v) for k, v in raw.get("sizes", {}).items() if len(v) == 4}
            except (OSError, ValueError, TypeError, AttributeError):
                log.warning("ignoring unreadable image size cache %s", self.path)

    def get(self, path: Path, stat: os.stat_result) -> tuple[int, int] | None:
        entry = self._sizes.get(str(path))
        if entry and entry[0] == stat.st_mtime_ns and entry[1] == stat.st_size:
            return entry[2], entry[3]
        return None

    def put(self, path: Path, stat: os.stat_result, size: tuple[int, int]) -> None:
        with self._lock:
            self._sizes[str(path)] = (stat.st_mtime_ns, stat.st_size, size[0], size[1])
            self._touched.add(str(path))
            self._dirty = True

    def get_or_read(self, path: Path, stat: os.stat_result) -> tuple[int, int]:
        """The cached size, or the size read from the header (and remembered)."""
        size = self.get(path, stat)
        if size is None:
            size = read_image_size(path)
            self.put(path, stat, size)
        else:
            self._touched.add(str(path))
        return size

    def __len__(self) -> int:
        return len(self._sizes)

    def save(self) -> None:
        """Write the cache file (atomically) if anything new was learned."""
        if not (self.path and self._dirty):
            return
        from lorakit.fileio import atomic_write_text

        with self._lock:
            if len(self._sizes) > MAX_CACHED_SIZES:
                # Forget files of other datasets (often deleted ones) rather than grow without end.
                self._sizes = {k: v for k, v in self._sizes.items() if k in self._touched}
            text = json.dumps({"version": 1, "sizes": self._sizes}, separators=(",", ":"))
            self._dirty = False
        try:
            atomic_write_text(self.path, text)
        except OSError as error:  # a read-only cache folder must not stop a plan
            log.warning("could not save image size cache %s: %s", self.path, error)


_MEMORY_CACHE = SizeCache()


def _is_image_name(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def is_image_file(path: str | os.PathLike) -> bool:
    """True for a visible file whose extension is an image type lorakit trains on (any case)."""
    return _is_image_name(os.path.basename(path))


def list_images(folder: str | os.PathLike, *, recursive: bool = False) -> list[Path]:
    """The image files of a folder, sorted by path; hidden files (and hidden folders) are skipped.

    Extensions are matched without regard to case (``.PNG`` counts). Raises :class:`DatasetError` when
    the folder does not exist or is not a folder.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DatasetError(
            f"The image folder {root} {what}.",
            "Check the path: a subset's image_dir (or --data) must be a folder that holds your images.",
        )
    # Plain strings until the end: sorting and filtering 10,000 Path objects costs more than reading them.
    if recursive:
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(os.path.join(dirpath, name) for name in filenames if _is_image_name(name))
    else:
        try:
            with os.scandir(root) as entries:
                found = [e.path for e in entries if _is_image_name(e.name) and e.is_file()]
        except PermissionError as error:
            raise DatasetError(
                f"lorakit may not read the folder {root} ({error.strerror}).",
                "Give your user read permission on it, or copy the images to a folder you own.",
            ) from error
    return [Path(p) for p in sorted(found)]


def read_image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) from the header, as a trainer sees the image (EXIF rotation applied)."""
    from PIL import Image

    with Image.open(path) as image:
        width, height = image.size
        orientation = None
        # Only when the header carried EXIF: for a PNG without it, getexif() would decode the whole picture
        # looking for a late eXIf chunk, which is what we avoid here.
        if "exif" in image.info:
            try:
                orientation = image.getexif().get(_EXIF_ORIENTATION)
            except Exception:  # a broken EXIF block does not make the picture unusable
                orientation = None
    if orientation in _ROTATED_ORIENTATIONS:
        width, height = height, width
    return width, height


def caption_paths(image_path: str | os.PathLike, caption_extension: str) -> list[str]:
    """Where sd-scripts looks for an image's caption, in order.

    ``name.jpg`` → ``name.txt``; and for face-crop file names ``base_cx_cy_w_h.jpg`` also ``base.txt``
    (sd-scripts ``DreamBoothDataset.read_caption``). Plain strings: this runs once per image.
    """
    extension = caption_extension if caption_extension.startswith(".") else "." + caption_extension
    stem = os.path.splitext(os.fspath(image_path))[0]
    paths = [stem + extension]
    folder, name = os.path.split(stem)
    tokens = name.split("_")
    if len(tokens) >= 5:
        paths.append(os.path.join(folder, "_".join(tokens[:-4]) + extension))
    return paths


def read_caption(image_path: str | os.PathLike, subset: ResolvedSubset) -> tuple[str, str]:
    """(caption, source) for an image, as sd-scripts reads it.

    The first line of the caption file, stripped (all non-empty lines joined by newlines when wildcards
    are on); without a caption file, the subset's class tokens. ``source`` is "file", "empty_file",
    "class_tokens" or "none". A caption file that is not UTF-8 raises :class:`UnicodeDecodeError`.
    """
    for candidate in caption_paths(image_path, subset.caption_extension):
        try:  # open directly (one system call, not a stat and an open); bytes, as a text wrapper costs more
            with open(candidate, "rb") as f:
                raw = f.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            continue
        # A byte-order mark (some Windows editors add one) would otherwise glue itself to the trigger word.
        lines = raw.decode("utf-8").removeprefix("\ufeff").splitlines()
        if subset.enable_wildcard:
            text = "\n".join(line.strip() for line in lines if line.strip())
        else:
            text = lines[0].strip() if lines else ""
        return text, ("file" if text else "empty_file")
    if subset.class_tokens is not None:
        return subset.class_tokens, "class_tokens"
    return "", "none"


def _scan_one(path: Path, subset: ResolvedSubset, cache: SizeCache) -> ScannedImage:
    try:
        size = cache.get_or_read(path, path.stat())
    except Exception as error:  # any decoder failure: the plan shows it instead of stopping
        return ScannedImage(path=path, error=_plain_error(path, error))
    try:
        caption, source = read_caption(path, subset)
    except UnicodeDecodeError:
        return ScannedImage(path=path, width=size[0], height=size[1], caption="", caption_source="not_utf8")
    except OSError:
        return ScannedImage(path=path, width=size[0], height=size[1], caption="", caption_source="unreadable")
    return ScannedImage(path=path, width=size[0], height=size[1], caption=caption, caption_source=source)


def _plain_error(path: Path, error: Exception) -> str:
    name = type(error).__name__
    if name == "UnidentifiedImageError":
        suffix = path.suffix.lower()
        if suffix in (".heic", ".heif", ".avif", ".jxl"):
            return f"Pillow cannot read {suffix} files here (install pillow-heif / pillow-avif / pillow-jxl)"
        return "not a picture Pillow can read (damaged, or a different format than its extension)"
    if name == "DecompressionBombError":
        return "too many pixels to open safely"
    return f"{name}: {error}"


def default_workers() -> int:
    # Header reads wait on the disk, not the CPU: more threads than cores pays off, most on network drives.
    return min(32, (os.cpu_count() or 2) * 4)


def scan_subset(
    subset: ResolvedSubset,
    *,
    recursive: bool = False,
    cache: SizeCache | None = None,
    workers: int | None = None,
) -> SubsetScan:
    """Scan one subset folder: every image's size and caption.

    Raises :class:`DatasetError` for a missing folder or one without images.
    """
    return scan_subsets([subset], recursive=recursive, cache=cache, workers=workers)[0]


def scan_subsets(
    subsets: Sequence[ResolvedSubset],
    *,
    recursive: bool = False,
    cache: SizeCache | None = None,
    workers: int | None = None,
    emitter: Emitter | None = None,
) -> list[SubsetScan]:
    """Scan several subsets with one thread pool; folder problems raise before any image is read.

    ``emitter`` gets ``progress`` events (done, total, unit="images") as chunks of images finish.
    """
    listed = [(subset, list_images(subset.image_dir, recursive=recursive)) for subset in subsets]
    for subset, paths in listed:
        if not paths:
            raise DatasetError(
                f"The folder {subset.image_dir} has no images ({', '.join(IMAGE_EXTENSIONS[:5])}, ...).",
                "Put your pictures in this folder, point image_dir at the folder that has them,"
                " or remove this subset.",
                field="image_dir",
            )
    cache = cache if cache is not None else _MEMORY_CACHE
    flat = [(subset, path) for subset, paths in listed for path in paths]
    workers = workers or default_workers()
    # Work in chunks: one task per image would spend more time handing out tasks than reading headers.
    size = max(16, min(256, len(flat) // (workers * 4) or 1))
    chunks = [flat[i : i + size] for i in range(0, len(flat), size)]
    results: list[ScannedImage] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for part in pool.map(lambda chunk: [_scan_one(path, subset, cache) for subset, path in chunk], chunks):
            results.extend(part)
            if emitter is not None:
                emitter.emit(PROGRESS, done=len(results), total=len(flat), unit="images", stage="scan")
    cache.save()
    scans, start = [], 0
    for subset, paths in listed:
        scans.append(_collect(subset, results[start : start + len(paths)]))
        start += len(paths)
    return scans


def _collect(subset: ResolvedSubset, results: list[ScannedImage]) -> SubsetScan:
    scan = SubsetScan(subset=subset)
    for image in results:
        (scan.images if image.readable else scan.unreadable).append(image)
    return scan


def split_for_validation(paths: Sequence[Path], share: float, seed: int) -> tuple[list[Path], list[Path]]:
    """(training, validation) images of a subset, as sd-scripts' ``split_train_val`` splits them.

    The sorted list is shuffled with ``random.seed(seed)``; training keeps the first
    ``ceil(n × (1 − share))``, validation the last ``round(n × share)`` (they can share one image when
    both round up, as in sd-scripts).
    """
    if share <= 0:
        return list(paths), []
    shuffled = list(paths)
    random.Random(seed).shuffle(shuffled)
    train = shuffled[: math.ceil(len(shuffled) * (1 - share))]
    held_out = shuffled[len(shuffled) - round(len(shuffled) * share) :]
    return train, held_out


def sample_dataset_path() -> Path:
    """The small sample dataset shipped with lorakit, as an sd-scripts style training folder.

    It holds one subset folder, ``10_kitbot`` (10 repeats, trigger word ``kitbot``), so
    ``subsets_from_train_dir(sample_dataset_path())`` gives its subset.
    """
    return Path(__file__).resolve().parent.parent / "sample_data"
