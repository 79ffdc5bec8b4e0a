"""Undo for caption edits: every bulk edit is written down (old bytes of every file it changes) first.

The journal lives in ``<dataset>/.lorakit/journal/``, one JSON file per edit. An entry is made durable
*before* any caption changes and marked done (a small ``.done`` summary) after the files are synced, so a
crash mid-edit can still be undone, half-written files included. That is what lets bulk edits write
captions in place (fast) instead of one temp file and rename per caption (slow on ext4).
:meth:`Journal.undo` puts the old bytes back byte for byte (or removes a caption the edit created). A
file changed again after the edit (by hand, by another tool) is not overwritten: undo reports it as a
conflict unless forced.

The journal is trusted only so far: it lives in a ``.lorakit`` folder that the web API never writes
(see :data:`lorakit.workspace.INTERNAL_PREFIX`), a ``.lorakit`` or ``journal`` folder that is a link is
refused, and every entry is checked when it is read (ids plain, paths relative and inside the dataset,
not lorakit's own files, old bytes valid base64): a crafted entry cannot make undo touch anything else.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
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
from lorakit.errors import DatasetError, LorakitError
from lorakit.fileio import atomic_write_text, is_inside, read_inside

JOURNAL_FOLDER = Path(".lorakit") / "journal"
ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
KEEP_ENTRIES = 200  # older edits are forgotten (a caption editor saving every keystroke must not fill a disk)


@dataclass
class JournalEntry:
    """One recorded edit. ``files`` (the old bytes) is read from disk only when an undo needs it."""

    id: str
    time: float
    description: str
    count: int
    state: str = "done"  # "writing" until every file of the edit is on disk (or while it is being undone)
    files: list[dict] | None = field(default=None, repr=False)  # {path, old (base64|None), new_version}

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


def _plain_relative(rel: str) -> bool:
    """A relative POSIX path with no empty, ``.``, ``..`` or ``.lorakit...`` part, no backslash or NUL."""
    if not rel or rel[0] in "/~" or "\\" in rel or "\0" in rel or (len(rel) > 1 and rel[1] == ":"):
        return False
    return not any(part in ("", ".", "..") or part.startswith(".lorakit") for part in rel.split("/"))


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
        text = str(path)
        if os.sep + "." not in text:  # no "." or ".." parts: a plain prefix test is enough
            for prefix in self._prefixes:
                if text.startswith(prefix):
                    return text[len(prefix) :].replace(os.sep, "/")
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
                old = read_bytes(path, self.root)
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
            files = [
                {
                    "path": self._relative(path),
                    "old": None if old is None else base64.b64encode(old).decode("ascii"),
                    "new_version": version_of(new),
                }
                for path, old, new in plan
            ]
            entry = JournalEntry(_new_id(now), now, description, len(files), "writing", files)
            # The entry (with every old byte) is durable before the first caption changes; a small ".done"
            # summary marks it complete once the files are synced. After a crash in between, undo knows
            # half-written files are ours and restores them without asking.
            self._check_folder()
            self.folder.mkdir(parents=True, exist_ok=True)
            self._check_folder()
            record = json.dumps(self._record(entry), ensure_ascii=False)
            atomic_write_text(self._file(entry.id, ".json"), record, inside=self.folder)
            for path, _, new in plan:
                overwrite_in_place(path, new, self.root)
            sync_files([path for path, _, _ in plan])
            self._mark_done(entry)
            self._prune()
            return EditResult(entry, [path for path, _, _ in plan], conflicts)

    def _file(self, entry_id: str, suffix: str) -> Path:
        if not ENTRY_ID.match(entry_id):
            raise self._damaged(entry_id, "its id is not a plain name")
        return self.folder / f"{entry_id}{suffix}"

    def _check_folder(self) -> None:
        """Refuse a journal folder that is (or passes through) a link: its entries would be someone else's."""
        for folder in (self.root / JOURNAL_FOLDER.parent, self.folder):
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise DatasetError(
                    f"The undo journal folder {folder.name} of {self.root.name} is a link or a file, not a folder.",
                    f"Remove {folder.relative_to(self.root)} from the dataset folder; lorakit makes a new one.",
                )

    def _damaged(self, entry_id: str, why: str) -> DatasetError:
        shown = entry_id.encode("unicode_escape").decode()[:100]
        return DatasetError(
            f"The undo journal entry {shown!r} of {self.root.name} cannot be used: {why}.",
            "Delete that entry from the dataset's .lorakit/journal folder; it was not written by lorakit.",
        )

    def _read_record(self, path: Path) -> dict:
        return json.loads(read_inside(path, self.folder).decode("utf-8"))

    def _checked_files(self, entry_id: str, files) -> list[dict]:
        """An entry's files, each checked: relative path inside the dataset, not lorakit's own, valid bytes."""
        if not isinstance(files, list):
            raise self._damaged(entry_id, "its file list is not a list")
        checked = []
        for item in files:
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise self._damaged(entry_id, "a file in it has no path")
            rel = item["path"]
            # Checked by its text here (10,000 realpaths would be most of an undo); where it really leads is
            # checked on each open file (open_inside) and, for a removal, on its folder.
            if not _plain_relative(rel):
                raise self._damaged(entry_id, f"the path {rel[:200]!r} is not a caption inside the dataset")
            old = item.get("old")
            if old is not None:
                if not isinstance(old, str):
                    raise self._damaged(entry_id, "its old text is not base64")
                try:
                    base64.b64decode(old, validate=True)
                except (binascii.Error, ValueError):
                    raise self._damaged(entry_id, "its old text is not base64") from None
            if not isinstance(item.get("new_version"), str):
                raise self._damaged(entry_id, "a file in it has no version")
            checked.append({"path": rel, "old": old, "new_version": item["new_version"]})
        return checked

    @staticmethod
    def _record(entry: JournalEntry) -> dict:
        return {"id": entry.id, "time": entry.time, "description": entry.description, "files": entry.files}

    def _mark_done(self, entry: JournalEntry) -> None:
        entry.state = "done"
        summary = json.dumps(entry.summary(), ensure_ascii=False)
        atomic_write_text(self._file(entry.id, ".done"), summary, inside=self.folder)

    def _prune(self) -> None:
        names = sorted(p.stem for p in self.folder.glob("*.json") if ENTRY_ID.match(p.stem))  # timestamp first
        for entry_id in names[:-KEEP_ENTRIES]:
            self._forget(entry_id)

    def _forget(self, entry_id: str) -> None:
        self._file(entry_id, ".done").unlink(missing_ok=True)
        self._file(entry_id, ".json").unlink(missing_ok=True)

    def entries(self) -> list[JournalEntry]:
        """Recorded edits, newest first (summaries: the old bytes are read only for an undo)."""
        self._check_folder()
        if not self.folder.is_dir():
            return []
        found = []
        for path in self.folder.glob("*.json"):
            try:
                done = self._file(path.stem, ".done")
                if done.exists() or done.is_symlink():
                    raw = self._read_record(done)
                    entry = JournalEntry(path.stem, float(raw["time"]), str(raw["description"]), int(raw["files"]))
                else:
                    raw = self._read_record(path)
                    files = self._checked_files(path.stem, raw["files"])
                    entry = JournalEntry(path.stem, float(raw["time"]), str(raw["description"]), len(files))
                    entry.state, entry.files = "writing", files
                found.append(entry)
            except (OSError, ValueError, KeyError, TypeError, LorakitError):
                # A half-written entry (crash while journaling: nothing was changed yet), or one that is not
                # lorakit's (a link, a damaged or crafted file): never undone.
                continue
        return sorted(found, key=lambda e: (e.time, e.id), reverse=True)

    def _files(self, entry: JournalEntry) -> list[dict]:
        if entry.files is None:
            raw = self._read_record(self._file(entry.id, ".json"))
            entry.files = self._checked_files(entry.id, raw.get("files") if isinstance(raw, dict) else None)
        return entry.files

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
        for item in self._files(entry):
            path = self.root / item["path"]  # checked by _checked_files: relative, inside, not internal
            old = None if item["old"] is None else base64.b64decode(item["old"])
            current = version_of(read_bytes(path, self.root))
            if current == version_of(old):
                continue  # already as before (the edit never reached this file)
            # An edit or undo interrupted mid-write may have left a file half-written: that is ours too.
            if current != item["new_version"] and not force and entry.state == "done":
                result.conflicts.append(path)
                continue
            if old is None and not is_inside(os.path.realpath(path.parent), self.root):
                # A caption the edit created is removed only when its folder really lies in the dataset.
                raise self._damaged(entry.id, f"{path.name} is in a folder that leads outside the dataset")
            actions.append((path, old))
        if result.conflicts:
            return result
        # Without its ".done" mark the entry counts as unfinished: a crash mid-undo, and the next undo
        # restores the rest without asking.
        self._file(entry.id, ".done").unlink(missing_ok=True)
        written = []
        for path, old in actions:
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                overwrite_in_place(path, old, self.root)
                written.append(path)
            result.restored.append(path)
        sync_files(written)
        self._forget(entry.id)
        return result
