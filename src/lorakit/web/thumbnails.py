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

    Besides the paths, :meth:`entries` keeps each image's dataset-relative name and caption path, made
    once per listing: building paths is most of the cost of a page of 200 otherwise.
    """

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[tuple, list[Path], list[str]]] = {}
        self._entries: dict[Path, tuple[list[Path], list[tuple[str, Path]]]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _stamps(folders: list[str]) -> tuple:
        stamps = []
        for folder in folders:
            try:
                stamps.append(os.stat(folder).st_mtime_ns)
            except OSError:
                stamps.append(None)
        return tuple(stamps)

    def images(self, root: Path) -> list[Path]:
        from lorakit.data.images import list_images

        with self._lock:
            cached = self._cache.get(root)
        if cached is not None:
            stamps, images, folders = cached
            if stamps == self._stamps(folders):
                return images
        # Every folder is watched, with or without images: a new image changes its own folder's time.
        folders = []
        for dirpath, dirnames, _ in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            folders.append(dirpath)
        stamps = self._stamps(folders)
        images = list_images(root)
        with self._lock:
            self._cache[root] = (stamps, images, folders)
        return images

    def entries(self, root: Path) -> list[tuple[str, Path]]:
        """``(dataset-relative image name, caption path)`` of each image, in listing order."""
        from lorakit.data.captions import caption_path_for

        images = self.images(root)
        with self._lock:
            cached = self._entries.get(root)
            if cached is not None and cached[0] is images:
                return cached[1]
        prefix = len(str(root)) + 1
        entries = [(str(image)[prefix:], caption_path_for(image)) for image in images]
        with self._lock:
            self._entries[root] = (images, entries)
        return entries
