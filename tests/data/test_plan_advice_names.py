"""Plan advice names the images it is about and gives advice that changes something."""

from __future__ import annotations

from PIL import Image

from lorakit.config.dataset import AugmentOptions, CaptionOptions, SubsetConfig, resolve_subset
from lorakit.data.buckets import BucketSettings
from lorakit.data.plan import Schedule, make_plan

SD1 = BucketSettings.square(512)


def _image(path, size, caption):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 100, 50)).save(path)
    path.with_suffix(".txt").write_text(caption + "\n", encoding="utf-8")


def _subset(folder, **kwargs):
    captions = CaptionOptions(**{k: kwargs.pop(k) for k in ("shuffle_caption", "keep_tokens") if k in kwargs})
    return resolve_subset(SubsetConfig(image_dir=folder, num_repeats=1, **kwargs), captions, AugmentOptions())


def test_upscaled_images_are_named_with_their_sizes(tmp_path):
    _image(tmp_path / "s" / "big.png", (512, 512), "ohwx, girl")
    _image(tmp_path / "s" / "tiny_one.png", (200, 200), "ohwx, girl")
    plan = make_plan([_subset(tmp_path / "s")], SD1, Schedule(epochs=1))
    (note,) = [n for n in plan.warnings if "smaller than their bucket" in n.message]
    assert note.message.startswith("1 image(s)")
    assert "tiny_one.png (200×200 for 512×512)" in note.message and "big.png" not in note.message


def test_keep_tokens_1_on_a_trigger_only_caption_does_not_advise_keep_tokens_1(tmp_path):
    _image(tmp_path / "s" / "only_trigger.png", (512, 512), "ohwx")
    _image(tmp_path / "s" / "tagged.png", (512, 512), "ohwx, girl, red hair, smiling")
    plan = make_plan([_subset(tmp_path / "s", shuffle_caption=True, keep_tokens=1)], SD1, Schedule(epochs=1))
    (note,) = [n for n in plan.warnings if "keep_tokens" in n.message]
    assert "only_trigger.png" in note.message and "tagged.png" not in note.message
    assert "keep_tokens 1" not in note.fix and "Add tags" in note.fix


def test_keep_tokens_above_the_caption_length_advises_lowering_it(tmp_path):
    _image(tmp_path / "s" / "short.png", (512, 512), "ohwx, girl")
    _image(tmp_path / "s" / "long.png", (512, 512), "ohwx, girl, red hair, smiling, outdoors")
    plan = make_plan([_subset(tmp_path / "s", shuffle_caption=True, keep_tokens=3)], SD1, Schedule(epochs=1))
    (note,) = [n for n in plan.warnings if "keep_tokens" in n.message]
    assert "keep_tokens = 3" in note.message and "short.png" in note.message and "long.png" not in note.message
    assert note.fix.startswith("Lower keep_tokens")


def test_config_check_with_keep_tokens_1_asks_for_longer_captions():
    from lorakit.config.presets import new_config
    from lorakit.config.validate import check_keep_tokens

    values = {"captions.keep_tokens": 1, "captions.shuffle_caption": True}
    cfg = new_config(None, {**values, "dataset.subsets": [{"image_dir": "/data/a"}]})
    (warning,) = check_keep_tokens(cfg, {"/data/a": [1, 1, 4]}).warnings
    assert "keep_tokens = 1" in warning.problem
    assert "Lower keep_tokens" not in warning.fix and "Write longer captions" in warning.fix
