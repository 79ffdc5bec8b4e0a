"""Dataset thumbnails cached on disk, and a cached image listing per dataset folder.

A thumbnail's cache name comes from the image's path, size and modification time, so an edited image
gets a new thumbnail and the old one is simply never asked for again. The listing of a dataset is kept
until the modification time of one of its folders changes (adding, removing or renaming an image
changes its folder's time), so paging through 10,000 images does not walk the folder each time.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

from lorakit.fileio import atomic_open


def thumbnail(image: Path, cache: Path, size: int) -> Path:
    """The cached WebP thumbnail of ``image`` (made on first use; at most ``size`` pixels on its long side)."""
    stat = image.stat()
    key = hashlib.blake2b(f"{image}|{stat.st_size}|{stat.st_mtime_ns}|{size}".encode(), digest_size=16).hexdigest()
    path = cache / key[:2] / f"{key}.webp"
    if path.exists():
        return path
    from lorakit.data.images import load_rgb

    img = load_rgb(image)  # safe open: size limits, EXIF orientation, any mode to RGB
    img.thumbnail((size, size))
    with atomic_open(path, "wb") as f:
        img.save(f, format="WEBP", quality=80, method=2)
    return path


class ImageListing:
    """Sorted image paths of dataset folders, re-listed only when one of their folders changed.

    One walk gives both the images and the folders to watch. Requests that arrive while a dataset is
    being listed wait for that listing instead of walking the same folders again (the Datasets page asks
    for the dataset list and the first page of images at the same moment). Besides the paths,
    :meth:`entries` keeps each image's dataset-relative name and caption path, made once per listing.
    """

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple, list[str], list[str]]] = {}
        self._entries: dict[Path, tuple[list[str], list[tuple[str, str]]]] = {}
        self._lock = threading.Lock()
        self._listing: dict[Path, threading.Lock] = {}  # one per dataset: a single walk at a time

    @staticmethod
    def _stamps(folders: list[str]) -> tuple:
        stamps = []
        for folder in folders:
            try:
                stamps.append(os.stat(folder).st_mtime_ns)
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def _fresh(self, root: Path) -> list[str] | None:
        with self._lock:
            cached = self._cache.get(root)
        if cached is not None and cached[0] == self._stamps(cached[2]):
            return cached[1]
        return None

    def images(self, root: Path) -> list[str]:
        """The dataset's image paths as :func:`lorakit.data.images.list_images` lists them (same order), as
        strings: 10,000 Path objects cost more than the walk itself."""
        images = self._fresh(root)
        if images is not None:
            return images
        with self._lock:
            gate = self._listing.setdefault(root, threading.Lock())
        with gate:
            images = self._fresh(root)  # listed by the request this one waited for
            if images is not None:
                return images
            folders, images = _walk(root)
            stamps = self._stamps(folders)
            with self._lock:
                self._cache[root] = (stamps, images, folders)
            return images

    def entries(self, root: Path) -> list[tuple[str, str]]:
        """``(dataset-relative image name, caption path)`` of each image, in listing order."""
        from lorakit.data.captions import CAPTION_EXTENSION

        images = self.images(root)
        with self._lock:
            cached = self._entries.get(root)
            if cached is not None and cached[0] is images:
                return cached[1]
        prefix = len(str(root)) + 1
        entries = []
        splitext = os.path.splitext
        for image in images:  # caption_path_for(image): same folder, same stem, .txt
            entries.append((image[prefix:], splitext(image)[0] + CAPTION_EXTENSION))
        with self._lock:
            self._entries[root] = (images, entries)
        return entries


def _walk(root: Path) -> tuple[list[str], list[str]]:
    """Every folder under ``root`` (watched, with or without images: a new image changes its own folder's
    time) and the images in them, sorted as ``list_images`` sorts them (by path components)."""
    from lorakit.config.dataset import IMAGE_EXTENSIONS

    folders: list[str] = []
    found: list[str] = []
    splitext = os.path.splitext
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        folders.append(dirpath)
        prefix = dirpath + os.sep
        found.extend(
            prefix + name
            for name in filenames
            if not name.startswith(".") and splitext(name)[1].lower() in IMAGE_EXTENSIONS
        )
    found.sort(key=lambda path: path.split(os.sep))  # Path ordering on POSIX: component by component
    return folders, found
