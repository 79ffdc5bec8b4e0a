"""Cross-field validation: each contradictory setting gives a problem or a warning that names the fix."""

from __future__ import annotations

import pytest

from lorakit.config.presets import new_config
from lorakit.config.validate import check_keep_tokens, validate

BASE = {"model.pretrained_model_name_or_path": "org/model", "dataset.subsets": [{"image_dir": "/data/a"}]}

# (overrides, family detected, "problem" or "warning", field, words in the fix)
CASES = [
    (
        {"memory.cache_text_encoder_outputs": True, "network.train_unet_only": True, "captions.shuffle_caption": True},
        "sdxl",
        "problem",
        "captions.shuffle_caption",
        "cache_text_encoder_outputs",
    ),
    (
        {
            "memory.cache_text_encoder_outputs": True,
            "network.train_unet_only": True,
            "captions.caption_dropout_rate": 0.1,
        },
        "sdxl",
        "problem",
        "captions.caption_dropout_rate",
        "off value",
    ),
    (
        {
            "memory.cache_text_encoder_outputs": True,
            "network.train_unet_only": True,
            "captions.caption_tag_dropout_rate": 0.1,
        },
        "sdxl",
        "problem",
        "captions.caption_tag_dropout_rate",
        "",
    ),
    (
        {"memory.cache_text_encoder_outputs": True, "network.train_unet_only": True, "captions.token_warmup_step": 10},
        "sdxl",
        "problem",
        "captions.token_warmup_step",
        "",
    ),
    (
        {"memory.cache_text_encoder_outputs": True, "network.train_unet_only": True, "captions.enable_wildcard": True},
        "sdxl",
        "problem",
        "captions.enable_wildcard",
        "",
    ),
    (
        {
            "memory.cache_text_encoder_outputs": True,
            "network.train_unet_only": True,
            "dataset.subsets": [{"image_dir": "/a", "shuffle_caption": True}],
        },
        "sdxl",
        "problem",
        "dataset.subsets[0].shuffle_caption",
        "",
    ),
    (
        {"memory.cache_text_encoder_outputs": True},
        "sdxl",
        "problem",
        "network.train_unet_only",
        "network.train_unet_only = true",
    ),
    ({"memory.mixed_precision": "fp16"}, "sdxl", "warning", "memory.no_half_vae", "no_half_vae = true"),
    (
        {"optimizer.optimizer_type": "Prodigy", "learning.learning_rate": 1e-4},
        None,
        "warning",
        "learning.learning_rate",
        "1.0",
    ),
    (
        {"optimizer.optimizer_type": "DAdaptAdam", "learning.unet_lr": 1e-4, "learning.learning_rate": 1.0},
        None,
        "warning",
        "learning.unet_lr",
        "1.0",
    ),
    ({"learning.learning_rate": 0.05}, None, "warning", "learning.learning_rate", "1e-4"),
    (
        {"dataset.bucket_reso_steps": 32, "dataset.resolution": 512},
        "sd1",
        "warning",
        "dataset.bucket_reso_steps",
        "64",
    ),
    ({"dataset.bucket_reso_steps": 12}, None, "problem", "dataset.bucket_reso_steps", "64"),
    (
        {"dataset.resolution": 1000, "dataset.max_bucket_reso": 2048},
        None,
        "problem",
        "dataset.resolution",
        "multiple of 64",
    ),
    (
        {"dataset.min_bucket_reso": 1024, "dataset.max_bucket_reso": 512, "dataset.resolution": 512},
        None,
        "problem",
        "dataset.min_bucket_reso",
        "Swap",
    ),
    ({"dataset.resolution": 1280}, None, "problem", "dataset.max_bucket_reso", "at least 1280"),
    ({"network.dim": 8, "network.alpha": 16}, None, "warning", "network.alpha", "4"),
    ({"network.type": "ia3", "network.conv_dim": 4}, None, "problem", "network.conv_dim", "locon"),
    ({"dataset.color_aug": True}, None, "problem", "dataset.color_aug", "cache_latents"),
    (
        {"dataset.subsets": [{"image_dir": "/a", "random_crop": True}]},
        None,
        "problem",
        "dataset.subsets[0].random_crop",
        "cache_latents",
    ),
    (
        {"optimizer.optimizer_type": "AdamWScheduleFree", "learning.lr_scheduler": "cosine"},
        None,
        "problem",
        "learning.lr_scheduler",
        "constant",
    ),
    (
        {"schedule.max_train_steps": 1000, "schedule.max_train_epochs": 5},
        None,
        "warning",
        "schedule.max_train_steps",
        "empty schedule.max_train_epochs",
    ),
    (
        {"learning.lr_scheduler": "cosine_with_min_lr"},
        None,
        "problem",
        "learning.lr_scheduler_min_lr_ratio",
        "lr_scheduler_min_lr_ratio",
    ),
    (
        {"network.train_unet_only": True, "network.train_text_encoder_only": True},
        None,
        "problem",
        "network.train_text_encoder_only",
        "one of them",
    ),
    ({"memory.full_fp16": True, "memory.mixed_precision": "bf16"}, None, "problem", "memory.full_fp16", "fp16"),
    ({"memory.full_bf16": True, "memory.mixed_precision": "fp16"}, None, "problem", "memory.full_bf16", "bf16"),
    ({"model.pretrained_model_name_or_path": None}, None, "problem", "model.pretrained_model_name_or_path", "Set"),
    ({"dataset.subsets": []}, None, "problem", "dataset.subsets", "image_dir"),
    ({"dataset.train_data_dir": "/t"}, None, "problem", "dataset.train_data_dir", "Remove"),
    ({"noise.min_timestep": 500, "noise.max_timestep": 400}, None, "problem", "noise.min_timestep", ""),
    ({"memory.fused_backward_pass": True}, None, "problem", "memory.fused_backward_pass", "Adafactor"),
    ({"learning.lr_scheduler": "piecewise_constant"}, None, "problem", "learning.lr_scheduler_args", "step_rules"),
    ({"captions.keep_tokens": 2}, None, "warning", "captions.keep_tokens", "shuffle_caption"),
    ({"learning.lr_scheduler": "adafactor"}, None, "problem", "learning.lr_scheduler", "Adafactor"),
    ({"learning.lr_warmup_steps": 100}, None, "warning", "learning.lr_warmup_steps", "constant_with_warmup"),
    ({"model.v_parameterization": False}, "sd2-v", "problem", "model.v_parameterization", "Remove"),
    ({"samples.sample_every_n_epochs": 1}, None, "warning", "samples.sample_prompts", "trigger word"),
    ({"network.block_dims": [4, 4], "network.block_alphas": [2]}, None, "problem", "network.block_alphas", ""),
    ({"noise.adaptive_noise_scale": 0.01}, None, "problem", "noise.adaptive_noise_scale", "noise_offset"),
]


@pytest.mark.parametrize(("overrides", "family", "kind", "field", "fix"), CASES, ids=[c[3] for c in CASES])
def test_contradictions_are_found_with_a_fix(overrides, family, kind, field, fix):
    cfg = new_config(None, {**BASE, **overrides})
    report = validate(cfg, family=family, check_files=False)
    found = [i for i in (report.problems if kind == "problem" else report.warnings) if i.field == field]
    assert found, f"expected a {kind} on {field}; got {[i.field for i in report.problems + report.warnings]}"
    assert fix in (found[0].fix or "")


@pytest.mark.parametrize(
    "preset",
    [
        "sd15-character",
        "sdxl-character",
        "sdxl-lowvram-12gb",
        "flux-character",
        "pony-illustrious-character",
        "sd15-style",
        "sdxl-style",
        "tiny-demo",
    ],
)
def test_presets_are_clean(preset):
    cfg = new_config(preset, BASE)
    report = validate(cfg, check_files=False)
    assert report.problems == [] and report.warnings == [], [str(i) for i in report.problems + report.warnings]


def test_family_dependent_checks_wait_for_the_family():
    cfg = new_config(None, {**BASE, "memory.mixed_precision": "fp16"})
    assert not validate(cfg, check_files=False).warnings  # 'auto' and nothing detected: no SDXL VAE warning
    assert validate(cfg, family="sdxl", check_files=False).warnings


def test_raise_if_problems_lists_every_problem():
    from lorakit.errors import ConfigError

    report = validate(
        new_config(None, {"network.train_unet_only": True, "network.train_text_encoder_only": True}), check_files=False
    )
    with pytest.raises(ConfigError) as caught:
        report.raise_if_problems()
    assert len(caught.value.issues) == len(report.problems) >= 3
    assert report.to_dict()["ok"] is False


def test_keep_tokens_against_real_captions():
    cfg = new_config(
        None,
        {
            **BASE,
            "captions.keep_tokens": 3,
            "captions.shuffle_caption": True,
            "dataset.subsets": [{"image_dir": "/data/a"}, {"image_dir": "/data/b", "keep_tokens": 1}],
        },
    )
    report = check_keep_tokens(cfg, {"/data/a": [2, 3, 3, 12], "/data/b": [2, 3]})
    assert [w.field for w in report.warnings] == ["captions.keep_tokens"]
    assert "3" in report.warnings[0].problem and "1" in report.warnings[0].fix
    assert validate(cfg, caption_tag_counts={"/data/a": [20, 30]}, check_files=False).warnings == []


def test_missing_folders_and_files(tmp_path, image_folder):
    empty = tmp_path / "empty"
    empty.mkdir()
    cfg = new_config(
        None,
        {
            "model.pretrained_model_name_or_path": str(tmp_path / "missing.safetensors"),
            "dataset.subsets": [
                {"image_dir": str(image_folder)},
                {"image_dir": str(empty)},
                {"image_dir": str(tmp_path / "nowhere")},
            ],
        },
    )
    fields = {p.field: p.problem for p in validate(cfg).problems}
    assert "dataset.subsets[0].image_dir" not in fields
    assert "no images" in fields["dataset.subsets[1].image_dir"]
    assert "does not exist" in fields["dataset.subsets[2].image_dir"]
    assert "does not exist" in fields["model.pretrained_model_name_or_path"]


@pytest.mark.parametrize(
    ("found", "prediction", "family"), [("sdxl", "epsilon", "sdxl"), ("sd2", "v", "sd2-v"), ("sd3", "flow", None)]
)
def test_family_is_read_from_a_local_model(tmp_path, monkeypatch, found, prediction, family):
    from lorakit.config.validate import detected_family
    from lorakit.models import detect as detect_module

    model = tmp_path / "model.safetensors"
    model.write_bytes(b"")
    monkeypatch.setattr(
        detect_module,
        "detect",
        lambda path: detect_module.ModelInfo(
            path=str(path),
            name=path.name,
            kind="checkpoint",
            format="safetensors",
            family=found,
            prediction=prediction,
        ),
    )
    cfg = new_config(None, {"model.pretrained_model_name_or_path": str(model), "memory.mixed_precision": "fp16"})
    assert detected_family(cfg) == family
    vae_warning = [w for w in validate(cfg).warnings if w.field == "memory.no_half_vae"]
    assert bool(vae_warning) == (family == "sdxl")
