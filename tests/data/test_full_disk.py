"""A full disk during `dataset import` and `dataset tags ...`: a clear error, nothing lost, no 0-byte files.

The disk fills up at the fileio layer (the copy raises ENOSPC after writing part of a file), which works
on any machine without privileges.
"""

from __future__ import annotations

import contextlib
import errno
import os

import pytest

import lorakit.data.journal as journal_module
import lorakit.fileio as fileio
from lorakit.data.importer import import_images
from lorakit.data.tags import TagEdit, edit_captions
from lorakit.errors import DatasetError

from .conftest import noise_image, write


def _no_space(path="x"):
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))


def _fill_disk_after(monkeypatch, good_copies: int):
    """Copies after the first ``good_copies`` write half their bytes, then the disk is full."""
    real = fileio._copy_stream
    calls = []

    def copy(source, target):
        calls.append(target)
        if len(calls) > good_copies:
            data = source.read()
            target.write(data[: len(data) // 2])
            target.flush()
            raise _no_space(target.name)
        real(source, target)

    monkeypatch.setattr(fileio, "_copy_stream", copy)
    return calls


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("good_copies", [0, 3])
def test_import_on_a_full_disk_stops_clearly_and_leaves_no_partial_image(tmp_path, monkeypatch, good_copies):
    src = tmp_path / "src"
    for i in range(4):
        write(src / f"img{i}.png", noise_image(i), f"tag{i}")
    before = {p: p.read_bytes() for p in src.iterdir()}
    dest = tmp_path / "ds"
    write(dest / "old.png", noise_image(9), "old caption")  # what the dataset had before must survive
    calls = _fill_disk_after(monkeypatch, good_copies)

    with pytest.raises(DatasetError) as caught:
        import_images([src], dest)
    assert len(calls) == good_copies + 1  # stopped at the first failure, no further attempts
    assert "full" in caught.value.problem and "No space left" in caught.value.problem
    assert "Free some space" in caught.value.fix and "Nothing was imported" in caught.value.fix
    # No 0-byte or truncated image, no temp file, nothing half-imported; the dataset's own files intact.
    assert _files(dest) == ["old.png", "old.txt"]
    assert (dest / "old.txt").read_text() == "old caption"
    assert {p: p.read_bytes() for p in src.iterdir()} == before

    monkeypatch.undo()  # space freed: the same import now works in full, with the original names
    report = import_images([src], dest)
    assert len(report.imported) == 4 and (dest / "img0.png").read_bytes() == before[src / "img0.png"]


def test_import_from_a_zip_on_a_full_disk(tmp_path, monkeypatch):
    import zipfile

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(write(tmp_path / "z" / "a.png", noise_image(1)), "a.png")
    dest = tmp_path / "ds"
    real_open = open

    def full_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        if "w" in mode and ".import-" in str(path):
            f.close()
            raise _no_space(path)
        return f

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(DatasetError, match="full"):
        import_images([archive], dest)
    monkeypatch.undo()
    assert _files(dest) == []  # the staging folder went too


def _captions(tmp_path, texts):
    images = []
    for name, text in texts.items():
        image = tmp_path / f"{name}.png"
        image.write_bytes(b"")
        (tmp_path / f"{name}.txt").write_bytes(text)
        images.append(image)
    return images


def test_tag_edit_on_a_full_disk_mid_write_puts_every_caption_back(tmp_path, monkeypatch):
    texts = {"a": b"one", "b": b"two, three", "c": b"four"}
    images = _captions(tmp_path, texts)
    real = journal_module.overwrite_in_place
    calls = []

    def full_on_second(path, data, *inside):
        calls.append(path)
        if len(calls) == 2:
            path.write_bytes(data[:3])  # part of the new text got in, then the disk was full
            raise _no_space(path)
        real(path, data, *inside)

    monkeypatch.setattr(journal_module, "overwrite_in_place", full_on_second)
    with pytest.raises(DatasetError) as caught:
        edit_captions(tmp_path, images, TagEdit("add", tags=["new"]))
    assert "full" in caught.value.problem and "Every caption is as it was" in caught.value.problem
    assert {n: (tmp_path / f"{n}.txt").read_bytes() for n in texts} == texts
    assert journal_module.Journal(tmp_path).entries() == []  # nothing left to undo: nothing changed


def test_tag_edit_when_the_journal_cannot_be_written_changes_nothing(tmp_path, monkeypatch):
    texts = {"a": b"one", "b": b"two"}
    images = _captions(tmp_path, texts)

    def full(*args, **kwargs):
        raise _no_space()

    monkeypatch.setattr(journal_module, "atomic_write_text", full)
    with pytest.raises(DatasetError, match="full"):
        edit_captions(tmp_path, images, TagEdit("add", tags=["new"]))
    assert {n: (tmp_path / f"{n}.txt").read_bytes() for n in texts} == texts


def test_tag_edit_that_cannot_even_be_rolled_back_points_at_undo(tmp_path, monkeypatch):
    texts = {"a": b"one", "b": b"two"}
    images = _captions(tmp_path, texts)
    real = journal_module.overwrite_in_place
    calls = []

    def full_after_first(path, data, *inside):
        calls.append(path)
        if len(calls) > 1:
            raise _no_space(path)
        real(path, data, *inside)

    monkeypatch.setattr(journal_module, "overwrite_in_place", full_after_first)
    with pytest.raises(DatasetError) as caught:
        edit_captions(tmp_path, images, TagEdit("add", tags=["new"]))
    assert f"lorakit dataset undo {tmp_path.resolve()}" in caught.value.fix
    monkeypatch.undo()  # room again: the suggested undo restores everything
    journal_module.Journal(tmp_path).undo()
    assert {n: (tmp_path / f"{n}.txt").read_bytes() for n in texts} == texts


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 256 KiB tmpfs, where the machine allows mounting one (root with CAP_SYS_ADMIN); else skipped."""
    import subprocess

    mount = tmp_path / "tiny-disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the patched tests above cover the same paths")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_import_and_tag_edit_on_a_really_full_disk(tmp_path, tiny_disk):
    src = tmp_path / "src"
    for i in range(40):  # ~9 KB of noise each: more than the disk holds
        write(src / f"img{i:02d}.png", noise_image(i), f"tag{i}")
    dest = tiny_disk / "ds"
    with pytest.raises(DatasetError, match="full"):
        import_images([src], dest)
    assert [p for p in dest.rglob("*") if p.is_file()] == []  # no 0-byte or partial image left

    small = tiny_disk / "small"
    small.mkdir()
    images = _captions(small, {"a": b"one", "b": b"two"})
    fd = os.open(tiny_disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # fill what is left
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"x" * 4096)
    finally:
        os.close(fd)
    with pytest.raises(DatasetError, match="full"):
        edit_captions(small, images, TagEdit("add", tags=["new"]))
    assert (small / "a.txt").read_bytes() == b"one" and (small / "b.txt").read_bytes() == b"two"
