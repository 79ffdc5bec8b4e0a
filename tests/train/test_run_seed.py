"""An empty schedule.seed (sd-scripts' "no --seed"): the run draws one from its folder and records it."""

from __future__ import annotations

import json

from safetensors import safe_open

from lorakit.config.io import load_config
from lorakit.train.run import CONFIG_FILE, run_seed, train


def test_run_seed_is_per_folder(tmp_path):
    assert run_seed(tmp_path / "a") == run_seed(tmp_path / "a")
    assert run_seed(tmp_path / "a") != run_seed(tmp_path / "b")
    assert 0 <= run_seed(tmp_path / "a") < 2**32


def test_an_empty_seed_is_drawn_saved_and_recorded(tmp_path, tiny_config):
    cfg = tiny_config(schedule__seed=None, schedule__max_train_steps=2, schedule__max_train_epochs=None)
    result = train(cfg, tmp_path / "run")
    seed = run_seed(tmp_path / "run")
    assert load_config(tmp_path / "run" / CONFIG_FILE).schedule.seed == seed  # a resume trains on with it
    with safe_open(result["lora"], "pt") as f:
        assert json.loads(f.metadata()["ss_seed"]) == seed
