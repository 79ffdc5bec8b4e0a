"""``config validate`` reports unknown keys, wrong types and cross-field problems in one pass."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.config.validate import validate_file

MIXED = """
[model]
pretrained_model_name_or_path = "tiny:sd1"
famly = "sd1"

[dataset]
resolution = 128
enable_bucket = true
min_bucket_reso = 32
bucket_reso_steps = 64
train_data_dir = "not-here"

[network]
dim = "four"

[memory]
cache_text_encoder_outputs = true

[[dataset.subsets]]
num_repeats = 2
"""


def test_every_kind_of_problem_at_once(tmp_path):
    path = tmp_path / "mixed.toml"
    path.write_text(MIXED)
    report = validate_file(path)
    fields = [p.field for p in report.problems]
    # Unknown key and wrong type, as before ...
    assert "model.famly" in fields and "network.dim" in fields
    assert "dataset.subsets[0].image_dir" in fields  # a subset without its folder
    # ... and, in the same pass, the cross-field problems of the fields that did parse.
    assert "dataset.min_bucket_reso" in fields
    assert "network.train_unet_only" in fields
    assert "dataset.train_data_dir" in fields  # relative to the file: tmp_path/not-here is missing
    # Nothing is said twice, and nothing about the stand-in default of the unreadable network.dim.
    assert len(fields) == len(set(fields))
    assert not any((f or "").startswith("network.dim") for f in fields if f != "network.dim")


def test_cli_lists_them_all_and_exits_1(tmp_path):
    path = tmp_path / "mixed.toml"
    path.write_text(MIXED)
    result = CliRunner().invoke(app, ["config", "validate", str(path), "--json"])
    assert result.exit_code == 1
    found = json.loads(result.output)
    assert not found["ok"]
    fields = {p["field"] for p in found["problems"]}
    assert {"model.famly", "network.dim", "dataset.min_bucket_reso", "network.train_unet_only"} <= fields


def test_unreadable_toml_is_one_problem(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[model\n")
    report = validate_file(path)
    assert len(report.problems) == 1 and "is not valid TOML" in report.problems[0].problem


def test_config_new_says_what_this_machine_cannot_run(tmp_path, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "xl.toml"
    result = CliRunner().invoke(app, ["config", "new", "--preset", "sdxl-character", "-o", str(out)])
    assert result.exit_code == 0 and out.is_file()
    said = " ".join(result.output.split())
    assert "On this machine: The optimizer AdamW8bit needs an NVIDIA GPU" in said
    assert 'optimizer_type = "AdamW"' in said
    result = CliRunner().invoke(app, ["config", "new", "--preset", "tiny-demo"])
    assert result.exit_code == 0 and "On this machine" not in result.output  # the demo runs anywhere
