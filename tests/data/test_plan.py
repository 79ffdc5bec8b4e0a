"""The step plan (and the scan under it), checked against numbers worked out by hand.

The main dataset, at 512 with sd-scripts' default buckets (256–1024, step 64):

    subset A (train, 3 repeats): 3 × 512×512, 2 × 600×800 (→ 448×576), 1 × 800×600 (→ 576×448)
    subset B (train, 2 repeats): 2 × 640×640 (→ 512×512), 1 × 1024×256 (an exact bucket)
    subset R (reg, 1 repeat):    reg_0..2 512×512, reg_3..4 800×600 (→ 576×448)

    training images with repeats: A 6 × 3 = 18, B 3 × 2 = 6 → 24
    reg matching (sd-scripts DreamBoothDataset): first pass 5 × 1 = 5; then +1 each in order:
    3 full passes → 20, then reg_0..3 once more → 24. Repeats: reg_0..3 = 5, reg_4 = 4.

    bucket      images  × repeats
    448×576       2      2 × 3 = 6
    512×512       8      3 × 3 + 2 × 2 + 3 × 5 = 28
    576×448       3      1 × 3 + 5 + 4 = 12
    1024×256      1      1 × 2 = 2
                        total 48 = 24 train + 24 reg
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from PIL import Image

from lorakit.config.dataset import AugmentOptions, CaptionOptions, SubsetConfig, resolve_subset
from lorakit.config.sections.training import DEFAULT_EPOCHS
from lorakit.data import scan as scan_module
from lorakit.data.buckets import BucketSettings
from lorakit.data.plan import Schedule, make_plan
from lorakit.data.plan_advice import approx_clip_tokens
from lorakit.data.scan import SizeCache, list_images, read_image_size, scan_subsets
from lorakit.errors import ConfigError, DatasetError

SD1 = BucketSettings.square(512)


def _image(path, size, caption=None, fmt="PNG"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 100, 50)).save(path, fmt)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption + "\n", encoding="utf-8")
    return path


def _subset(folder, repeats=1, **kwargs):
    return resolve_subset(
        SubsetConfig(image_dir=folder, num_repeats=repeats, **kwargs), CaptionOptions(), AugmentOptions()
    )


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("plan")
    for i in range(3):
        _image(root / "a" / f"sq_{i}.png", (512, 512), "ohwx, girl, red hair")
    for i in range(2):
        _image(root / "a" / f"tall_{i}.png", (600, 800), "ohwx, girl, standing")
    _image(root / "a" / "wide.png", (800, 600), "ohwx, girl, sitting")
    for i in range(2):
        _image(root / "b" / f"big_{i}.png", (640, 640), "ohwx, girl, portrait")
    _image(root / "b" / "banner.png", (1024, 256), "ohwx, banner")
    for i in range(5):
        _image(root / "reg" / f"reg_{i}.png", (512, 512) if i < 3 else (800, 600), "girl")
    return [
        _subset(root / "a", 3),
        _subset(root / "b", 2),
        _subset(root / "reg", 1, is_reg=True),
    ]


def _buckets(plan):
    return {(b.width, b.height): (b.images, b.images_with_repeats, b.batches) for b in plan.buckets}


def test_buckets_repeats_and_reg_matching(dataset):
    plan = make_plan(dataset, SD1, Schedule(batch_size=2, epochs=1))
    assert (plan.train_images, plan.train_images_with_repeats) == (9, 24)
    assert (plan.reg_images, plan.reg_images_with_repeats, plan.reg_images_before_matching) == (5, 24, 5)
    reg_repeats = {p.path.name: p.repeats for p in plan.images if p.is_reg}
    assert reg_repeats == {"reg_0.png": 5, "reg_1.png": 5, "reg_2.png": 5, "reg_3.png": 5, "reg_4.png": 4}
    # batch 2: ceil(6/2) = 3, ceil(28/2) = 14, ceil(12/2) = 6, ceil(2/2) = 1 → 24 batches
    expected = {(448, 576): (2, 6, 3), (512, 512): (8, 28, 14), (576, 448): (3, 12, 6), (1024, 256): (1, 2, 1)}
    assert _buckets(plan) == expected
    assert plan.batches_per_epoch == plan.steps_per_epoch == 24
    assert [s.images_with_repeats for s in plan.subsets] == [18, 6, 24]


def test_a_default_schedule_plans_the_configs_default_epochs(dataset):
    plan = make_plan(dataset, SD1, Schedule())
    assert plan.epochs == DEFAULT_EPOCHS and plan.total_steps == DEFAULT_EPOCHS * plan.steps_per_epoch
    steps = make_plan(dataset, SD1, Schedule(max_train_steps=7))
    assert steps.total_steps == 7


def test_batch_3_with_gradient_accumulation_2(dataset):
    plan = make_plan(dataset, SD1, Schedule(batch_size=3, gradient_accumulation_steps=2, epochs=5))
    # batch 3: ceil(6/3) = 2, ceil(28/3) = 10, ceil(12/3) = 4, ceil(2/3) = 1 → 17 batches
    # steps per epoch: ceil(17 / 2) = 9 (the last update takes one batch); 5 epochs → 45 steps
    assert plan.batches_per_epoch == 17
    assert plan.steps_per_epoch == 9
    assert (plan.epochs, plan.total_steps) == (5, 45)
    assert plan.samples_seen == 45 * 3 * 2


def test_max_train_steps_gives_the_epochs_it_implies(dataset):
    plan = make_plan(dataset, SD1, Schedule(batch_size=3, gradient_accumulation_steps=2, max_train_steps=100))
    # 100 steps at 9 per epoch: ceil(100 / 9) = 12 epochs (the last one cut short)
    assert (plan.total_steps, plan.epochs) == (100, 12)
    # epochs win over max_train_steps when both are given, as in sd-scripts' train_network.py
    schedule = Schedule(batch_size=3, gradient_accumulation_steps=2, epochs=2, max_train_steps=100)
    both = make_plan(dataset, SD1, schedule)
    assert (both.total_steps, both.epochs) == (18, 2)


def test_warmup_ratio_and_restart_cycles(dataset):
    schedule = Schedule(
        batch_size=3,
        gradient_accumulation_steps=2,
        epochs=5,
        warmup_ratio=0.1,
        lr_scheduler="cosine_with_restarts",
        lr_scheduler_num_cycles=3,
    )
    plan = make_plan(dataset, SD1, schedule)
    # warmup int(0.1 × 45) = 4; cycles over the other 41 steps: restarts at 4 + ceil(41/3) = 18, 4 + ceil(82/3) = 32
    assert plan.warmup_steps == 4
    assert plan.restart_steps == [18, 32]

    # The same points as transformers' get_cosine_with_hard_restarts_schedule_with_warmup (the curve sd-scripts
    # uses), evaluated step by step in floats: the learning rate jumps up exactly there.
    def lr_at(step, warmup=4, total=45, cycles=3):
        if step < warmup:
            return step / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.0 if progress >= 1 else 0.5 * (1 + math.cos(math.pi * ((cycles * progress) % 1)))

    jumps = [step for step in range(5, 45) if lr_at(step) > lr_at(step - 1) + 1e-9]
    assert jumps == plan.restart_steps


def test_two_processes_split_the_batches(dataset):
    plan = make_plan(dataset, SD1, Schedule(batch_size=3, num_processes=2, epochs=5, warmup_ratio=0.1))
    # 17 batches over 2 GPUs: ceil(17 / 2) = 9 steps per epoch; warmup int(0.1 × 45 × 2) = 9 scheduler steps
    assert (plan.steps_per_epoch, plan.total_steps, plan.warmup_steps) == (9, 45, 9)


def test_unreadable_and_uncaptioned_images_are_listed_not_counted(tmp_path):
    folder = tmp_path / "5_ohwx"
    for i in range(6):
        _image(folder / f"img_{i}.png", (512, 512), "ohwx, cat" if i else None)
    (folder / "broken.png").write_bytes(b"not a png at all")
    (folder / ".hidden.png").write_bytes(b"ignored")
    plan = make_plan([_subset(folder, 5, class_tokens="ohwx cat")], SD1, Schedule(epochs=1))
    assert plan.train_images == 5 + 1 and plan.total_steps == 30
    assert [u.path.name for u in plan.unreadable] == ["broken.png"]
    assert plan.subsets[0].unreadable == 1 and plan.subsets[0].missing_captions == 1
    caption = {p.path.name: (p.caption, p.caption_source) for p in plan.images}["img_0.png"]
    assert caption == ("ohwx cat", "class_tokens")
    messages = " ".join(n.message for n in plan.warnings)
    assert "could not be read" in messages and "broken.png" in messages
    assert json.loads(json.dumps(plan.to_dict(include_images=True)))["unreadable"][0]["path"].endswith("broken.png")


def test_small_images_are_flagged_as_upscaled_and_steps_advice_follows_the_goal(tmp_path):
    for i in range(3):
        _image(tmp_path / "s" / f"{i}.png", (200, 200), "ohwx")
    plan = make_plan([_subset(tmp_path / "s", 1)], SD1, Schedule(epochs=2), goal="character")
    assert plan.upscaled_images == 3
    text = " ".join(n.message for n in plan.notes)
    assert "enlarged" in text and "only 3 image(s)" in text and "far below" in text
    long_run = make_plan([_subset(tmp_path / "s", 100)], SD1, Schedule(epochs=50), goal="style")
    assert any("overfit" in n.message for n in long_run.warnings)  # 3 × 100 × 50 = 15000 steps > 2 × 6000


def test_no_training_images_is_an_error_not_a_guess(tmp_path):
    _image(tmp_path / "reg" / "r.png", (512, 512), "girl")
    with pytest.raises(DatasetError, match="No training images"):
        make_plan([_subset(tmp_path / "reg", 1, is_reg=True)], SD1, Schedule(epochs=1))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError):
        make_plan([_subset(tmp_path / "bad")], SD1, Schedule(epochs=1))


def test_missing_or_empty_folders_name_the_folder(tmp_path):
    with pytest.raises(DatasetError) as missing:
        make_plan([_subset(tmp_path / "nope")], SD1, Schedule(epochs=1))
    assert "nope" in missing.value.problem and missing.value.fix
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="has no images"):
        make_plan([_subset(tmp_path / "empty")], SD1, Schedule(epochs=1))


def test_impossible_schedules_are_config_errors(dataset):
    with pytest.raises(ConfigError) as caught:
        make_plan(dataset, SD1, Schedule(batch_size=0, epochs=0, max_train_steps=0))
    assert {i.field for i in caught.value.issues} == {"train_batch_size", "max_train_epochs"}
    with pytest.raises(ConfigError) as caught:
        make_plan(dataset, SD1, Schedule(epochs=None, max_train_steps=0))
    assert {i.field for i in caught.value.issues} == {"max_train_steps"}
    with pytest.raises(ConfigError, match="character, concept, style"):
        make_plan(dataset, SD1, Schedule(epochs=1), goal="portrait")


def test_scan_lists_images_sorted_case_blind_and_skips_hidden(tmp_path):
    for name in ["b.PNG", "a.jpg", ".hidden.png", "c.webp", "notes.txt", "sub/d.png"]:
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(b"x")
    assert [p.name for p in list_images(tmp_path)] == ["a.jpg", "b.PNG", "c.webp"]
    assert [p.name for p in list_images(tmp_path, recursive=True)] == ["a.jpg", "b.PNG", "c.webp", "d.png"]


def test_rotated_jpeg_reports_the_size_a_trainer_sees(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.new("RGB", (120, 80)).save(path, "JPEG", exif=exif)
    assert read_image_size(path) == (80, 120)


def test_captions_follow_sd_scripts_rules(tmp_path):
    _image(tmp_path / "one.png", (64, 64))
    (tmp_path / "one.caption").write_text("  first line  \nsecond line\n", encoding="utf-8")
    # face-crop names: base_cx_cy_w_h.png falls back to base.caption
    _image(tmp_path / "face_10_20_30_40.png", (64, 64))
    (tmp_path / "face.caption").write_text("shared caption", encoding="utf-8")
    _image(tmp_path / "empty.png", (64, 64))
    (tmp_path / "empty.caption").write_text("\n", encoding="utf-8")
    subset = _subset(tmp_path, caption_extension="caption")  # no leading dot: sd-scripts adds it
    (result,) = scan_subsets([subset], cache=SizeCache())
    got = {i.path.name: (i.caption, i.caption_source) for i in result.images}
    assert got == {
        "one.png": ("first line", "file"),
        "face_10_20_30_40.png": ("shared caption", "file"),
        "empty.png": ("", "empty_file"),
    }
    wild = _subset(tmp_path, caption_extension=".caption", enable_wildcard=True)
    (result,) = scan_subsets([wild], cache=SizeCache())
    assert {i.path.name: i.caption for i in result.images}["one.png"] == "first line\nsecond line"


def test_size_cache_skips_unchanged_files_and_rereads_changed_ones(tmp_path, monkeypatch):
    path = _image(tmp_path / "imgs" / "a.png", (100, 50))
    cache_file = tmp_path / "cache" / "sizes.json"
    subset = _subset(tmp_path / "imgs")
    scan_subsets([subset], cache=SizeCache(cache_file))
    assert cache_file.is_file()

    def must_not_read(p):
        raise AssertionError(f"read {p} although it was cached")

    monkeypatch.setattr(scan_module, "read_image_size", must_not_read)
    (again,) = scan_subsets([subset], cache=SizeCache(cache_file))  # a new process: the file cache
    assert (again.images[0].width, again.images[0].height) == (100, 50)

    monkeypatch.undo()
    Image.new("RGB", (30, 60)).save(path)
    os.utime(path, ns=(1, 1))  # a different mtime, as an edit would give
    (changed,) = scan_subsets([subset], cache=SizeCache(cache_file))
    assert (changed.images[0].width, changed.images[0].height) == (30, 60)


def test_token_estimate_counts_words_digits_and_punctuation():
    # "ohwx", ",", "1", "girl", ",", "red", "hair", "!!" → 8 pieces (digits count one by one, like CLIP)
    assert approx_clip_tokens("ohwx, 1girl, red hair!!") == 8


def test_sample_dataset_plans_with_several_buckets():
    from lorakit.config.dataset import subsets_from_train_dir
    from lorakit.data.scan import sample_dataset_path

    folders = subsets_from_train_dir(sample_dataset_path())
    subsets = [resolve_subset(s, CaptionOptions(), AugmentOptions()) for s in folders]
    plan = make_plan(subsets, BucketSettings.square(128, min_bucket_reso=64, bucket_reso_steps=32), Schedule(epochs=1))
    assert plan.train_images == 12 and len(plan.buckets) >= 3
    assert all(i.caption.startswith("kitbot, ") for i in plan.images)
    total = sum(p.stat().st_size for p in sample_dataset_path().rglob("*"))
    assert total < 200_000


def _cli(*args):
    from typer.testing import CliRunner

    from lorakit.cli.main import app

    return CliRunner().invoke(app, list(args))


def test_cli_plans_the_sample_with_hand_counted_buckets(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    result = _cli("plan", "--sample", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    # At 128 px, steps of 32: ratios 0.6 (96×160), 1 (128²), 1.667 (160×96). The pictures: 1.0 ×4 and 160×120
    # (1.333: a float tie between 1 and 1.667, resolved to 1 as numpy's argmin does) → 128²: 5;
    # 0.667 ×2, 0.625, 0.75 → 96×160: 4; 1.667, 1.5 ×2 → 160×96: 3. 10 repeats, batch 1, 10 epochs.
    buckets = [(b["width"], b["height"], b["images"]) for b in plan["buckets"]]
    assert buckets == [(96, 160, 4), (128, 128, 5), (160, 96, 3)]
    assert (plan["steps_per_epoch"], plan["total_steps"]) == (120, 1200)
    assert (tmp_path / "lorakit" / "image_sizes.json").is_file()
    table = _cli("plan", "--sample", "-b", "4", "--warmup", "0.1")
    # batch 4: ceil(40/4) + ceil(50/4) + ceil(30/4) = 10 + 13 + 8 = 31 per epoch, 310 steps, warmup 31
    assert "31 steps per epoch" in table.output and "310 steps" in table.output and "warmup 31" in table.output


def test_cli_plans_a_config_file(tmp_path):
    from lorakit.config.io import config_from_dict, save_config

    folder = tmp_path / "imgs"
    for i in range(4):
        _image(folder / f"{i}.png", (512, 768) if i % 2 else (512, 512), "ohwx, dog")
    cfg = config_from_dict(
        {
            "dataset": {"resolution": 512, "subsets": [{"image_dir": str(folder), "num_repeats": 5}]},
            "schedule": {"max_train_epochs": 3, "train_batch_size": 2},
            "learning": {"lr_warmup_steps": 0.1},
        }
    )
    path = save_config(cfg, tmp_path / "run.toml")
    result = _cli("plan", str(path), "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    # 512×768 (ar 0.667): 384×640 (0.6, error 0.067) beats 448×576 (0.778, error 0.111).
    # Two buckets of 2 images × 5 repeats = 10 → 5 batches each → 10 steps per epoch, 30 in all, warmup 3.
    assert [(b["width"], b["height"], b["batches"]) for b in plan["buckets"]] == [(384, 640, 5), (512, 512, 5)]
    assert (plan["steps_per_epoch"], plan["total_steps"], plan["warmup_steps"]) == (10, 30, 3)


def test_cli_explains_a_missing_folder_without_a_traceback(tmp_path):
    result = _cli("plan", "--data", str(tmp_path / "missing"))
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetError) or "does not exist" in result.output


def test_progress_events_and_an_image_listed_in_two_subsets(tmp_path):
    from lorakit.events import Emitter

    for i in range(3):
        _image(tmp_path / "a" / f"{i}.png", (512, 512), "ohwx")
    events = []
    emitter = Emitter(callbacks=[events.append])
    twice = [_subset(tmp_path / "a", 2), _subset(tmp_path / "a", 3)]
    plan = make_plan(twice, SD1, Schedule(epochs=1), emitter=emitter, cache=SizeCache())
    last = events[-1]
    assert (last.type, last.data["done"], last.data["total"]) == ("progress", 6, 6)
    # sd-scripts keys images by path: the last subset's repeats (3) win in the buckets, 3 images × 3 = 9.
    assert plan.buckets[0].images_with_repeats == 9 and plan.train_images == 3
    assert any("in two subsets" in n.message for n in plan.warnings)


def test_the_lorakit_command_shows_problem_and_fix_without_a_traceback(tmp_path):
    import subprocess
    import sys

    code = "import sys; from lorakit.cli.main import run; sys.argv = ['lorakit'] + sys.argv[1:]; run()"
    result = subprocess.run(
        [sys.executable, "-c", code, "plan", "--data", str(tmp_path / "gone")], capture_output=True, text=True
    )
    said = " ".join(result.stderr.split())  # rich wraps lines at the terminal width
    assert result.returncode == 2
    assert "gone does not exist" in said and "→ Check the path" in said
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("reg_repeats", "used"),
    [
        # 2 training images × 1: the first pass stops once 2 is reached: reg_0, reg_1 once; reg_2, reg_3 unused.
        (1, {"reg_0.png": 1, "reg_1.png": 1}),
        # With 3 repeats the first reg image alone overshoots (3 ≥ 2) and the rest are unused, as in sd-scripts.
        (3, {"reg_0.png": 3}),
    ],
)
def test_surplus_regularization_images_are_left_out_like_sd_scripts(tmp_path, reg_repeats, used):
    for i in range(2):
        _image(tmp_path / "train" / f"t{i}.png", (512, 512), "ohwx")
    for i in range(4):
        _image(tmp_path / "reg" / f"reg_{i}.png", (512, 512), "person")
    subsets = [_subset(tmp_path / "train"), _subset(tmp_path / "reg", reg_repeats, is_reg=True)]
    plan = make_plan(subsets, SD1, Schedule(epochs=1), cache=SizeCache())
    assert {p.path.name: p.repeats for p in plan.images if p.is_reg} == used
    assert plan.reg_images_with_repeats == sum(used.values())
    assert plan.reg_images_before_matching == 4 * reg_repeats
    assert plan.total_steps == 2 + sum(used.values())
    assert any("more regularization images" in n.message for n in plan.advice)


def test_sample_data_script_redraws_the_committed_pictures(tmp_path):
    import importlib.util

    import numpy as np

    from lorakit.data.scan import sample_dataset_path

    script = Path(__file__).resolve().parents[2] / "scripts" / "make_sample_data.py"
    spec = importlib.util.spec_from_file_location("make_sample_data", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.make(tmp_path / "10_kitbot")
    shipped = sample_dataset_path() / "10_kitbot"
    assert [p.name for p in made] == [p.name for p in list_images(shipped)]
    for path in made:
        # Colours, not bytes or palette indices: another zlib compresses differently, and another Pillow may
        # order the quantized palette, round a colour or place an ellipse's edge pixel differently. The same
        # drawing stays within a few levels almost everywhere; another pose or background would not.
        ours = np.asarray(Image.open(path).convert("RGB"), dtype=np.int16)
        theirs = np.asarray(Image.open(shipped / path.name).convert("RGB"), dtype=np.int16)
        assert ours.shape == theirs.shape, path.name
        diff = np.abs(ours - theirs).max(axis=-1)
        assert diff.mean() < 2.0 and (diff > 8).mean() < 0.03, path.name
        assert path.with_suffix(".txt").read_text() == (shipped / path.with_suffix(".txt").name).read_text()
    shapes = {(w > h) - (w < h) for w, h in (Image.open(p).size for p in made)}
    assert shapes == {-1, 0, 1}  # portrait, square and landscape


def test_size_cache_file_forgets_other_datasets_when_full(tmp_path, monkeypatch):
    for name in ("a", "b"):
        for i in range(2):
            _image(tmp_path / name / f"{i}.png", (64, 64))
    cache_file = tmp_path / "sizes.json"
    scan_subsets([_subset(tmp_path / "a")], cache=SizeCache(cache_file))
    monkeypatch.setattr(scan_module, "MAX_CACHED_SIZES", 3)
    scan_subsets([_subset(tmp_path / "b")], cache=SizeCache(cache_file))
    kept = json.loads(cache_file.read_text())["sizes"]
    assert sorted(Path(k).parent.name for k in kept) == ["b", "b"]


def test_validation_split_holds_back_images_like_sd_scripts(tmp_path):
    for i in range(10):
        _image(tmp_path / "t" / f"{i:02d}.png", (512, 512), "ohwx")
    _image(tmp_path / "reg" / "r.png", (512, 512), "person")
    subsets = [_subset(tmp_path / "t", 2), _subset(tmp_path / "reg", 1, is_reg=True)]

    def split(share, seed=42):
        plan = make_plan(subsets, SD1, Schedule(epochs=1, validation_split=share, seed=seed), cache=SizeCache())
        return plan, {p.path.name for p in plan.images if not p.is_reg}, {p.path.name for p in plan.validation_images}

    plan, train, held = split(0.2)
    # 10 images, 0.2: training keeps ceil(10 × 0.8) = 8, validation the last round(10 × 0.2) = 2: disjoint.
    assert (len(train), len(held), len(train | held)) == (8, 2, 10)
    assert plan.train_images_with_repeats == 16 and plan.total_steps == 16 + 16  # reg matched to 16
    assert all(p.repeats == 1 for p in plan.validation_images) and plan.to_dict()["validation_images"] == 2
    # 0.15: ceil(8.5) = 9 train, round(1.5) = 2 validation: one image in both, as sd-scripts' rounding gives.
    _, train, held = split(0.15)
    assert (len(train), len(held), len(train & held)) == (9, 2, 1)
    # The seed decides which images; the same seed always picks the same ones.
    assert split(0.2)[2] == split(0.2)[2]
    assert len({frozenset(split(0.2, seed)[2]) for seed in range(6)}) > 1
