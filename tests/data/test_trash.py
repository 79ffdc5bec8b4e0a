import time
from types import SimpleNamespace

import pytest

import lorakit.trash as trash_module
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


def test_empty_older_than(tmp_path, monkeypatch):
    trash = Trash(tmp_path / "t")
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    # A clock the test moves, so no sleep and no margin depends on how busy the machine is.
    clock = [1_000_000.0]
    monkeypatch.setattr(trash_module, "time", SimpleNamespace(time=lambda: clock[0], strftime=time.strftime))
    old = trash.move(tmp_path / "a")
    clock[0] += 100
    new = trash.move(tmp_path / "b")
    clock[0] += 20
    removed = trash.empty(older_than=50)  # old is 120 s old, new 20 s
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
