"""Undo for caption edits: every bulk edit is written down (old bytes of every file it changes) first.

The journal lives in ``<dataset>/.lorakit/journal/``, one JSON file per edit. An entry is made durable
*before* any caption changes (state ``writing``) and marked ``done`` after the files are synced, so a
crash mid-edit can still be undone, half-written files included. That is what lets bulk edits write
captions in place (fast) instead of one temp file and rename per caption (slow on ext4).
:meth:`Journal.undo` puts the old bytes back byte for byte (or removes a caption the edit created). A
file changed again after the edit (by hand, by another tool) is not overwritten: undo reports it as a
conflict unless forced.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.captions import (
    encode_caption,
    overwrite_in_place,
    read_bytes,
    sync_files,
    version_of,
)
from lorakit.errors import DatasetError
from lorakit.fileio import atomic_write_text

JOURNAL_FOLDER = Path(".lorakit") / "journal"
KEEP_ENTRIES = 200  # older edits are forgotten (a caption editor saving every keystroke must not fill a disk)


@dataclass
class JournalEntry:
    """One recorded edit."""

    id: str
    time: float
    description: str
    files: list[dict] = field(default_factory=list)  # {path, old (base64|None), new_version}
    state: str = "done"  # "writing" until every file of the edit is on disk

    @property
    def count(self) -> int:
        return len(self.files)

    def summary(self) -> dict:
        return {"id": self.id, "time": self.time, "description": self.description, "files": self.count}


@dataclass
class EditResult:
    """What :meth:`Journal.write` changed."""

    entry: JournalEntry | None
    changed: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)  # changed on disk since read: left alone

    def to_dict(self) -> dict:
        return {
            "journal_id": self.entry.id if self.entry else None,
            "changed": [str(p) for p in self.changed],
            "conflicts": [str(p) for p in self.conflicts],
        }


@dataclass
class UndoResult:
    entry: JournalEntry
    restored: list[Path] = field(default_factory=list)
    conflicts: list[Path] = field(default_factory=list)


def _new_id(now: float) -> str:
    """Sortable by name in time order (pruning relies on it), nanoseconds included, unique."""
    return (
        time.strftime("%Y%m%d-%H%M%S-", time.localtime(now)) + f"{int(now * 1e9) % 10**9:09d}-{uuid.uuid4().hex[:4]}"
    )


class Journal:
    """The edit journal of one dataset folder."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().resolve()
        self.folder = self.root / JOURNAL_FOLDER
        self._lock = threading.Lock()
        # Both spellings of the root: as given (may hold a symlink) and resolved. String prefixes avoid a
        # realpath() per file, which dominated a 10,000-caption edit.
        self._prefixes = {os.path.abspath(Path(root).expanduser()) + os.sep, str(self.root) + os.sep}

    def _relative(self, path: Path) -> str:
        absolute = os.path.abspath(path)
        for prefix in self._prefixes:
            if absolute.startswith(prefix):
                return absolute[len(prefix) :].replace(os.sep, "/")
        resolved = os.path.realpath(path)
        if resolved.startswith(str(self.root) + os.sep):
            return resolved[len(str(self.root)) + 1 :].replace(os.sep, "/")
        raise DatasetError(
            f"{path} is outside the dataset folder {self.root}.",
            "Edit captions of one dataset at a time.",
        )

    def write(
        self,
        description: str,
        new_texts: dict[Path, str],
        expected_versions: dict[Path, str] | None = None,
    ) -> EditResult:
        """Write captions as one undoable edit.

        ``new_texts`` maps caption paths to their new text; unchanged ones are skipped. A path whose current
        version differs from ``expected_versions[path]`` (changed since read) is left alone and reported.
        """
        expected_versions = expected_versions or {}
        with self._lock:
            plan: list[tuple[Path, bytes | None, bytes]] = []
            conflicts = []
            for path, text in new_texts.items():
                path = path if isinstance(path, Path) else Path(path)
                old = read_bytes(path)
                want = expected_versions.get(path)
                if want is not None and version_of(old) != want:
                    conflicts.append(path)
                    continue
                new = encode_caption(text)
                if old != new:
                    plan.append((path, old, new))
            if not plan:
                return EditResult(None, [], conflicts)
            now = time.time()
            entry = JournalEntry(
                id=_new_id(now),
                time=now,
                description=description,
                files=[
                    {
                        "path": self._relative(path),
                        "old": None if old is None else base64.b64encode(old).decode("ascii"),
                        "new_version": version_of(new),
                    }
                    for path, old, new in plan
                ],
            )
            # Durable before the first caption changes ("writing"), marked "done" once every file is synced:
            # after a crash in between, undo knows half-written files are ours and restores them.
            self._save(entry, "writing")
            for path, _, new in plan:
                overwrite_in_place(path, new)
            sync_files([path for path, _, _ in plan])
            self._save(entry, "done")
            self._prune()
            return EditResult(entry, [path for path, _, _ in plan], conflicts)

    def _save(self, entry: JournalEntry, state: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        entry.state = state
        data = {
            "id": entry.id,
            "time": entry.time,
            "description": entry.description,
            "state": state,
            "files": entry.files,
        }
        atomic_write_text(self.folder / f"{entry.id}.json", json.dumps(data, ensure_ascii=False))

    def _prune(self) -> None:
        names = sorted(p.name for p in self.folder.glob("*.json"))  # ids start with a timestamp
        for name in names[:-KEEP_ENTRIES]:
            (self.folder / name).unlink(missing_ok=True)

    def entries(self) -> list[JournalEntry]:
        """Recorded edits, newest first."""
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            try:
                raw = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue  # a half-written entry (crash while journaling): nothing was changed yet
            found.append(
                JournalEntry(
                    raw["id"], raw["time"], raw.get("description", ""), raw.get("files", []), raw.get("state", "done")
                )
            )
        return sorted(found, key=lambda e: (e.time, e.id), reverse=True)

    def undo(self, count: int = 1, *, force: bool = False) -> list[UndoResult]:
        """Undo the last ``count`` edits, newest first, restoring every caption byte for byte.

        A caption changed again since the edit is a conflict: left as it is (and the entry kept) unless
        ``force``. Stops at the first entry with conflicts so edits are never undone out of order.
        """
        results = []
        with self._lock:
            for entry in self.entries()[:count]:
                result = self._undo_one(entry, force)
                results.append(result)
                if result.conflicts and not force:
                    break
        return results

    def _undo_one(self, entry: JournalEntry, force: bool) -> UndoResult:
        result = UndoResult(entry)
        actions: list[tuple[Path, bytes | None]] = []
        for item in entry.files:
            path = self.root / item["path"]
            old = None if item["old"] is None else base64.b64decode(item["old"])
            current = version_of(read_bytes(path))
            if current == version_of(old):
                continue  # already as before (the edit never reached this file)
            # An edit or undo interrupted mid-write may have left a file half-written: that is ours too.
            if current != item["new_version"] and not force and entry.state == "done":
                result.conflicts.append(path)
                continue
            actions.append((path, old))
        if result.conflicts:
            return result
        self._save(entry, "undoing")  # a crash mid-undo: the next undo restores the rest without asking
        written = []
        for path, old in actions:
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                overwrite_in_place(path, old)
                written.append(path)
            result.restored.append(path)
        sync_files(written)
        (self.folder / f"{entry.id}.json").unlink(missing_ok=True)
        return result
