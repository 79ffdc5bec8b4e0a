import time

import pytest

from lorakit.errors import PathError
from lorakit.trash import Trash


def test_move_list_restore_roundtrip(tmp_path):
    src = tmp_path / "ds" / "a.png"
    src.parent.mkdir()
    src.write_bytes(b"image bytes")
    trash = Trash(tmp_path / ".trash")
    item = trash.move(src)
    assert not src.exists()
    assert trash.stored_path(item).read_bytes() == b"image bytes"
    assert [i.id for i in Trash(tmp_path / ".trash").list()] == [item.id]  # manifest persisted
    assert trash.restore(item.id) == src
    assert src.read_bytes() == b"image bytes"
    assert trash.list() == []


def test_restore_refuses_to_overwrite(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("old")
    trash = Trash(tmp_path / "t")
    item = trash.move(src)
    src.write_text("new")
    with pytest.raises(PathError, match="already exists"):
        trash.restore(item.id)
    assert src.read_text() == "new"
    assert trash.stored_path(item).read_text() == "old"


def test_folders_and_same_names(tmp_path):
    trash = Trash(tmp_path / "t")
    for content in ("one", "two"):
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "x.txt").write_text(content)
        trash.move(tmp_path / "d")
    items = trash.list()
    assert len(items) == 2 and all(i.is_dir for i in items)
    assert {trash.stored_path(i).joinpath("x.txt").read_text() for i in items} == {"one", "two"}


def test_empty_older_than(tmp_path):
    trash = Trash(tmp_path / "t")
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    old = trash.move(tmp_path / "a")
    time.sleep(0.05)
    new = trash.move(tmp_path / "b")
    removed = trash.empty(older_than=time.time() - new.trashed_at + 0.02)
    assert [i.id for i in removed] == [old.id]
    assert [i.id for i in trash.list()] == [new.id]
    assert not trash.stored_path(old).exists()
    trash.empty()
    assert trash.list() == []


def test_missing_and_unknown(tmp_path):
    trash = Trash(tmp_path / "t")
    with pytest.raises(PathError):
        trash.move(tmp_path / "nope")
    with pytest.raises(PathError):
        trash.restore("nope")
