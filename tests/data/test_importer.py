import io
import stat
import zipfile
from pathlib import Path

import pytest

from lorakit.data.importer import ImportLimits, import_images, require_images
from lorakit.errors import DatasetError

from .conftest import noise_image, write


def _png(seed=0) -> bytes:
    buf = io.BytesIO()
    noise_image(seed, (32, 32)).save(buf, "PNG")
    return buf.getvalue()


def test_folder_recursive_with_captions_and_collisions(tmp_path):
    src = tmp_path / "src"
    write(src / "a.png", noise_image(1), "cap a")
    write(src / "sub" / "a.png", noise_image(2), "cap sub a")
    write(src / "sub" / "deeper" / "b.jpg", noise_image(3))
    write(src / "a.jpg", noise_image(4))  # same stem as a.png: gets its own name (and copy of a.txt)
    (src / "notes.md").write_text("x")
    (src / "orphan.txt").write_text("x")
    (src / "zero.png").write_bytes(b"")
    (src / "fake.jpg").write_text("hello")
    dest = tmp_path / "ds"
    write(dest / "a.png", noise_image(9), "already here")
    report = import_images([src], dest)
    imported = {f.source.split("/src/")[1]: f for f in report.imported}
    assert set(imported) == {"a.png", "a.jpg", "sub/a.png", "sub/deeper/b.jpg"}
    assert (dest / "a.txt").read_text() == "already here"  # nothing overwritten
    stems = [p.stem for p in dest.glob("*") if p.suffix != ".txt"]
    assert len(stems) == len(set(stems)) == 5
    new_a = imported["sub/a.png"]
    assert Path(new_a.caption).read_text() == "cap sub a"
    reasons = {s.split("/")[-1]: r for s, r in report.skipped}
    assert set(reasons) == {"notes.md", "orphan.txt", "zero.png", "fake.jpg"}
    assert "0 bytes" in reasons["zero.png"] and "not an image" in reasons["fake.jpg"]
    assert "caption without" in reasons["orphan.txt"]


def test_repeat_folder_layout_becomes_subsets(tmp_path):
    src = tmp_path / "train"
    write(src / "10_ohwx woman" / "x.png", noise_image(1), "c")
    write(src / "2_style" / "y.png", noise_image(2))
    write(src / "loose.png", noise_image(3))
    report = import_images([src], tmp_path / "ds")
    subsets = {s.image_dir.name: (s.num_repeats, s.class_tokens) for s in report.subsets}
    assert subsets == {"10_ohwx woman": (10, "ohwx woman"), "2_style": (2, "style")}
    assert (tmp_path / "ds" / "10_ohwx woman" / "x.txt").read_text() == "c"
    assert (tmp_path / "ds" / "loose.png").exists()
    assert "10_ohwx woman" in report.summary() and report.to_dict()["subsets"]


def test_zip_keeps_captions_and_refuses_attacks(tmp_path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("set/5_char/a.png", _png(1))
        zf.writestr("set/5_char/a.txt", "char, smile")
        zf.writestr("../escape.png", _png(2))
        zf.writestr("/abs/evil.png", _png(3))
        zf.writestr("C:/win.png", _png(4))
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("bomb.png", b"\0" * (20 * 1024 * 1024))  # compresses ~1000:1
        zf.writestr("__MACOSX/._a.png", b"junk")
    dest = tmp_path / "out" / "ds"
    report = import_images([archive], dest, limits=ImportLimits(ratio_grace_bytes=1024 * 1024))
    assert [f.image.split("/ds/")[1] for f in report.imported] == ["5_char/a.png"]
    assert (dest / "5_char" / "a.txt").read_text() == "char, smile"
    assert [(s.image_dir.name, s.num_repeats) for s in report.subsets] == [("5_char", 5)]
    reasons = {s.split(":", 1)[1] if ":" in s else s: r for s, r in report.skipped}
    assert "unsafe path" in reasons["../escape.png"]
    assert "unsafe path" in reasons["/abs/evil.png"] and "unsafe path" in reasons["C:/win.png"]
    assert "symbolic link" in reasons["link.png"]
    assert "bomb" in reasons["bomb.png"]
    assert not (tmp_path / "out" / "escape.png").exists() and not list(dest.glob("bomb*"))
    assert not any(p.name.startswith(".import-") for p in dest.iterdir())  # staging removed


def test_zip_entry_size_lied_about_is_still_limited(tmp_path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("big.png", b"x" * 3000)
    report = import_images([archive], tmp_path / "ds", limits=ImportLimits(max_entry_bytes=1000))
    assert not report.imported and "expands beyond" in report.skipped[0][1]


def test_too_many_entries(tmp_path):
    archive = tmp_path / "in.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i in range(12):
            zf.writestr(f"{i}.txt", "x")
    report = import_images([archive], tmp_path / "ds", limits=ImportLimits(max_entries=10))
    assert "more than the limit" in report.skipped[0][1]
    with pytest.raises(DatasetError, match="No images"):
        require_images(report)


def test_single_files_and_missing(tmp_path):
    one = write(tmp_path / "one.webp", noise_image(5), "webp caption")
    report = import_images([one, tmp_path / "nope.png"], tmp_path / "ds")
    assert (tmp_path / "ds" / "one.txt").read_text() == "webp caption"
    assert report.skipped[0][1].startswith("does not exist")


def test_import_into_a_subfolder_of_the_source(tmp_path):
    write(tmp_path / "a.png", noise_image(1), "a")
    report = import_images([tmp_path], tmp_path / "dataset")
    assert [Path(f.image).name for f in report.imported] == ["a.png"]
    assert report.to_dict()["imported"][0]["caption"].endswith("a.txt")
