"""Atomic file writes: a temp file in the same folder, fsync, then rename over the target.

A crash or a full disk mid-write leaves the old file intact, never a half-written one.

Modes: a new file gets the mode any program would give it (0666 less the umask, usually 0644), so
ComfyUI or A1111 running as another user can read a LoRA, a config or a run's files. A file that is
replaced keeps its mode. Secrets (tokens, credentials) are written with ``private=True``: owner-only
(0600) from the first byte.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

PRIVATE_MODE = 0o600
# Errors that mean "no room to write": stop at once (every further write fails the same way) and say so.
DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_umask_lock = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux), else set and restored."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _umask_lock:  # os.umask can only be read by setting it: restore it at once
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_file_mode() -> int:
    """The mode ``open(path, 'w')`` would give a new file: 0666 less the umask."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    private: bool = False,
    durable: bool = True,
) -> Iterator[IO]:
    """Open a temp file next to ``path``; on a clean exit it replaces ``path`` atomically.

    ``private``: the file is owner-only (0600), also when it replaces a file that was readable by others.
    ``durable=False`` skips the fsync (bulk copies whose source still exists: a crash means "run it again").
    On any error, a full disk included, the temp file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the temp file 0600, so a secret is never readable by others, not even mid-write.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if private:
            final_mode = PRIVATE_MODE
        else:
            try:
                # Keep the permissions of the file we replace (e.g. owner-only settings).
                final_mode = target.stat().st_mode & 0o7777
            except FileNotFoundError:
                final_mode = default_file_mode()
        os.chmod(tmp, final_mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, private: bool = False) -> None:
    with atomic_open(path, "wb", private=private) as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8", *, private: bool = False) -> None:
    with atomic_open(path, "w", encoding=encoding, private=private) as f:
        f.write(text)


def _copy_stream(source: IO, target: IO) -> None:
    shutil.copyfileobj(source, target, 1024 * 1024)


def atomic_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Copy a file's bytes and times to ``target``, all or nothing: never a truncated or 0-byte file.

    The copy gets the mode a new file gets (umask), not the source's: a private download stays readable
    by the programs that use the dataset.
    """
    with open(source, "rb") as src, atomic_open(target, "wb", durable=False) as out:
        _copy_stream(src, out)
    st = os.stat(source)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))


def is_disk_full(error: BaseException) -> bool:
    """True for "no space left on device", "disk quota exceeded" and "file too large"."""
    return isinstance(error, OSError) and error.errno in DISK_FULL
