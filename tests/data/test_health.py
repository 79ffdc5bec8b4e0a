import numpy as np
from PIL import Image

from lorakit.data.captions import read_caption
from lorakit.data.health import check_dataset
from lorakit.data.health_fixes import apply_fix, dataset_trash
from lorakit.data.images import open_image
from lorakit.data.journal import Journal

from .conftest import noise_image, write


def _messy_dataset(root, photos):
    write(root / "astro.png", photos["astronaut"], "ohwx, astronaut, smile")
    write(root / "cat.jpg", photos["chelsea"], "cat, sitting")
    write(root / "cat.png", photos["chelsea"].rotate(90, expand=True))  # duplicate stem, near-dup? rotated: no
    write(root / "coffee.jpg", photos["coffee"].convert("CMYK"))  # CMYK, no caption
    write(root / "rocket.png", photos["rocket"].convert("RGBA"), "ohwx, rocket")
    arr = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    write(root / "deep.png", Image.fromarray(arr), "ohwx, grey")
    write(root / "thin.png", noise_image(1, (400, 100)), "ohwx, " + ", ".join(f"tag{i}" for i in range(60)))
    write(root / "alpha.png", noise_image(2, (200, 200), "RGBA"), "ohwx")
    (root / "broken.jpg").write_bytes((root / "cat.jpg").read_bytes()[:300])
    (root / "empty.png").write_bytes(b"")
    (root / "fake.png").write_text("not an image")
    (root / "alpha.txt").write_bytes("ohwx, caf\xe9".encode("cp1252"))


def test_health_report_findings_and_fixes(tmp_path, photos):
    root = tmp_path / "ds"
    _messy_dataset(root, photos)
    report = check_dataset(root, resolution=256, trigger_word="ohwx", workers=2)
    kinds = {f.kind: f for f in report.findings}
    names = lambda kind: sorted(p.split("/")[-1] for p in kinds[kind].files)  # noqa: E731
    assert report.images == 11 and report.readable == 8
    assert names("unreadable") == ["broken.jpg", "empty.png", "fake.png"]
    assert names("cmyk") == ["coffee.jpg"] and names("16bit") == ["deep.png"]
    assert names("transparency") == ["alpha.png"]  # rocket is RGBA but fully opaque
    assert "thin.png" in names("extreme_aspect") and "deep.png" in names("too_small")
    assert names("duplicate_stems") == ["cat.png"]
    assert "coffee.jpg" in names("missing_captions")
    assert names("caption_encoding") == ["alpha.png"]
    assert names("long_captions") == ["thin.png"]
    assert names("trigger_missing") == ["cat.jpg", "cat.png"]  # they share cat.txt
    assert report.steps["total_steps"] > 0 and report.buckets
    assert not report.ok and "✗" in report.summary()
    assert report.to_dict()["findings"]

    assert apply_fix(root, "trash-unreadable", report=report).trashed
    assert not (root / "broken.jpg").exists() and len(dataset_trash(root).list()) == 3
    apply_fix(root, "to-rgb", report=report)
    assert open_image(root / "coffee.jpg").mode == "RGB" and open_image(root / "deep.png").mode == "RGB"
    apply_fix(root, "rename-duplicate-stems", report=report)
    assert (root / "cat_2.png").exists() and (root / "cat_2.txt").read_text() == "cat, sitting"
    apply_fix(root, "captions-to-utf8", report=report)
    assert read_caption(root / "alpha.txt").text == "ohwx, café"
    apply_fix(root, "create-empty-captions", report=report)
    assert (root / "coffee.txt").read_bytes() == b""
    fixed = apply_fix(root, "add-trigger-word", trigger_word="ohwx")  # no report: checks again first
    assert read_caption(root / "cat.txt").text == "ohwx, cat, sitting" and fixed.journal_id
    assert read_caption(root / "cat_2.txt").text == "ohwx, cat, sitting"
    assert read_caption(root / "coffee.txt").text == "ohwx"

    again = check_dataset(root, resolution=256, trigger_word="ohwx")
    left = {f.kind for f in again.findings}
    assert not left & {"unreadable", "cmyk", "16bit", "duplicate_stems", "caption_encoding", "trigger_missing"}
    assert again.ok
    Journal(root).undo(3)
    assert (root / "alpha.txt").read_bytes() == "ohwx, caf\xe9".encode("cp1252")
    assert not (root / "coffee.txt").exists()


def test_near_duplicates_found_and_trashed(tmp_path, photos):
    root = tmp_path / "ds"
    write(root / "a.png", photos["astronaut"], "a")
    write(root / "b.jpg", photos["astronaut"].resize((150, 150)), "b", quality=70)
    write(root / "c.png", photos["coffee"], "c")
    report = check_dataset(root, resolution=128)
    finding = report.finding("near_duplicates")
    assert [p.split("/")[-1] for p in finding.files] == ["b.jpg"]
    result = apply_fix(root, "trash-duplicates", report=report)
    assert not (root / "b.jpg").exists() and not (root / "b.txt").exists() and len(result.trashed) == 2


def test_process_pool_path_gives_the_same_results(tmp_path, photos, monkeypatch):
    import lorakit.data.health as health

    for i, (name, img) in enumerate(photos.items()):
        write(tmp_path / f"{name}.{'jpg' if i % 2 else 'png'}", img, name)
    (tmp_path / "bad.png").write_bytes(b"nope")
    images = sorted(p for p in tmp_path.iterdir() if p.suffix != ".txt")
    threads = health.scan_health(images, workers=2)
    monkeypatch.setattr(health, "PROCESS_THRESHOLD", 1)
    monkeypatch.setattr(health, "CHUNK", 2)
    processes = health.scan_health(images, workers=2)
    assert [(c.path, c.info, c.hashes, c.caption, c.error) for c in processes] == [
        (c.path, c.info, c.hashes, c.caption, c.error) for c in threads
    ]
    by_name = {c.path.name: c for c in processes}
    assert by_name["bad.png"].error and by_name["astronaut.png"].hashes
