"""Our exports against sd-scripts' own names, without sd-scripts: golden/sd_scripts_names.json holds every
argument of train_network.py / sdxl_train_network.py / flux_train_network.py (their setup_parser()) and the
keys config_util's ConfigSanitizer accepts per dataset TOML level. scripts/verify_against_sd_scripts.py
writes it (--write-names) and runs the full comparison with sd-scripts itself.
"""

from __future__ import annotations

import ast
import json
import runpy
import sys
from pathlib import Path

import pytest

from lorakit.config.kohya import to_kohya
from lorakit.config.presets import list_presets, new_config

NAMES = json.loads((Path(__file__).parent / "golden" / "sd_scripts_names.json").read_text())
SUBSETS = [
    {"image_dir": "/data/a", "num_repeats": 3, "class_tokens": "ohwx", "flip_aug": True},
    {"image_dir": "/data/reg", "is_reg": True, "class_tokens": "person"},
]
FLUX_FILES = {"model.clip_l": "/m/clip_l.sft", "model.t5xxl": "/m/t5.sft", "model.ae": "/m/ae.sft"}
MANY = {
    "dataset.subsets": SUBSETS,
    "dataset.color_aug": True,
    "dataset.face_crop_aug_range": [1.5, 3.0],
    "captions.shuffle_caption": True,
    "captions.keep_tokens_separator": "|||",
    "schedule.gradient_accumulation_steps": 2,
    "learning.lr_scheduler": "cosine_with_restarts",
    "learning.lr_warmup_steps": 0.1,
    "optimizer.optimizer_type": "AdamW",
    "optimizer.betas": [0.9, 0.98],
    "network.conv_dim": 4,
    "memory.cache_text_encoder_outputs": True,
    "memory.blocks_to_swap": 4,
    "noise.noise_offset": 0.05,
}


def _configs():
    for preset in list_presets():
        extra = FLUX_FILES if "flux" in preset.name else {}
        yield preset.name, new_config(preset.name, {"dataset.subsets": SUBSETS} | extra)
    for family in ("sd1", "sd2-v", "sdxl"):
        yield f"many {family}", new_config(None, MANY | {"model.family": family})
    flux = {key: v for key, v in MANY.items() if key != "network.conv_dim"} | FLUX_FILES
    yield "many flux", new_config(None, flux | {"model.family": "flux"})
    yield (
        "folder mode",
        new_config(None, {"dataset.train_data_dir": "/data/train", "dataset.face_crop_aug_range": [2, 4]}),
    )


CONFIGS = dict(_configs())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_key_is_one_sd_scripts_reads(name):
    files = to_kohya(CONFIGS[name])
    arguments = set(NAMES["scripts"][files.script])
    assert sorted(set(files.config) - arguments) == []  # sd-scripts would ignore them silently
    if files.dataset is not None:
        dataset_keys = NAMES["dataset"]
        assert set(files.dataset["general"]) <= set(dataset_keys["general"])
        for table in files.dataset["datasets"]:
            assert set(table) <= set(dataset_keys["datasets"])
            for subset in table["subsets"]:
                assert set(subset) <= set(dataset_keys["subsets"])


@pytest.mark.parametrize("name", list(CONFIGS))
def test_literal_arguments_parse_and_epochs_match(name):
    cfg = CONFIGS[name]
    config = to_kohya(cfg).config
    for key in ("optimizer_args", "lr_scheduler_args"):
        for item in config.get(key, []):
            _, value = item.split("=")  # sd-scripts: key, value = arg.split("="); ast.literal_eval(value)
            ast.literal_eval(value)
    assert config.get("max_train_epochs") == cfg.schedule.planned_epochs()


def test_the_names_file_covers_the_three_scripts():
    assert set(NAMES["scripts"]) == {"train_network.py", "sdxl_train_network.py", "flux_train_network.py"}
    assert "cache_text_encoder_outputs" not in NAMES["scripts"]["train_network.py"]
    assert "blocks_to_swap" in NAMES["scripts"]["flux_train_network.py"]


def test_the_verify_script_skips_without_a_checkout(capsys, monkeypatch):
    script = Path(__file__).parents[2] / "scripts" / "verify_against_sd_scripts.py"
    monkeypatch.setattr(sys, "argv", [str(script)])
    with pytest.raises(SystemExit) as done:
        runpy.run_path(str(script), run_name="__main__")
    assert done.value.code == 0
    assert "skipped: no sd-scripts checkout given" in capsys.readouterr().out
