"""``lorakit config ...`` end to end through typer, on real files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from lorakit.cli import config as config_cli
from lorakit.config.io import load_config
from lorakit.errors import ConfigError

app = typer.Typer()
config_cli.register(app)
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["config", *args], catch_exceptions=True, terminal_width=200)


def words(result) -> str:
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_new_from_preset_with_changes(tmp_path, image_folder):
    out = tmp_path / "my.toml"
    result = run(
        "new",
        "--preset",
        "sdxl-character",
        "-m",
        "org/sdxl",
        "-i",
        str(image_folder),
        "-r",
        "5",
        "--set",
        "network.dim=32",
        "--set",
        "learning.lr_scheduler=cosine_with_restarts",
        "-o",
        str(out),
    )
    assert result.exit_code == 0, result.output
    cfg = load_config(out)
    assert (cfg.network.dim, cfg.learning.lr_scheduler, cfg.dataset.resolution) == (32, "cosine_with_restarts", 1024)
    assert cfg.dataset.subsets[0].num_repeats == 5 and cfg.model.pretrained_model_name_or_path == "org/sdxl"
    assert run("new", "--preset", "sdxl-character", "-o", str(out)).exception is not None  # no silent overwrite


def test_new_prints_and_lists_what_is_left_to_set():
    result = run("new", "--preset", "sd15-character")
    assert result.exit_code == 0
    assert "config_version = 1" in result.output and "Still to set" in result.output


def test_validate_exit_codes(tmp_path, image_folder, monkeypatch):
    import torch

    good = tmp_path / "good.toml"
    run("new", "--preset", "sd15-character", "-m", "org/sd15", "-i", str(image_folder), "-o", str(good))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    # The preset's 8-bit AdamW on a machine without CUDA: refused up front with the fix, not 12 s into training.
    result = run("validate", str(good))
    assert result.exit_code == 1 and 'optimizer_type = "AdamW"' in words(result)
    cpu = tmp_path / "cpu.toml"
    run("new", "--preset", "sd15-character", "-m", "org/sd15", "-i", str(image_folder), "-o", str(cpu),
        "--set", "optimizer.optimizer_type=AdamW")  # fmt: skip
    result = run("validate", str(cpu))
    assert result.exit_code == 0 and "ready to train" in words(result)

    bad = tmp_path / "bad.toml"
    bad.write_text('[network]\ndim = 8\nalpha = 32\ntype = "ia3"\nconv_dim = 4\n[model]\nfamly = "sdxl"\n')
    result = run("validate", str(bad), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["problems"][0]["field"] == "model.famly" and "model.family" in report["problems"][0]["fix"]

    bad.write_text('[network]\ndim = 8\nalpha = 32\ntype = "ia3"\nconv_dim = 4\n')
    result = run("validate", str(bad))
    assert result.exit_code == 1
    assert "conv_dim does nothing" in words(result) and "warning" in words(result)


def test_explain_one_and_all():
    result = run("explain", "network_dim")
    assert result.exit_code == 0 and "network.dim" in result.output and "network_dim" in result.output
    result = run("explain", "--section", "network", "--level", "basic")
    assert result.exit_code == 0 and "network.dim" in result.output and "network.use_tucker" not in result.output
    assert isinstance(run("explain", "netwrk_dim").exception, ConfigError)


def test_export_then_import(tmp_path, image_folder):
    cfg_path = tmp_path / "my.toml"
    run("new", "--preset", "sdxl-style", "-m", "org/sdxl", "-i", str(image_folder), "-o", str(cfg_path))
    result = run("export", str(cfg_path), "--kohya", str(tmp_path / "kohya"))
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "kohya").iterdir()} == {"config.toml", "dataset.toml", "lorakit.toml"}
    assert "sdxl_train_network.py" in result.output
    back = tmp_path / "back.toml"
    result = run("import", str(tmp_path / "kohya" / "config.toml"), "-o", str(back))
    assert result.exit_code == 0, result.output
    assert load_config(back) == load_config(cfg_path)


def test_import_lora_metadata(tmp_path):
    header = json.dumps(
        {"__metadata__": {"ss_network_dim": "8", "ss_network_alpha": "4", "ss_base_model_version": "sd_v1"}}
    )
    lora = tmp_path / "x.safetensors"
    lora.write_bytes(len(header).to_bytes(8, "little") + header.encode())
    result = run("import", str(lora))
    assert result.exit_code == 0, result.output
    assert 'family = "sd1"' in result.output and "dim = 8" in result.output


def test_presets_table():
    result = run("presets")
    assert result.exit_code == 0 and "pony-illustrious-character" in result.output


@pytest.mark.parametrize("module", ["lorakit.cli.config"])
def test_cli_module_does_not_import_the_config_core(module):
    code = f"import sys, {module}; print('lorakit.config.schema' in sys.modules, 'pydantic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
