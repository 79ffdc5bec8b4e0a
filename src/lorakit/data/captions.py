"""Caption sidecar files (``image.png`` → ``image.txt``): read, write, and notice edits made elsewhere.

Every read returns a *version* (a hash of the file's bytes, or ``"missing"``). A write may pass the
version it read; if the file changed in between (another program, another browser tab), the write is
refused with :class:`CaptionConflictError` instead of silently losing that edit. A content hash is used
rather than mtime because two saves within one filesystem tick share an mtime.

Captions are UTF-8. A file in another encoding is reported with :class:`CaptionEncodingError` (naming the
likely encoding), never decoded with replacement characters that a later save would make permanent.
"""

from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from lorakit.errors import DatasetError
from lorakit.fileio import atomic_write_bytes, open_inside, read_fd

CAPTION_EXTENSION = ".txt"
MISSING = "missing"
_BOM = b"\xef\xbb\xbf"
_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


class CaptionEncodingError(DatasetError):
    """A caption file is not UTF-8."""

    code = "caption_encoding"

    def __init__(self, path: Path, encoding: str):
        super().__init__(
            f"The caption {path.name} is not UTF-8 text (it looks like {encoding}).",
            "Re-save the file as UTF-8 in a text editor, or run:"
            f" lorakit dataset check {shlex.quote(str(path.parent))} --fix captions-to-utf8",
        )
        self.path = path
        self.encoding = encoding


class CaptionConflictError(DatasetError):
    """A caption changed on disk after it was read; writing would lose that change."""

    code = "caption_conflict"

    def __init__(self, path: Path):
        super().__init__(
            f"The caption {path.name} was changed by another program or window since it was opened.",
            "Reload the caption to see the new text, then make your edit again.",
        )
        self.path = path


@dataclass(frozen=True)
class Caption:
    """A caption as read from disk."""

    path: Path
    text: str
    version: str

    @property
    def exists(self) -> bool:
        return self.version != MISSING


def caption_path_for(image: str | os.PathLike, extension: str = CAPTION_EXTENSION) -> Path:
    """The sidecar of an image: same folder, same stem, ``extension`` (``.txt`` unless configured)."""
    p = image if isinstance(image, Path) else Path(image)
    return p.with_name(p.stem + extension)


def version_of(data: bytes | None) -> str:
    """The version string of a caption's bytes (``"missing"`` for no file)."""
    return MISSING if data is None else hashlib.blake2b(data, digest_size=12).hexdigest()


def read_bytes(path: str | os.PathLike, inside: str | os.PathLike | None = None) -> bytes | None:
    """The file's bytes, or None when it does not exist.

    With ``inside`` (the dataset or workspace folder), a caption that is a link leading out of it, or not
    a regular file, is refused with a PathError (checked on the open file: see :func:`open_inside`).
    """
    # os-level calls: a buffered file object per caption is a third of a 10,000-caption bulk edit.
    try:
        fd = os.open(path, os.O_RDONLY | _BINARY) if inside is None else open_inside(path, inside)
    except FileNotFoundError:
        return None
    return read_fd(fd)


def guess_encoding(data: bytes) -> str:
    """A best guess at a non-UTF-8 caption's encoding (for the message and the conversion fix)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def decode_caption(data: bytes, path: Path) -> str:
    """UTF-8 (a leading byte-order mark is dropped) or :class:`CaptionEncodingError`."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise CaptionEncodingError(path, guess_encoding(data)) from None


def read_caption(path: str | os.PathLike, inside: str | os.PathLike | None = None) -> Caption:
    """Read a caption file (the ``.txt`` path itself). A missing file reads as empty text, version ``missing``.

    ``inside``: refuse a caption that leads out of that folder (see :func:`read_bytes`).
    """
    p = path if isinstance(path, Path) else Path(path)
    data = read_bytes(p, inside)
    if data is None:
        return Caption(p, "", MISSING)
    return Caption(p, decode_caption(data, p), version_of(data))


def encode_caption(text: str) -> bytes:
    return text.encode("utf-8")


def write_caption(
    path: str | os.PathLike, text: str, *, expected_version: str | None = None, inside: str | os.PathLike | None = None
) -> str:
    """Write a caption atomically; returns its new version.

    With ``expected_version`` (from :func:`read_caption`), refuses with :class:`CaptionConflictError` when
    the file changed since. Use :meth:`lorakit.data.journal.Journal.write` for undoable edits.
    """
    p = Path(path)
    if expected_version is not None and version_of(read_bytes(p, inside)) != expected_version:
        raise CaptionConflictError(p)
    data = encode_caption(text)
    atomic_write_bytes(p, data, inside=inside)
    return version_of(data)


def overwrite_in_place(path: Path, data: bytes, inside: str | os.PathLike | None = None) -> None:
    """Write ``data`` over the file without a temp file and rename, for journaled bulk edits.

    Renaming over an existing file makes ext4 flush it at once (``auto_da_alloc``), about 1 ms a file:
    10 s for 10,000 captions. Writing over the old bytes and then cutting the file to the new length
    costs ~30 µs and never leaves the file empty. Not atomic on a crash, which is why callers write
    the old bytes to a durable journal first (see :mod:`lorakit.data.journal`) and sync once at the end.
    With ``inside``, a file (or a dangling link) leading out of that folder is refused before any byte
    is written.
    """
    if inside is not None:
        fd = open_inside(path, inside, write=True, create=True)
    else:
        try:
            fd = os.open(path, os.O_WRONLY | _BINARY)
        except FileNotFoundError:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def sync_files(paths: list[Path]) -> None:
    """Flush written files to disk: one ``sync()`` where the OS has it (POSIX), else one fsync per file."""
    if not paths:
        return
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in paths:  # Windows: no sync(); fsync needs a handle opened for writing there
        with open(path, "r+b") as f:
            os.fsync(f.fileno())
