"""A restorable trash: "delete" moves files into a folder and remembers where they came from.

Nothing is ever deleted by :meth:`Trash.move`; only :meth:`Trash.empty` removes files, and only those
trashed before a given age. The manifest (``manifest.json`` in the trash folder) is written atomically
after every change, so a crash leaves either the old or the new list, never a half-written one.

Layout::

    <trash>/manifest.json
    <trash>/items/<id>/<original file or folder name>
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from lorakit.errors import PathError
from lorakit.fileio import atomic_write_text

MANIFEST = "manifest.json"


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

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder).expanduser()
        self._lock = threading.Lock()

    # -- manifest -------------------------------------------------------------------------------------
    def _read(self) -> dict[str, TrashItem]:
        path = self.folder / MANIFEST
        if not path.exists():
            return {}
        raw = json.loads(path.read_text(encoding="utf-8") or "{}")
        return {key: TrashItem(**value) for key, value in raw.get("items", {}).items()}

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
