"""Loading and saving config files; every kind of bad input gives one clear message naming field, value, fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from lorakit.config.io import config_from_dict, load_config, save_config, to_toml
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError


def _issues(data: dict) -> list[ConfigError]:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(data)
    return caught.value.issues


BAD = [
    # (raw config, field named, words in the problem, words in the fix)
    ({"network": {"netwrk_dim": 8}}, "network.netwrk_dim", "not a known setting", "network.dim"),
    ({"network": {"network_dim": 8}}, "network.network_dim", "not a known setting", "network.dim"),
    ({"network_dim": 8}, "network_dim", "not a known setting", "[network]"),
    ({"network": {"learning_rate": 1}}, "network.learning_rate", "not a known setting", "[learning]"),
    (
        {"dataset": {"subsets": [{"image_dir": "/a", "repeats": 3}]}},
        "dataset.subsets[0].repeats",
        "not a known",
        "num_repeats",
    ),
    ({"network": {"dim": "big"}}, "network.dim", "'big'", "whole number"),
    ({"learning": {"learning_rate": "fast"}}, "learning.learning_rate", "'fast'", "a number"),
    ({"network": {"dim": 0}}, "network.dim", "= 0", "1 or more"),
    ({"captions": {"caption_dropout_rate": 1.5}}, "captions.caption_dropout_rate", "1.5", "1.0 or less"),
    ({"network": {"type": "lorra"}}, "network.type", "not one of the choices", "Did you mean 'lora'"),
    (
        {"memory": {"gradient_checkpointing": "maybe"}},
        "memory.gradient_checkpointing",
        "true or false",
        "gradient_checkpointing = true",
    ),
    ({"memory": {"mixed_precision": "fp32"}}, "memory.mixed_precision", "'fp32'", "'bf16'"),
    ({"optimizer": {"optimizer_type": "prodgy"}}, "optimizer.optimizer_type", "Did you mean 'Prodigy'", ""),
    ({"dataset": {"resolution": "huge"}}, "dataset.resolution", "'huge'", "whole number"),
    ({"dataset": {"resolution": 8}}, "dataset.resolution", "between 64 and 4096", ""),
    ({"dataset": {"subsets": [{"num_repeats": 2}]}}, "dataset.subsets[0].image_dir", "missing", "Add"),
    ({"network": 5}, "network", "5", "table"),
]


@pytest.mark.parametrize(("data", "field", "problem", "fix"), BAD, ids=[b[1] for b in BAD])
def test_bad_values_name_field_value_and_fix(data, field, problem, fix):
    issues = _issues(data)
    assert len(issues) == 1
    assert issues[0].field == field
    assert problem in issues[0].problem
    assert fix in (issues[0].fix or "")


def test_all_problems_are_reported_at_once():
    issues = _issues({"network": {"dim": 0, "alpha": -1}, "schedule": {"seed": "x"}, "bogus": 1})
    assert {i.field for i in issues} == {"network.dim", "network.alpha", "schedule.seed", "bogus"}


def test_secret_values_are_never_shown():
    issues = _issues({"logging": {"huggingface_token": ["hf_abcdef"]}})
    assert "hf_abcdef" not in issues[0].problem and "***" in issues[0].problem


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "nope.toml")
    assert "does not exist" in caught.value.problem and "lorakit config new" in caught.value.fix


def test_toml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[network]\ndim = 16\nalpha = \n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "not valid TOML" in caught.value.problem and "line 3" in caught.value.problem
    assert caught.value.fix


def test_save_then_load_is_the_same_config(tmp_path):
    cfg = config_from_dict(
        {
            "network": {"dim": 32},
            "output": {"output_dir": str(tmp_path / "out")},
            "dataset": {
                "resolution": [832, 1216],
                "subsets": [{"image_dir": str(tmp_path / "img"), "num_repeats": 4}],
            },
            "samples": {"sample_prompts": ["a cat", "a dog"]},
            "optimizer": {"betas": [0.9, 0.99]},
        }
    )
    path = save_config(cfg, tmp_path / "cfg.toml")
    assert load_config(path) == cfg
    assert load_config(save_config(cfg, tmp_path / "small.toml", only_changed=True)) == cfg


def test_secrets_and_empty_values_are_not_saved(tmp_path):
    cfg = config_from_dict({"logging": {"wandb_api_key": "wb-SECRET", "huggingface_token": "hf_SECRET"}})
    text = to_toml(cfg)
    assert "SECRET" not in text and "wandb_api_key" not in text
    assert "= None" not in text and "unet_lr" not in text  # None values are left out


def test_relative_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "project").mkdir()
    path = tmp_path / "project" / "cfg.toml"
    path.write_text('[output]\noutput_dir = "out"\n[[dataset.subsets]]\nimage_dir = "images"\n')
    cfg = load_config(path)
    assert cfg.output.output_dir == tmp_path / "project" / "out"
    assert cfg.dataset.subsets[0].image_dir == tmp_path / "project" / "images"
    assert load_config(path, relative_to_file=False).dataset.subsets[0].image_dir == Path("images")


def test_a_preset_file_loads_as_a_config():
    from lorakit.config.presets import BUILTIN_DIR

    cfg = load_config(BUILTIN_DIR / "sdxl-character.toml")
    assert isinstance(cfg, TrainConfig) and cfg.model.family == "sdxl"


def test_model_files_next_to_the_config_are_found(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "base.safetensors").write_bytes(b"")
    path = tmp_path / "cfg.toml"
    path.write_text('[model]\npretrained_model_name_or_path = "models/base.safetensors"\nvae = "org/vae-repo"\n')
    cfg = load_config(path)
    assert cfg.model.pretrained_model_name_or_path == str(tmp_path / "models" / "base.safetensors")
    assert cfg.model.vae == "org/vae-repo"  # a Hugging Face id stays as written


def test_saved_subsets_are_blocks_with_their_repeats(tmp_path):
    cfg = config_from_dict(
        {"dataset": {"subsets": [{"image_dir": "/a"}, {"image_dir": "/b", "num_repeats": 5, "is_reg": True}]}}
    )
    text = to_toml(cfg, only_changed=True)
    assert text.count("[[dataset.subsets]]") == 2
    assert 'image_dir = "/a"\nnum_repeats = 1\n' in text and "is_reg = true" in text
    assert load_config(save_config(cfg, tmp_path / "c.toml", only_changed=True), relative_to_file=False) == cfg
