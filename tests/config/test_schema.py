"""The TrainConfig tree: every field fully declared, sections, subsets and folder conversion."""

from __future__ import annotations

from pathlib import Path

import pytest

from lorakit.config.catalog import all_fields, find_field, top_fields
from lorakit.config.fields import LEVELS
from lorakit.config.schema import SECTIONS, TrainConfig


def test_defaults_build_a_config():
    cfg = TrainConfig()
    assert cfg.config_version == 1
    assert [name for name in TrainConfig.model_fields if name != "config_version"] == list(SECTIONS)


@pytest.mark.parametrize("spec", [s for s in all_fields() if "[]" not in s.path or s.meta], ids=lambda s: s.path)
def test_every_field_is_fully_declared(spec):
    assert len(spec.help) >= 15, "help should say what it does in plain words"
    assert spec.level in LEVELS
    assert spec.meta.get("kohya"), "an sd-scripts name or LORAKIT_ONLY"


def test_catalog_covers_the_parameter_catalog():
    # A sample of names from the design's PARAMETERS.md, one or more per section.
    expected = [
        "pretrained_model_name_or_path",
        "vae",
        "v_parameterization",
        "clip_skip",
        "clip_l",
        "t5xxl",
        "ae",
        "guidance_scale",
        "timestep_sampling",
        "discrete_flow_shift",
        "model_prediction_type",
        "output_dir",
        "output_name",
        "save_precision",
        "save_every_n_epochs",
        "save_state",
        "resume",
        "no_metadata",
        "metadata_title",
        "train_data_dir",
        "reg_data_dir",
        "resolution",
        "prior_loss_weight",
        "enable_bucket",
        "min_bucket_reso",
        "bucket_no_upscale",
        "flip_aug",
        "color_aug",
        "face_crop_aug_range",
        "alpha_mask",
        "masked_loss",
        "shuffle_caption",
        "keep_tokens_separator",
        "caption_dropout_rate",
        "token_warmup_step",
        "enable_wildcard",
        "weighted_captions",
        "max_token_length",
        "max_train_epochs",
        "max_train_steps",
        "train_batch_size",
        "gradient_accumulation_steps",
        "seed",
        "learning_rate",
        "unet_lr",
        "text_encoder_lr",
        "lr_scheduler",
        "lr_warmup_steps",
        "lr_scheduler_num_cycles",
        "lr_scheduler_power",
        "lr_scheduler_min_lr_ratio",
        "lr_scheduler_args",
        "optimizer_type",
        "weight_decay",
        "betas",
        "eps",
        "optimizer_args",
        "max_grad_norm",
        "loraplus_lr_ratio",
        "network_dim",
        "network_alpha",
        "conv_dim",
        "network_dropout",
        "rank_dropout",
        "module_dropout",
        "factor",
        "train_norm",
        "use_tucker",
        "network_train_unet_only",
        "network_weights",
        "dim_from_weights",
        "block_dims",
        "down_lr_weight",
        "base_weights",
        "scale_weight_norms",
        "noise_offset",
        "adaptive_noise_scale",
        "multires_noise_iterations",
        "ip_noise_gamma",
        "min_snr_gamma",
        "debiased_estimation_loss",
        "zero_terminal_snr",
        "min_timestep",
        "loss_type",
        "huber_c",
        "mixed_precision",
        "full_fp16",
        "fp8_base",
        "gradient_checkpointing",
        "cache_latents_to_disk",
        "cache_text_encoder_outputs",
        "vae_batch_size",
        "no_half_vae",
        "max_data_loader_n_workers",
        "blocks_to_swap",
        "lowram",
        "torch_compile",
        "fused_backward_pass",
        "sample_prompts",
        "sample_every_n_steps",
        "sample_at_first",
        "sample_sampler",
        "validation_split",
        "validate_every_n_epochs",
        "log_with",
        "logging_dir",
        "wandb_api_key",
        "huggingface_repo_id",
        "huggingface_token",
        "async_upload",
        "ddp_timeout",
        "deepspeed",
    ]
    missing = [name for name in expected if find_field(name) is None]
    assert missing == []
    assert len(top_fields()) > 180


def test_secrets_are_marked():
    assert {s.path for s in all_fields() if s.secret} == {"logging.wandb_api_key", "logging.huggingface_token"}


@pytest.mark.parametrize(
    ("given", "stored", "wh"),
    [
        (512, 512, (512, 512)),
        ("768", 768, (768, 768)),
        ("1024,768", (1024, 768), (1024, 768)),
        ([640, 640], 640, (640, 640)),
        ([832, 1216], (832, 1216), (832, 1216)),
    ],
)
def test_resolution_forms(given, stored, wh):
    cfg = TrainConfig.model_validate({"dataset": {"resolution": given}})
    assert cfg.dataset.resolution == stored and cfg.dataset.resolution_wh == wh


def test_resolved_subsets_inherit_and_override():
    cfg = TrainConfig.model_validate(
        {
            "captions": {"shuffle_caption": True, "keep_tokens": 1},
            "dataset": {
                "flip_aug": True,
                "subsets": [
                    {"image_dir": "/a", "num_repeats": 5},
                    {"image_dir": "/b", "keep_tokens": 3, "flip_aug": False},
                ],
            },
        }
    )
    a, b = cfg.resolved_subsets()
    assert (a.num_repeats, a.shuffle_caption, a.keep_tokens, a.flip_aug) == (5, True, 1, True)
    assert (b.num_repeats, b.shuffle_caption, b.keep_tokens, b.flip_aug) == (1, True, 3, False)


def test_train_data_dir_becomes_explicit_subsets(tmp_path):
    (tmp_path / "train" / "10_ohwx woman").mkdir(parents=True)
    (tmp_path / "train" / "3_background").mkdir()
    (tmp_path / "reg" / "1_woman").mkdir(parents=True)
    cfg = TrainConfig.model_validate(
        {"dataset": {"train_data_dir": str(tmp_path / "train"), "reg_data_dir": str(tmp_path / "reg")}}
    )
    subsets = cfg.resolved_subsets()
    assert [(s.num_repeats, s.class_tokens, s.is_reg) for s in subsets] == [
        (10, "ohwx woman", False),
        (3, "background", False),
        (1, "woman", True),
    ]
    explicit = cfg.with_subsets_from_folders()
    assert explicit.dataset.train_data_dir is None and len(explicit.dataset.subsets) == 3
    assert explicit.dataset.subsets[0].image_dir == Path(tmp_path / "train" / "10_ohwx woman")


def test_assignment_is_validated():
    cfg = TrainConfig()
    with pytest.raises(ValueError):
        cfg.network.dim = 0


def test_secrets_do_not_show_in_repr():
    cfg = TrainConfig.model_validate({"logging": {"wandb_api_key": "wb-SECRET", "huggingface_token": "hf_SECRET"}})
    assert "SECRET" not in repr(cfg) and "SECRET" not in str(cfg.logging)
    assert cfg.logging.huggingface_token == "hf_SECRET"  # still there for the code that uploads
