"""Presets: the shipped set, merging over defaults, overrides, and users' own presets."""

from __future__ import annotations

import pytest

from lorakit.config.presets import list_presets, load_preset, new_config, preset_data, save_user_preset
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError

SHIPPED = {
    "sd15-character",
    "sd15-style",
    "sdxl-character",
    "sdxl-style",
    "sdxl-lowvram-12gb",
    "pony-illustrious-character",
    "flux-character",
    "tiny-demo",
}


def test_the_shipped_presets_have_notes():
    presets = {p.name: p for p in list_presets()}
    assert set(presets) == SHIPPED
    for info in presets.values():
        assert info.builtin and info.title and len(info.for_whom) > 20 and len(info.what) > 40
        assert info.family in ("sd1", "sdxl", "flux")
        assert load_preset(info.name).model.family == info.family


@pytest.mark.parametrize(
    ("preset", "checks"),
    [
        ("sd15-character", {"dataset.resolution": 512, "network.dim": 16, "captions.keep_tokens": 1}),
        ("sdxl-character", {"dataset.resolution": 1024, "memory.no_half_vae": True, "network.train_unet_only": True}),
        ("sdxl-lowvram-12gb", {"memory.cache_text_encoder_outputs": True, "schedule.train_batch_size": 1}),
        ("flux-character", {"model.family": "flux", "model.model_prediction_type": "raw", "memory.fp8_base": True}),
        ("sd15-style", {"network.type": "locon", "network.conv_dim": 8, "dataset.flip_aug": True}),
        (
            "tiny-demo",
            {
                "model.pretrained_model_name_or_path": "tiny:sd1",
                "optimizer.optimizer_type": "AdamW",
                "memory.mixed_precision": "no",
                "dataset.resolution": 64,
            },
        ),
    ],
)
def test_presets_merge_over_defaults(preset, checks):
    cfg = load_preset(preset)
    for path, expected in checks.items():
        section, name = path.split(".")
        assert getattr(getattr(cfg, section), name) == expected, path
    # Settings the preset does not mention keep their defaults.
    assert cfg.noise.huber_c == TrainConfig().noise.huber_c


def test_new_config_applies_overrides_in_both_forms():
    cfg = new_config("sdxl-character", {"network.dim": 32, "learning": {"unet_lr": 2e-4}}, network={"alpha": 16})
    assert (cfg.network.dim, cfg.network.alpha, cfg.learning.unet_lr) == (32, 16.0, 2e-4)
    assert cfg.dataset.resolution == 1024  # still the preset's
    assert new_config().network.dim == TrainConfig().network.dim


def test_bad_overrides_name_the_field():
    with pytest.raises(ConfigError) as caught:
        new_config("sdxl-character", {"network.dim": -1})
    assert caught.value.issues[0].field == "network.dim"


def test_unknown_preset_suggests_the_closest():
    with pytest.raises(ConfigError) as caught:
        load_preset("sdxl-charcter")
    assert "sdxl-character" in caught.value.fix


def test_user_presets_save_and_load(tmp_path):
    cfg = new_config(
        "sdxl-style",
        {"network.dim": 48, "logging.wandb_api_key": "wb-SECRET", "dataset.subsets": [{"image_dir": "/mine"}]},
    )
    path = save_user_preset(cfg, "my-style", tmp_path, title="My style", what="Watercolours at rank 48.")
    text = path.read_text()
    assert "SECRET" not in text and "/mine" not in text  # no secrets, no project folders
    mine = [p for p in list_presets(tmp_path) if not p.builtin]
    assert [(p.name, p.title, p.family) for p in mine] == [("my-style", "My style", "sdxl")]
    loaded = load_preset("my-style", tmp_path)
    assert loaded.network.dim == 48 and loaded.network.type == "locon" and loaded.dataset.subsets == []
    assert "preset" not in preset_data("my-style", tmp_path)


@pytest.mark.parametrize("name", ["../escape", "Has Space", "", "sdxl-character"])
def test_user_preset_names_are_checked(name, tmp_path):
    with pytest.raises(ConfigError):
        save_user_preset(TrainConfig(), name, tmp_path)


def test_tiny_demo_on_the_bundled_sample_data_is_ready_to_train():
    """What `lorakit demo` runs: no problems or warnings, files checked."""
    from pathlib import Path

    import lorakit
    from lorakit.config.validate import validate

    sample = Path(lorakit.__file__).parent / "sample_data"
    cfg = new_config("tiny-demo", {"dataset.train_data_dir": str(sample)})
    report = validate(cfg)
    assert report.problems == [] and report.warnings == []
    assert [(s.num_repeats, s.class_tokens) for s in cfg.resolved_subsets()] == [(10, "kitbot")]
