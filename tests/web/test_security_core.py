"""The core pieces under the web routes' safety (issue #10): confined opens, trash and journal records."""

from __future__ import annotations

import base64
import json
import os

import pytest

from lorakit.errors import LorakitError, PathError
from lorakit.fileio import atomic_write_text, open_inside, read_inside


@pytest.fixture
def layout(tmp_path):
    root = (tmp_path / "root").resolve()
    root.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("secret")
    return root, outside, secret


def test_a_link_swapped_in_after_the_path_check_is_refused(layout):
    root, _, secret = layout
    path = root / "caption.txt"
    path.write_text("mine")
    checked = path.resolve()  # what a route does first: the path is inside, a regular file
    assert checked.is_relative_to(root)
    path.unlink()
    path.symlink_to(secret)  # ... and then the attacker swaps in a link
    with pytest.raises(PathError, match="outside"):
        read_inside(checked, root)
    with pytest.raises(PathError, match="outside"):
        os.close(open_inside(checked, root, write=True))
    assert secret.read_text() == "secret"


def test_a_folder_swapped_for_a_link_is_refused(layout):
    root, outside, _ = layout
    (root / "sub").mkdir()
    (root / "sub" / "secret.txt").write_text("mine")
    target = root / "sub" / "secret.txt"
    (root / "sub" / "secret.txt").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathError):
        read_inside(target, root)
    with pytest.raises(PathError):
        atomic_write_text(root / "sub" / "new.txt", "x", inside=root)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]  # the temp file was removed


def test_dangling_links_special_files_and_loops(layout):
    root, outside, _ = layout
    (root / "dangling.txt").symlink_to(outside / "created.txt")
    with pytest.raises(PathError):  # O_EXCL: the dangling link is not followed to create the file outside
        os.close(open_inside(root / "dangling.txt", root, write=True, create=True))
    assert not (outside / "created.txt").exists()
    os.mkfifo(root / "fifo")
    with pytest.raises(PathError, match="regular"):
        read_inside(root / "fifo", root)
    with pytest.raises(PathError, match="regular"):
        os.close(open_inside(root / "fifo", root, write=True))
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(PathError):
        read_inside(root / "loop", root)
    (root / "inner.txt").write_text("ok")
    (root / "link.txt").symlink_to(root / "inner.txt")
    assert read_inside(root / "link.txt", root) == b"ok"  # a link that stays inside is fine
    with pytest.raises(PathError, match="link"):
        os.close(open_inside(root / "link.txt", root, follow=False))


def test_trash_ignores_records_it_did_not_write(layout):
    from lorakit.trash import Trash

    root, outside, secret = layout
    trash_folder = root / "trash"
    trash = Trash(trash_folder, root)
    (root / "keep.txt").write_text("keep")
    good = trash.move(root / "keep.txt")
    manifest = json.loads((trash_folder / "manifest.json").read_text())
    evil = "../../../" + str(outside).lstrip("/")
    manifest["items"][evil] = {"id": evil, "original_path": str(root / "x"), "trashed_at": 0.0, "name": "secret.txt"}
    manifest["items"]["out"] = {"id": "out", "original_path": str(outside / "x"), "trashed_at": 0.0, "name": "x"}
    manifest["items"]["named"] = {"id": "named", "original_path": str(root / "y"), "trashed_at": 0.0, "name": "../y"}
    (trash_folder / "manifest.json").write_text(json.dumps(manifest))
    assert [item.id for item in trash.list()] == [good.id]
    for item_id in (evil, "out", "named"):
        with pytest.raises(PathError):
            trash.restore(item_id)
    trash.empty()
    assert secret.read_text() == "secret" and not (root / "x").exists()
    (root / "linked-trash").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathError):  # a trash folder that leads outside is not used at all
        Trash(root / "linked-trash", root)


def test_journal_refuses_crafted_entries(layout):
    from lorakit.data.journal import Journal

    root, _, secret = layout
    (root / "a.txt").write_text("a")
    journal = Journal(root)
    folder = root / ".lorakit" / "journal"
    folder.mkdir(parents=True)
    for n, path in enumerate((str(secret), "../outside/secret.txt", ".lorakit/journal/x.json", "a/../../x")):
        entry_id = f"2099010{n}-000000-000000000-abcd"
        files = [{"path": path, "old": base64.b64encode(b"owned").decode(), "new_version": "v"}]
        (folder / f"{entry_id}.json").write_text(
            json.dumps({"id": entry_id, "time": 1.0, "description": "", "files": files})
        )
    assert journal.entries() == []  # unfinished entries are checked when listed: none survives
    journal.undo(10, force=True)
    (folder / "2099010-bad id.json").write_text("{}")
    assert journal.entries() == []
    assert secret.read_text() == "secret" and (root / "a.txt").read_text() == "a"


def test_journal_folder_that_is_a_link(layout):
    from lorakit.data.journal import Journal

    root, outside, _ = layout
    (root / ".lorakit").symlink_to(outside, target_is_directory=True)
    with pytest.raises(LorakitError, match="link"):
        Journal(root).write("edit", {root / "a.txt": "x"})
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"] and not (root / "a.txt").exists()
