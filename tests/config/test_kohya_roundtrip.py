"""Export to sd-scripts files and import them back: the same config, for every preset and every field."""

from __future__ import annotations

import pytest

from lorakit.config.kohya import export_kohya, from_kohya, import_kohya, to_kohya
from lorakit.config.presets import list_presets, new_config
from lorakit.config.schema import TrainConfig


def _roundtrip_files(cfg: TrainConfig, folder) -> TrainConfig:
    written = export_kohya(cfg, folder)
    return import_kohya(*[p for p in written if p.suffix == ".toml"]).config


def _differences(a: TrainConfig, b: TrainConfig) -> list[str]:
    left, right = a.model_dump(), b.model_dump()
    return [
        f"{section}.{name}: {left[section][name]!r} -> {right[section][name]!r}"
        for section in left
        if isinstance(left[section], dict)
        for name in left[section]
        if left[section][name] != right[section][name]
    ]


@pytest.mark.parametrize("preset", [p.name for p in list_presets()])
def test_every_preset_round_trips(preset, tmp_path):
    cfg = new_config(preset, {"dataset.subsets": [{"image_dir": "/data/a", "num_repeats": 3}]})
    assert _differences(cfg, _roundtrip_files(cfg, tmp_path)) == []


def test_every_field_non_default_round_trips(every_field, tmp_path):
    back = _roundtrip_files(every_field, tmp_path)
    assert _differences(every_field, back) == []
    assert back == every_field


VARIANTS = {
    "sd2-v": {"model.family": "sd2-v"},
    "sd2": {"model.family": "sd2"},
    "flux lora": {"model.family": "flux", "model.guidance_scale": 1.0},
    "v-pred sdxl": {"model.family": "sdxl", "model.v_parameterization": True},
    "sampler sd-scripts lacks": {"samples.sample_sampler": "dpm++_2m_karras"},
    "inline prompts": {"samples.sample_prompts": ["ohwx smiling --w 512 --h 512", "ohwx in a park --s 20"]},
    "warm restarts": {
        "learning.lr_scheduler": "cosine_annealing_warm_restarts",
        "learning.lr_scheduler_args": {"T_0": 9},
    },
    "constant with a warmup": {"learning.lr_scheduler": "constant", "learning.lr_warmup_steps": 5},
    "rex settings, another schedule": {"learning.rex_gamma": 0.8},
    "sdxl two text encoder rates": {"learning.text_encoder_lr": 1e-5, "learning.text_encoder_2_lr": 2e-5},
    "second rate only": {"learning.text_encoder_2_lr": 2e-5},
    "rectangular": {"dataset.resolution": [768, 512]},
    "no attention switch": {"memory.attention": "none"},
    "came by dotted name": {"optimizer.optimizer_type": "CAME"},
    "dotted class path": {
        "optimizer.optimizer_type": "torch.optim.SGD",
        "optimizer.optimizer_args": {"momentum": 0.9},
    },
    "steps not epochs": {"schedule.max_train_epochs": None, "schedule.max_train_steps": 2000},
    "subset names": {"dataset.subsets": [{"image_dir": "/a", "name": "face"}, {"image_dir": "/b"}]},
    **{
        f"network {kind}": {"network.type": kind}
        for kind in ("lora", "locon", "loha", "lokr", "dora", "ia3", "dylora", "full")
    },
    "loha with dora": {"network.type": "loha", "network.dora_wd": True, "network.conv_dim": 4},
    "lokr options": {
        "network.type": "lokr",
        "network.factor": 8,
        "network.decompose_both": True,
        "network.full_matrix": True,
        "network.dora_wd": True,
    },
}


@pytest.mark.parametrize("overrides", VARIANTS.values(), ids=VARIANTS.keys())
def test_variants_round_trip(overrides, tmp_path):
    overrides = {"dataset.subsets": [{"image_dir": "/data/a"}], **overrides}
    cfg = new_config(None, overrides)
    assert _differences(cfg, _roundtrip_files(cfg, tmp_path)) == []


def test_folder_mode_round_trips(tmp_path):
    cfg = new_config(
        None,
        {
            "dataset.train_data_dir": "/data/train",
            "dataset.reg_data_dir": "/data/reg",
            "captions.shuffle_caption": True,
            "dataset.resolution": 768,
        },
    )
    files = to_kohya(cfg)
    assert files.dataset is None
    assert from_kohya(files.config, None, files.lorakit).config == cfg


def test_inline_prompts_become_a_file_for_sd_scripts(tmp_path):
    cfg = new_config(
        None, {"samples.sample_prompts": ["ohwx smiling", "ohwx walking"], "dataset.subsets": [{"image_dir": "/a"}]}
    )
    export_kohya(cfg, tmp_path)
    assert (tmp_path / "sample_prompts.txt").read_text() == "ohwx smiling\nohwx walking\n"
    assert f'sample_prompts = "{tmp_path / "sample_prompts.txt"}"' in (tmp_path / "config.toml").read_text()


def test_approximations_are_reported():
    cfg = new_config(
        None, {"learning.lr_scheduler": "constant", "learning.lr_warmup_steps": 5, "samples.sample_sampler": "unipc"}
    )
    notes = " ".join(to_kohya(cfg).notes)
    assert "'constant' has no warmup" in notes and "'unipc'" in notes


def test_sd_scripts_placement_rules():
    """Where sd-scripts expects a few settings that do not sit where their name suggests."""
    cfg = new_config(
        None,
        {
            "dataset.alpha_mask": True,
            "optimizer.loraplus_lr_ratio": 16,
            "dataset.subsets": [{"image_dir": "/a", "alpha_mask": False}],
        },
    )
    files = to_kohya(cfg)
    # alpha_mask is a per-subset key in sd-scripts' dataset schema; the argument is the dataset-wide fallback.
    assert files.config["alpha_mask"] is True and "alpha_mask" not in files.dataset["general"]
    assert files.dataset["datasets"][0]["subsets"][0]["alpha_mask"] is False
    # LoRA+ ratios are network arguments in sd-scripts.
    assert "loraplus_lr_ratio=16.0" in files.config["network_args"] and "loraplus_lr_ratio" not in files.config


def test_config_toml_values_are_the_dataset_fallback(tmp_path):
    """sd-scripts falls back to config.toml arguments for dataset options a dataset TOML leaves out."""
    cfg = from_kohya(
        {"shuffle_caption": True, "caption_extension": ".txt", "keep_tokens": 2},
        {"datasets": [{"subsets": [{"image_dir": "/a"}]}]},
    ).config
    assert (cfg.captions.shuffle_caption, cfg.captions.caption_extension, cfg.captions.keep_tokens) == (
        True,
        ".txt",
        2,
    )
