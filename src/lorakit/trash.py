"""A restorable trash: "delete" moves files into a folder and remembers where they came from.

Nothing is ever deleted by :meth:`Trash.move`; only :meth:`Trash.empty` removes files, and only those
trashed before a given age. The manifest (``manifest.json`` in the trash folder) is written atomically
after every change, so a crash leaves either the old or the new list, never a half-written one.

The manifest is trusted only so far: the web API never writes inside the trash folder (it is one of
lorakit's internal folders), and every record is checked when it is read: a plain id (no separators),
a plain name, an absolute original path (inside ``root`` when one is given). Records that fail are
ignored, so a crafted manifest cannot make restore or empty touch anything outside the trash.

Layout::

    <trash>/manifest.json
    <trash>/items/<id>/<original file or folder name>
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from lorakit.errors import PathError
from lorakit.fileio import atomic_write_text, is_inside, read_inside

MANIFEST = "manifest.json"
ITEM_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
log = logging.getLogger(__name__)


def _plain(name) -> bool:
    """A file name without folders: what a trashed item's name must be."""
    return isinstance(name, str) and name not in ("", ".", "..") and not set(name) & set("/\\\0")


@dataclass(frozen=True)
class TrashItem:
    """One trashed file or folder."""

    id: str
    original_path: str
    trashed_at: float  # unix time
    name: str = ""  # the file name, as stored inside the item's folder
    is_dir: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


class Trash:
    """A trash folder. Safe to share between threads of one process (one lock per instance)."""

    def __init__(self, folder: str | os.PathLike, root: str | os.PathLike | None = None):
        """``root``: the folder files are restored into (the workspace); original paths outside it are refused."""
        self.folder = Path(folder).expanduser()
        self.root = Path(root).expanduser().resolve() if root is not None else None
        if self.root is not None and not is_inside(self.folder.resolve(), self.root):
            raise PathError(
                f"The trash folder {self.folder.name} leads outside {self.root}.",
                "Replace the link with a plain folder called trash.",
            )
        self._lock = threading.Lock()

    # -- manifest -------------------------------------------------------------------------------------
    def _read(self) -> dict[str, TrashItem]:
        path = self.folder / MANIFEST
        if not path.exists() and not path.is_symlink():
            return {}
        raw = json.loads(read_inside(path, self.folder.resolve()).decode("utf-8") or "{}")
        items = {}
        for key, value in (raw.get("items", {}) if isinstance(raw, dict) else {}).items():
            item = self._checked(key, value)
            if item is None:
                log.warning("trash manifest: ignoring the record %.100r, which lorakit did not write", key)
            else:
                items[key] = item
        return items

    def _checked(self, key: str, value) -> TrashItem | None:
        """A manifest record as a TrashItem, or None when it is not one lorakit could have written."""
        try:
            item = TrashItem(**value)
        except TypeError:
            return None
        if key != item.id or not isinstance(item.id, str) or not ITEM_ID.match(item.id) or not _plain(item.name):
            return None
        original = item.original_path
        if not isinstance(original, str) or "\0" in original or not os.path.isabs(original):
            return None
        if self.root is not None and not is_inside(os.path.normpath(original), self.root):
            return None
        if not isinstance(item.trashed_at, int | float):
            return None
        return item

    def _write(self, items: dict[str, TrashItem]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "items": {key: item.to_dict() for key, item in items.items()}}
        atomic_write_text(self.folder / MANIFEST, json.dumps(data, indent=1, ensure_ascii=False))

    # -- operations -----------------------------------------------------------------------------------
    def move(self, path: str | os.PathLike) -> TrashItem:
        """Move a file or folder into the trash and return its record (use ``item.id`` to restore it)."""
        source = Path(path).expanduser()
        if not source.exists() and not source.is_symlink():
            raise PathError(f"Cannot move {source} to the trash: it does not exist.", "Check the path.")
        source = source.parent.resolve() / source.name
        if self.folder.resolve() in (source, *source.parents):
            raise PathError(f"{source} is inside the trash itself.", "Restore it or empty the trash instead.")
        with self._lock:
            items = self._read()
            item_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
            home = self.folder / "items" / item_id
            home.mkdir(parents=True, exist_ok=False)
            item = TrashItem(
                id=item_id,
                original_path=str(source),
                trashed_at=time.time(),
                name=source.name,
                is_dir=source.is_dir() and not source.is_symlink(),
            )
            # Record first, then move: a crash in between leaves an entry whose file is still in place,
            # which list() shows as missing and restore() reports; the reverse order could lose track.
            items[item_id] = item
            self._write(items)
            try:
                shutil.move(str(source), str(home / source.name))
            except BaseException:
                items.pop(item_id)
                self._write(items)
                shutil.rmtree(home, ignore_errors=True)
                raise
            return item

    def list(self) -> list[TrashItem]:
        """Trashed items, newest first."""
        with self._lock:
            return sorted(self._read().values(), key=lambda item: item.trashed_at, reverse=True)

    def get(self, item_id: str) -> TrashItem:
        items = self._read()
        if item_id not in items:
            raise PathError(f"There is no item {item_id!r} in the trash.", "List the trash to see what it holds.")
        return items[item_id]

    def stored_path(self, item: TrashItem) -> Path:
        """Where the trashed file lies now."""
        return self.folder / "items" / item.id / item.name

    def restore(self, item_id: str, to: str | os.PathLike | None = None) -> Path:
        """Put an item back where it was (or at ``to``). Refuses to overwrite anything that exists there."""
        with self._lock:
            items = self._read()
            if item_id not in items:
                raise PathError(f"There is no item {item_id!r} in the trash.", "List the trash to see what it holds.")
            item = items[item_id]
            target = Path(to).expanduser() if to else Path(item.original_path)
            if target.exists() or target.is_symlink():
                raise PathError(
                    f"Cannot restore {item.name}: {target} already exists.",
                    "Move or rename the file that is there now, or restore to another place.",
                )
            stored = self.stored_path(item)
            if stored.parent.is_symlink() or not is_inside(stored.parent.resolve(), (self.folder / "items").resolve()):
                raise PathError(f"The trashed copy of {item.name} is not in the trash.", "Nothing can be restored.")
            if not stored.exists() and not stored.is_symlink():
                raise PathError(
                    f"The trashed copy of {item.name} is missing from {stored.parent}.",
                    "It may have been removed by hand; nothing can be restored for this item.",
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(stored), str(target))
            items.pop(item_id)
            self._write(items)
            shutil.rmtree(stored.parent, ignore_errors=True)
            return target

    def empty(self, older_than: float | None = None) -> list[TrashItem]:
        """Delete for good the items trashed more than ``older_than`` seconds ago (all when None)."""
        now = time.time()
        with self._lock:
            items = self._read()
            removed = [item for item in items.values() if older_than is None or now - item.trashed_at > older_than]
            for item in removed:
                shutil.rmtree(self.folder / "items" / item.id, ignore_errors=True)
                items.pop(item.id)
            self._write(items)
            return removed
