import pytest

from lorakit.data.captions import (
    CaptionConflictError,
    CaptionEncodingError,
    read_caption,
    write_caption,
)
from lorakit.data.journal import Journal
from lorakit.data.tags import (
    TagEdit,
    TagFilter,
    edit_captions,
    format_tags,
    normalize_tag,
    parse_tags,
    read_all_tags,
    tag_frequency,
)
from lorakit.errors import DatasetError


def test_normal_form_keeps_kaomoji():
    assert parse_tags(" long_hair,  ^_^ , >_<,0_0, blue\\(eyes\\) ,, smile_") == [
        "long hair",
        "^_^",
        ">_<",
        "0_0",
        "blue(eyes)",
        "smile",
    ]
    assert normalize_tag("x_x") == "x_x"
    assert format_tags(["a (b)", "^_^", "long hair"], escape_brackets=True, underscores=True) == (
        "a_\\(b\\), ^_^, long_hair"
    )


@pytest.mark.parametrize(
    ("edit", "before", "after"),
    [
        (TagEdit("add", tags=["new tag", "a"]), "a, b", "a, b, new tag"),
        (TagEdit("add", tags=["x", "y"], front=True), "a", "x, y, a"),
        (TagEdit("remove", tags=["long_hair"]), "long hair, b", "b"),
        (TagEdit("replace", mapping={"a": "c, d", "b": ""}), "a, b, d", "c, d"),
        (TagEdit("trigger", tags=["ohwx"]), "a, ohwx, b", "ohwx, a, b"),
        (TagEdit("dedupe"), "a, b, A, a", "a, b"),
        (TagEdit("sort", keep_first=1), "t, c, B, a", "t, a, B, c"),
        (TagEdit("front", tags=["c", "zz", "b"]), "a, b, c", "c, b, a"),
        (TagEdit("regex", pattern=r"(\w+) hair", replacement=r"\1_hair"), "red hair, x", "red_hair, x"),
        (TagEdit("normalize"), "a_b,c", "a b, c"),
    ],
)
def test_edits(edit, before, after):
    assert edit.apply(before) == after


def test_edit_that_changes_nothing_returns_none():
    assert TagEdit("remove", tags=["zzz"]).apply("a_b,c") is None


def test_bad_regex_is_clear():
    with pytest.raises(DatasetError, match="regular expression"):
        TagEdit("regex", pattern="(")


def test_filter_and_or_not():
    f = TagFilter(all_of=["a"], any_of=["b", "c"], none_of=["x"])
    assert f.matches(["a", "c"])
    assert not f.matches(["a"])
    assert not f.matches(["a", "b", "x"])


def _dataset(tmp_path, captions):
    images = []
    for name, data in captions.items():
        (tmp_path / f"{name}.png").write_bytes(b"")
        if data is not None:
            (tmp_path / f"{name}.txt").write_bytes(data)
        images.append(tmp_path / f"{name}.png")
    return images


def test_bulk_edit_filter_and_undo_byte_for_byte(tmp_path):
    originals = {
        "a": b"\xef\xbb\xbfsolo, long_hair\r\n",
        "b": b"solo,  smile",
        "c": b"group",
        "d": None,
        "e": "caf\xe9".encode("cp1252"),
    }
    images = _dataset(tmp_path, originals)
    report = edit_captions(tmp_path, images, TagEdit("trigger", tags=["ohwx"]), where=TagFilter(any_of=["solo"]))
    assert report.matched == 2
    assert read_caption(tmp_path / "a.txt").text == "ohwx, solo, long hair"
    assert read_caption(tmp_path / "c.txt").text == "group"
    assert str(tmp_path / "e.txt") in report.skipped
    second = edit_captions(tmp_path, images, TagEdit("add", tags=["extra"]))
    assert not (tmp_path / "e.txt").read_bytes().endswith(b"extra")
    assert (tmp_path / "d.txt").read_text() == "extra"
    journal = Journal(tmp_path)
    assert [e.id for e in journal.entries()] == [second.result.entry.id, report.result.entry.id]
    results = journal.undo(2)
    assert [len(r.restored) for r in results] == [4, 2]
    for name, data in originals.items():
        path = tmp_path / f"{name}.txt"
        assert (path.read_bytes() if path.exists() else None) == data
    assert journal.entries() == []


def test_undo_refuses_to_overwrite_a_later_hand_edit(tmp_path):
    images = _dataset(tmp_path, {"a": b"x", "b": b"y"})
    edit_captions(tmp_path, images, TagEdit("add", tags=["z"]))
    (tmp_path / "a.txt").write_text("edited by hand")
    [result] = Journal(tmp_path).undo()
    assert result.conflicts == [tmp_path / "a.txt"] and not result.restored
    assert (tmp_path / "b.txt").read_text() == "y, z"  # nothing undone half-way
    [forced] = Journal(tmp_path).undo(force=True)
    assert (tmp_path / "a.txt").read_text() == "x" and (tmp_path / "b.txt").read_text() == "y"
    assert len(forced.restored) == 2


def test_concurrent_edit_is_detected(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("one")
    caption = read_caption(path)
    path.write_text("two")  # another program saves in between
    with pytest.raises(CaptionConflictError):
        write_caption(path, "three", expected_version=caption.version)
    assert path.read_text() == "two"
    fresh = read_caption(path)
    write_caption(path, "three", expected_version=fresh.version)
    assert path.read_text() == "three"
    journal = Journal(tmp_path)
    result = journal.write("x", {path: "four"}, {path: caption.version})
    assert result.conflicts == [path] and path.read_text() == "three"


def test_non_utf8_caption_names_encoding(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("na\xefve".encode("utf-16"))
    with pytest.raises(CaptionEncodingError, match="utf-16"):
        read_caption(path)


def test_frequency(tmp_path):
    images = _dataset(tmp_path, {"a": b"x, y, x", "b": b"X, z", "c": None})
    counts = tag_frequency(read_all_tags(images).values())
    assert counts == {"x": 2, "y": 1, "z": 1}


def test_crash_mid_edit_is_undone_without_force(tmp_path, monkeypatch):
    import lorakit.data.journal as journal_module

    images = _dataset(tmp_path, {"a": b"one", "b": b"two", "c": b"three"})
    calls = []
    real = journal_module.overwrite_in_place

    def dies_on_second(path, data, inside=None):
        calls.append(path)
        if len(calls) == 2:
            path.write_bytes(data[:2])  # half-written, then the power goes out
            raise KeyboardInterrupt
        real(path, data, inside)

    monkeypatch.setattr(journal_module, "overwrite_in_place", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        edit_captions(tmp_path, images, TagEdit("add", tags=["new"]))
    monkeypatch.setattr(journal_module, "overwrite_in_place", real)
    [entry] = Journal(tmp_path).entries()
    assert entry.state == "writing"
    [result] = Journal(tmp_path).undo()
    assert not result.conflicts
    assert [(tmp_path / f"{n}.txt").read_bytes() for n in "abc"] == [b"one", b"two", b"three"]


def test_journal_keeps_only_recent_edits(tmp_path, monkeypatch):
    import lorakit.data.journal as journal_module

    monkeypatch.setattr(journal_module, "KEEP_ENTRIES", 2)
    path = tmp_path / "a.txt"
    journal = Journal(tmp_path)
    for text in ("one", "two", "three"):
        journal.write(f"set {text}", {path: text})
    assert [e.description for e in journal.entries()] == ["set three", "set two"]
