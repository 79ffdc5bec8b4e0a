"""Atomic file writes, and opening files that must stay inside a folder.

Atomic writes: a temp file in the same folder, fsync, then rename over the target. A crash or a full
disk mid-write leaves the old file intact, never a half-written one.

Modes: a new file gets the mode any program would give it (0666 less the umask, usually 0644), so
ComfyUI or A1111 running as another user can read a LoRA, a config or a run's files. A file that is
replaced keeps its mode. Secrets (tokens, credentials) are written with ``private=True``: owner-only
(0600) from the first byte.

Confined opens (:func:`open_inside`, :func:`read_inside`): the file is opened first and checked after,
on the open descriptor (its real path from the kernel, its type from ``fstat``), so a link that leads
outside the folder, or one swapped in between a check and the open, is refused, and so are fifos,
devices and sockets. This is what the web server uses for every file a client names.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
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


try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def atomic_open(
    path: str | os.PathLike,
    mode: str = "wb",
    *,
    encoding: str | None = None,
    private: bool = False,
    durable: bool = True,
    inside: str | os.PathLike | None = None,
) -> Iterator[IO]:
    """Open a temp file next to ``path``; on a clean exit it replaces ``path`` atomically.

    ``private``: the file is owner-only (0600), also when it replaces a file that was readable by others.
    ``durable=False`` skips the fsync (bulk copies whose source still exists: a crash means "run it again").
    On any error, a full disk included, the temp file is removed and ``path`` is left as it was.
    The rename replaces a link at ``path`` instead of writing through it. With ``inside``, the temp file
    must land inside that folder (a parent folder swapped for a link leading elsewhere is refused).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the temp file 0600, so a secret is never readable by others, not even mid-write.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if inside is not None:
            try:
                check_opened(fd, tmp, inside)
            except BaseException:
                os.close(fd)
                raise
        with os.fdopen(fd, mode, encoding=encoding if "b" not in mode else None) as f:
            yield f
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if private:
            final_mode = PRIVATE_MODE
        elif target.is_file() and not target.is_symlink():
            final_mode = target.stat().st_mode & 0o7777  # keep the permissions of the file we replace
        else:
            final_mode = default_file_mode()
        os.chmod(tmp, final_mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(
    path: str | os.PathLike, data: bytes, *, private: bool = False, inside: str | os.PathLike | None = None
) -> None:
    with atomic_open(path, "wb", private=private, inside=inside) as f:
        f.write(data)


def atomic_write_text(
    path: str | os.PathLike,
    text: str,
    encoding: str = "utf-8",
    *,
    private: bool = False,
    inside: str | os.PathLike | None = None,
) -> None:
    with atomic_open(path, "w", encoding=encoding, private=private, inside=inside) as f:
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


# --- opening files that must stay inside a folder ----------------------------------------------------
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # a fifo must not hang the open; no effect on regular files
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether the (already resolved) ``path`` is ``root`` or lies under it (string test, no disk access)."""
    text, base = os.fspath(path), os.fspath(root).rstrip(os.sep)
    return text == base or text.startswith(base + os.sep)


def fd_path(fd: int) -> str | None:
    """Where an open file really is (every link resolved), from the kernel; None where the OS cannot say."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")  # Linux
    except OSError:
        pass
    if fcntl is not None and hasattr(fcntl, "F_GETPATH"):  # macOS
        try:
            return fcntl.fcntl(fd, fcntl.F_GETPATH, b"\0" * 1024).rstrip(b"\0").decode(errors="surrogateescape")
        except OSError:
            return None
    return None


def _refuse(path: str | os.PathLike, why: str):
    from lorakit.errors import PathError

    return PathError(f"{Path(path).name!r} {why}.", "Use a regular file inside the workspace, not a link elsewhere.")


def check_opened(fd: int, path: str | os.PathLike, root: str | os.PathLike) -> os.stat_result:
    """Refuse an open file that is not a regular file or that lies outside ``root`` (links resolved).

    Checked on the open file itself, after the open: a link swapped in between a path check and the open
    is still caught. ``root`` must be already resolved (``Path.resolve()``, ``os.path.realpath``): it is
    compared as it is, since resolving it for each of 10,000 captions would double a bulk edit's time.
    Returns the file's stat.
    """
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "is not a regular file (a folder, fifo, device or socket)")
    real = fd_path(fd)
    if real is None:  # no kernel answer: the path's real location must be this very file
        real = os.path.realpath(path)
        there = os.stat(real)
        if (there.st_dev, there.st_ino) != (st.st_dev, st.st_ino):
            raise _refuse(path, "changed while it was opened")
    if not is_inside(real, root):
        raise _refuse(path, "leads outside the workspace (through a link)")
    return st


def open_inside(
    path: str | os.PathLike, root: str | os.PathLike, *, write: bool = False, create: bool = False, follow: bool = True
) -> int:
    """``os.open`` of a regular file that lies inside ``root``; a :class:`~lorakit.errors.PathError` otherwise.

    ``write`` opens for writing without truncating (cut after writing, with ``os.ftruncate``); ``create``
    makes the file when it is missing, never through a link (``O_EXCL``: a dangling link is not followed).
    ``follow=False`` refuses a link at ``path`` itself, even one leading inside. ``root`` is an already
    resolved folder (see :func:`check_opened`). Returns the descriptor; the caller closes it.
    """
    flags = _NONBLOCK | _CLOEXEC | _BINARY | (os.O_WRONLY if write else os.O_RDONLY) | (0 if follow else _NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        if not (write and create):
            raise
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666)
        except FileExistsError:  # a dangling link: creating through it would make a file where it points
            raise _refuse(path, "is a link to nothing (or appeared meanwhile)") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _refuse(path, "is a link (or a loop of links)") from None
        if error.errno == errno.ENXIO:  # a fifo or socket with no one at the end
            raise _refuse(path, "is not a regular file (a folder, fifo, device or socket)") from None
        raise
    try:
        check_opened(fd, path, root)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_inside(path: str | os.PathLike, root: str | os.PathLike) -> bytes:
    """All bytes of a regular file inside ``root`` (see :func:`open_inside`)."""
    return read_fd(open_inside(path, root))


def read_fd(fd: int) -> bytes:
    """All bytes of an open file descriptor, which is closed after (os-level: no buffered file object)."""
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
