"""Every setting labelled effect="trainer" changes what lorakit's trainer computes.

One row per field: the field, a value away from its default, the other settings the change needs (applied
to both runs), and what must differ between the two short tiny-model runs (the LoRA's weights, its
metadata, the files written, the learning rates, the plan, the samples, or a check on the prepared run).
The harness is tests/train/effect_probe.py. ``test_every_trainer_field_has_a_row`` fails when a "trainer"
field has no row here. To add a row: append ``Row("section.field", value, {needed settings}, check)``
to ROWS (see /work/notes/settings-table.md); a value "@name" is a fixture file from the harness.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

from .effect_probe import (
    Probe,
    Probes,
    events_differ,
    files_differ,
    log_dirs_differ,
    lrs_differ,
    metadata_differs,
    plan_differs,
    samples_differ,
    steps_differ,
    weights_differ,
)

Check = Callable[[Probe, Probe], bool]


@dataclass(frozen=True)
class Row:
    field: str  # dotted path; "dataset.subsets[].x" sets x on the one subset of the run
    value: Any  # the changed value ("@name": a harness fixture)
    needs: dict[str, Any] = field(default_factory=dict)  # settings both runs share (what the change needs)
    differs: Check = weights_differ  # what must differ between the run with and without the change
    only_if: str | None = None  # "cuda", or a module name that must be importable
    env: dict[str, str] = field(default_factory=dict)  # environment of the changed run

    @property
    def id(self) -> str:
        return f"{self.field}={self.value!r}"


def pending(row: Row, why: str):
    """A row for a feature not landed yet (strict: it must start failing the day it lands... or be unmarked)."""
    return pytest.param(row, marks=pytest.mark.xfail(strict=True, reason=why), id=row.id)


B1A = "trainer-core work of issue #11 (B1a), in progress"
HUBER = {"noise.loss_type": "huber"}
REG = {"dataset.reg_data_dir": "@reg"}
PROMPTS = {"samples.sample_prompts": "@prompts"}
# At 128 px with 32-px steps a 96x64 image gets a 160x96 bucket, not the square.
SIZES = {"dataset.resolution": 128, "dataset.min_bucket_reso": 64}
BUCKETS = {**SIZES, "dataset.enable_bucket": True, "dataset.bucket_reso_steps": 32}
SDXL = {"model.pretrained_model_name_or_path": "@tiny_sdxl", "model.family": "sdxl"}
TB = {"logging.log_with": "tensorboard"}
FLUX = {"model.pretrained_model_name_or_path": "@tiny_flux", "model.family": "flux"}
VALIDATION = events_differ("validation")


def REFUSED(a: Probe, b: Probe) -> bool:  # a marker: the changed run must be refused
    raise AssertionError("not called: the test expects the changed run to be refused")


def _processors(run) -> set[str]:
    return {type(p).__name__ for p in run.family.components.unet.attn_processors.values()}


def _channels_last(run) -> bool:
    conv = run.family.components.unet.conv_in.weight
    return conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()


def _compiled(run) -> bool:
    return getattr(run.family.components.unet, "_compiled_call_impl", None) is not None


def _fused_steps(run) -> int:
    hooks = getattr(run, "fused_backward", None)  # set by the loop when the fused backward pass is on
    return hooks.param_steps if hooks is not None else 0


def run_check(predicate: Callable[[Any, Any], bool], name: str) -> Check:
    """A check on the prepared runs themselves (for settings that change how, not what, is computed)."""

    def check(a: Probe, b: Probe) -> bool:
        return predicate(a.run, b.run)

    check.__name__ = name
    return check


ROWS: list[Any] = [
    # -- model --
    Row("model.pretrained_model_name_or_path", "@tiny_sd1_seed1"),
    Row("model.family", "sd2-v"),
    Row("model.vae", "@vae_seed1"),
    # Single files only: the layout a file is read with (here one with another noise schedule).
    Row(
        "model.architecture_config",
        "@layout_sd1_other_noise",
        {"model.pretrained_model_name_or_path": "@tiny_sd1_file", "model.architecture_config": "@layout_sd1"},
    ),
    Row("model.v_parameterization", True),
    Row("model.clip_skip", 2),
    # Flux (tests/flux/test_flow.py checks each against its formula).
    Row("model.t5xxl_max_token_length", 8, FLUX),
    Row("model.apply_t5_attn_mask", True, FLUX),
    Row("model.guidance_scale", 3.5, FLUX),
    Row("model.timestep_sampling", "shift", FLUX),
    Row("model.sigmoid_scale", 3.0, {**FLUX, "model.timestep_sampling": "sigmoid"}),
    Row("model.discrete_flow_shift", 1.5, FLUX),
    Row("model.model_prediction_type", "raw", FLUX),
    # -- output --
    Row("output.output_dir", "@other_out", differs=lambda a, b: a.run_dir.parent != b.run_dir.parent),
    Row("output.output_name", "other", differs=files_differ),
    Row("output.save_precision", "bf16"),
    Row("output.save_every_n_epochs", 1, {"schedule.max_train_steps": 5}, files_differ),
    Row("output.save_every_n_steps", 1, differs=files_differ),
    Row("output.save_last_n_epochs", 1, {"output.save_every_n_steps": 1, "schedule.max_train_steps": 4}, files_differ),
    Row("output.save_state", True, differs=files_differ),
    Row(
        "output.save_last_n_epochs_state",
        2,
        {"output.save_every_n_steps": 1, "schedule.max_train_steps": 4},
        files_differ,
    ),
    Row("output.resume", "@state"),
    Row("output.no_metadata", True, differs=metadata_differs),
    Row("output.metadata_title", "Kitbot", differs=metadata_differs),
    Row("output.metadata_author", "Ann", differs=metadata_differs),
    Row("output.metadata_description", "A robot cat.", differs=metadata_differs),
    Row("output.metadata_license", "CC-BY-4.0", differs=metadata_differs),
    Row("output.metadata_tags", "robot, cat", differs=metadata_differs),
    Row("output.trigger_words", ["kitbot"], differs=metadata_differs),
    Row("output.training_comment", "first try", differs=metadata_differs),
    # -- dataset --
    Row("dataset.subsets", [{"image_dir": "@data2/2_kitbot", "num_repeats": 1}]),
    Row("dataset.train_data_dir", "@data2"),
    Row("dataset.reg_data_dir", "@reg"),
    Row("dataset.prior_loss_weight", 0.25, REG),
    Row("dataset.resolution", 128),
    Row("dataset.enable_bucket", True, {**SIZES, "dataset.bucket_reso_steps": 32}, plan_differs),
    Row("dataset.min_bucket_reso", 128, BUCKETS, plan_differs),
    Row("dataset.max_bucket_reso", 128, BUCKETS, plan_differs),
    Row("dataset.bucket_reso_steps", 32, {**SIZES, "dataset.enable_bucket": True}, plan_differs),
    Row("dataset.bucket_no_upscale", True, BUCKETS, plan_differs),
    Row("dataset.flip_aug", True),
    Row("dataset.color_aug", True),
    Row("dataset.random_crop", True),
    Row(
        "dataset.alpha_mask", True, {"dataset.masked_loss": True, "dataset.subsets[].image_dir": "@data_rgba/2_kitbot"}
    ),
    Row("dataset.masked_loss", True, {"dataset.train_data_dir": "@data_masked"}),
    Row("dataset.face_crop_aug_range", (2.0, 4.0), {"dataset.subsets[].image_dir": "@data_faces/2_kitbot"}),
    # -- captions --
    Row("captions.caption_extension", ".caption"),
    Row("captions.shuffle_caption", True),
    Row("captions.keep_tokens", 2, {"captions.shuffle_caption": True}),
    Row(
        "captions.keep_tokens_separator",
        "|||",
        {"captions.shuffle_caption": True, "captions.caption_prefix": "kitbot, cat ||| "},
    ),
    Row(
        "captions.secondary_separator",
        ";;;",
        {"captions.shuffle_caption": True, "captions.caption_prefix": "red;;;eyes, "},
    ),
    Row("captions.caption_prefix", "ohwx, "),
    Row("captions.caption_suffix", ", ohwx"),
    Row("captions.caption_dropout_rate", 0.5),
    Row("captions.caption_dropout_every_n_epochs", 1),
    Row("captions.caption_tag_dropout_rate", 0.5),
    Row("captions.token_warmup_min", 2, {"captions.token_warmup_step": 10}),
    Row("captions.token_warmup_step", 10),
    Row("captions.enable_wildcard", True, {"captions.caption_prefix": "{red|blue|green|pink} "}),
    Row("captions.weighted_captions", True, {"captions.caption_prefix": "(kitbot:1.5), "}),
    Row("captions.max_token_length", 150),
    # -- schedule --
    Row("schedule.max_train_epochs", 1, differs=steps_differ),
    Row("schedule.max_train_steps", 3, differs=steps_differ),
    Row("schedule.train_batch_size", 1),
    Row("schedule.gradient_accumulation_steps", 2),
    Row("schedule.seed", 7),
    # -- learning --
    Row("learning.learning_rate", 1e-2),
    Row("learning.unet_lr", 1e-2),
    Row("learning.text_encoder_lr", 1e-2),
    Row("learning.text_encoder_2_lr", 1e-2, SDXL),
    Row("learning.lr_scheduler", "linear", differs=lrs_differ),
    Row(
        "learning.lr_warmup_steps",
        2,
        {"learning.lr_scheduler": "constant_with_warmup", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.lr_decay_steps",
        2,
        {"learning.lr_scheduler": "warmup_stable_decay", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.lr_scheduler_num_cycles",
        2,
        {"learning.lr_scheduler": "cosine_with_restarts", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.lr_scheduler_power",
        3.0,
        {"learning.lr_scheduler": "polynomial", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.lr_scheduler_min_lr_ratio",
        0.5,
        {"learning.lr_scheduler": "cosine", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.lr_scheduler_args",
        {"timescale": 1},
        {"learning.lr_scheduler": "inverse_sqrt", "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row(
        "learning.rex_gamma",
        0.5,
        {"learning.lr_scheduler": "rex", "learning.lr_scheduler_num_cycles": 2, "schedule.max_train_steps": 4},
        lrs_differ,
    ),
    Row("learning.rex_d", 0.5, {"learning.lr_scheduler": "rex", "schedule.max_train_steps": 4}, lrs_differ),
    # -- optimizer --
    Row("optimizer.optimizer_type", "SGDNesterov"),
    Row("optimizer.weight_decay", 0.5),
    Row("optimizer.betas", (0.5, 0.9)),
    Row("optimizer.eps", 1e-3),
    Row("optimizer.optimizer_args", {"amsgrad": True}, {"schedule.max_train_steps": 3}),
    Row("optimizer.max_grad_norm", 1e-4),
    Row("optimizer.loraplus_lr_ratio", 16.0),
    Row("optimizer.loraplus_unet_lr_ratio", 16.0),
    Row("optimizer.loraplus_text_encoder_lr_ratio", 16.0),
    # -- network --
    # lora and locon build the same network (conv layers come from conv_dim); loha/lokr/dora write other tensors.
    Row("network.type", "loha"),
    # LoKr's split and its full/low-rank sides: at dim 1 the large side is low-rank unless full_matrix.
    Row("network.factor", 2, {"network.type": "lokr"}),
    Row("network.decompose_both", True, {"network.type": "lokr", "network.dim": 1, "network.alpha": 1.0}),
    Row("network.full_matrix", True, {"network.type": "lokr", "network.dim": 1, "network.alpha": 1.0}),
    Row("network.dora_wd", True),
    Row("network.dim", 8),
    Row("network.alpha", 1.0),
    Row("network.conv_dim", 4),
    Row("network.conv_alpha", 1.0, {"network.conv_dim": 4}),
    Row("network.network_dropout", 0.5),
    Row("network.rank_dropout", 0.5),
    Row("network.module_dropout", 0.5),
    Row("network.train_unet_only", True),
    Row("network.train_text_encoder_only", True),
    Row("network.network_weights", "@lora"),
    # dim_from_weights: the file's alpha (1) instead of the config's (4) changes the scale trained at.
    Row("network.dim_from_weights", True, {"network.network_weights": "@lora_alpha1"}),
    Row("network.block_dims", [2] * 25),
    Row("network.block_alphas", [1.0] * 25),
    Row("network.conv_block_dims", [2] * 25, {"network.conv_dim": 4}),
    Row("network.conv_block_alphas", [1.0] * 25, {"network.conv_dim": 4}),
    Row("network.down_lr_weight", [0.5] * 12, differs=lrs_differ),
    Row("network.mid_lr_weight", 0.5, differs=lrs_differ),
    Row("network.up_lr_weight", [0.5] * 12, differs=lrs_differ),
    Row("network.block_lr_zero_threshold", 0.6, {"network.down_lr_weight": [0.5] * 12}),
    Row("network.target_modules", ["to_q"], {"network.train_unet_only": True}),
    Row("network.base_weights", ["@lora"]),
    Row("network.base_weights_multiplier", [0.5], {"network.base_weights": ["@lora"]}),
    Row("network.scale_weight_norms", 1e-3),
    Row("network.train_blocks", "single", FLUX),
    Row("network.train_t5xxl", True, FLUX),
    # -- noise --
    Row("noise.noise_offset", 0.1),
    Row("noise.noise_offset_random_strength", True, {"noise.noise_offset": 0.1}),
    Row("noise.adaptive_noise_scale", 0.05, {"noise.noise_offset": 0.1}),
    Row("noise.multires_noise_iterations", 6),
    Row("noise.multires_noise_discount", 0.1, {"noise.multires_noise_iterations": 6}),
    Row("noise.ip_noise_gamma", 0.1),
    Row("noise.ip_noise_gamma_random_strength", True, {"noise.ip_noise_gamma": 0.1}),
    Row("noise.min_snr_gamma", 1.0),
    Row("noise.debiased_estimation_loss", True),
    Row("noise.scale_v_pred_loss_like_noise_pred", True, {"model.v_parameterization": True}),
    Row("noise.v_pred_like_loss", 0.5),
    Row("noise.zero_terminal_snr", True),
    Row("noise.min_timestep", 900),
    Row("noise.max_timestep", 100),
    Row("noise.loss_type", "huber"),
    Row("noise.huber_schedule", "constant", HUBER),
    Row("noise.huber_c", 0.5, HUBER),
    # -- memory --
    # Mixed precision acts on a CPU too (autocast, and fp16 loss scaling): tests/train/test_precision.py.
    Row("memory.mixed_precision", "bf16"),
    Row("memory.full_fp16", True, {"memory.mixed_precision": "fp16"}),
    Row("memory.full_bf16", True, {"memory.mixed_precision": "bf16"}),
    Row("memory.no_half_vae", True, {"memory.mixed_precision": "bf16"}),
    # fp8 base weights need an fp8-capable GPU; elsewhere they are refused (tests/train/test_precision.py).
    Row("memory.fp8_base", True, {"memory.mixed_precision": "bf16"}, only_if="fp8"),
    Row(
        "memory.channels_last",
        True,
        differs=run_check(lambda a, b: _channels_last(a) != _channels_last(b), "memory_format_differs"),
    ),
    Row(
        "memory.gradient_checkpointing",
        True,
        differs=run_check(
            lambda a, b: (
                a.family.components.unet.is_gradient_checkpointing
                != b.family.components.unet.is_gradient_checkpointing
            ),
            "checkpointing_differs",
        ),
    ),
    Row(
        "memory.cache_latents",
        True,
        differs=run_check(
            lambda a, b: (a.feed.latent_cache is None) != (b.feed.latent_cache is None), "cache_differs"
        ),
    ),
    Row("memory.cache_latents_to_disk", True, {"memory.cache_latents": True}, files_differ),
    Row(
        "memory.cache_text_encoder_outputs",
        True,
        {"network.train_unet_only": True},
        run_check(lambda a, b: (a.feed.text_cache is None) != (b.feed.text_cache is None), "cache_differs"),
    ),
    Row(
        "memory.cache_text_encoder_outputs_to_disk",
        True,
        {"network.train_unet_only": True, "memory.cache_text_encoder_outputs": True},
        files_differ,
    ),
    Row(
        "memory.vae_batch_size",
        4,
        {"memory.cache_latents": True},
        run_check(lambda a, b: a.feed.encoded_batches != b.feed.encoded_batches, "vae_calls_differ"),
    ),
    # Flux block swap: hooks on a GPU; on a CPU a no-op that says so (tests/flux/test_block_swap.py).
    Row(
        "memory.blocks_to_swap",
        1,
        FLUX,
        run_check(
            lambda a, b: (
                hasattr(b.family.components.unet, "lorakit_block_swap")
                or any("blocks_to_swap" in n for n in getattr(b.family, "notes", []))
            ),
            "swapped_or_said_why_not",
        ),
    ),
    Row("memory.attention", "none", differs=run_check(lambda a, b: _processors(a) != _processors(b), "attention")),
    # Compiled with the "eager" backend here (LORAKIT_COMPILE_BACKEND): dynamo runs, no C++ build on the CPU.
    Row(
        "memory.torch_compile",
        True,
        differs=run_check(lambda a, b: _compiled(a) != _compiled(b), "compiled_differs"),
        env={"LORAKIT_COMPILE_BACKEND": "eager"},
    ),
    # Fused, Adafactor steps each parameter inside backward: the same weights within float tolerance
    # (the correctness test is tests/train/test_fused_backward.py), so check the hooks did the stepping.
    Row(
        "memory.fused_backward_pass",
        True,
        {"optimizer.optimizer_type": "Adafactor"},
        run_check(lambda a, b: _fused_steps(a) == 0 < _fused_steps(b), "stepped_in_backward"),
    ),
    # -- samples --
    Row("samples.sample_prompts", "@prompts", {"samples.sample_every_n_steps": 1}, files_differ),
    Row("samples.sample_every_n_epochs", 1, {**PROMPTS, "schedule.max_train_steps": 5}, files_differ),
    Row("samples.sample_every_n_steps", 1, PROMPTS, files_differ),
    Row("samples.sample_at_first", True, PROMPTS, files_differ),
    Row("samples.sample_sampler", "ddim", {**PROMPTS, "samples.sample_at_first": True}, samples_differ),
    Row("samples.validation_split", 0.25),
    Row("samples.validate_every_n_steps", 1, {"samples.validation_split": 0.25}, VALIDATION),
    # With a split and no interval, validation runs every epoch; every 2nd epoch changes that.
    Row(
        "samples.validate_every_n_epochs",
        2,
        {"samples.validation_split": 0.25, "schedule.max_train_steps": 6},
        VALIDATION,
    ),
    # -- logging --
    Row("logging.log_with", "tensorboard", differs=log_dirs_differ, only_if="tensorboard"),
    Row("logging.logging_dir", "@logs", TB, log_dirs_differ, only_if="tensorboard"),
    Row("logging.log_prefix", "try1-", TB, log_dirs_differ, only_if="tensorboard"),
    Row("logging.log_tracker_name", "kitbot", TB, log_dirs_differ, only_if="tensorboard"),
    # With wandb installed these run offline (WANDB_MODE=offline): the run folder wandb writes differs.
    Row("logging.wandb_run_name", "kitbot", {"logging.log_with": "wandb"}, files_differ, only_if="wandb"),
    Row(
        "logging.wandb_api_key",
        "x" * 40,
        {"logging.log_with": "wandb"},
        lambda a, b: os.environ.get("WANDB_API_KEY") == "x" * 40,  # what wandb reads its key from
        only_if="wandb",
    ),
    # -- multigpu --
    # `lorakit train` launches num_processes processes (tests/train/test_multiprocess.py and
    # test_trainer_core.py); a run started alone says it got fewer than asked.
    Row("multigpu.num_processes", 2, differs=events_differ("warning")),
]

# Per-subset overrides: the dataset-level row, set on the subset instead (both runs use one explicit subset).
SUBSET_ROWS: list[Any] = [
    Row("dataset.subsets[].image_dir", "@data2/2_kitbot"),
    Row("dataset.subsets[].num_repeats", 1),
    Row("dataset.subsets[].class_tokens", "ohwx robot", {"dataset.subsets[].caption_extension": ".none"}),
    Row(
        "dataset.subsets[].is_reg",
        True,
        {
            "dataset.extra_subset": {"image_dir": "@data2/2_kitbot", "num_repeats": 2},
            "dataset.prior_loss_weight": 0.25,
        },
    ),
]


def _subset_override(param: Any) -> Any:
    row = param.values[0] if hasattr(param, "values") else param
    section, name = row.field.split(".", 1)
    if section not in ("dataset", "captions"):
        return None
    from lorakit.config.dataset import SubsetConfig

    if name not in SubsetConfig.model_fields or row.field.startswith("dataset.subsets"):
        return None
    needs = {
        (f"dataset.subsets[].{k.split('.', 1)[1]}" if k.startswith("captions.") else k): v
        for k, v in row.needs.items()
    }
    moved = Row(f"dataset.subsets[].{name}", row.value, needs, row.differs, row.only_if, row.env)
    if hasattr(param, "values"):
        return pytest.param(moved, marks=param.marks, id=moved.id)
    return moved


SUBSET_ROWS += [moved for moved in map(_subset_override, ROWS) if moved is not None]
ALL_ROWS = ROWS + SUBSET_ROWS


def _row(param: Any) -> Row:
    return param.values[0] if hasattr(param, "values") else param


@pytest.fixture(scope="module")
def probes(tmp_path_factory, tiny_sd1, tiny_sdxl, single_file_checkpoint):
    return Probes(tmp_path_factory.mktemp("effects"), tiny_sd1, tiny_sdxl, single_file_checkpoint)


@pytest.mark.parametrize("row", [p if hasattr(p, "values") else pytest.param(p, id=p.id) for p in ALL_ROWS])
def test_setting_changes_what_the_trainer_computes(row: Row, probes: Probes, monkeypatch):
    if row.only_if == "cuda":
        if not torch.cuda.is_available():
            pytest.skip("this setting acts on the GPU path only; run on a CUDA machine")
    elif row.only_if == "fp8":
        from lorakit.train.precision import fp8_refusal

        why = fp8_refusal(torch.device("cuda")) if torch.cuda.is_available() else "no CUDA GPU"
        if why:
            pytest.skip(f"fp8 base weights need an fp8-capable CUDA GPU ({why}); run on one")
    elif row.only_if:
        pytest.importorskip(row.only_if)
        monkeypatch.setenv("WANDB_MODE", "offline")
        monkeypatch.delenv("WANDB_API_KEY", raising=False)  # restored after the test
    baseline = probes.probe(row.needs)
    for name, value in row.env.items():
        monkeypatch.setenv(name, value)
    if row.differs is REFUSED:  # the trainer refuses the value before any model loads
        from lorakit.errors import ConfigError

        with pytest.raises(ConfigError, match=r"not available|cannot train"):
            probes.probe({**row.needs, row.field: row.value})
        return
    changed = probes.probe({**row.needs, row.field: row.value})
    assert row.differs(baseline, changed), f"{row.field} = {row.value!r} changed nothing ({row.differs.__name__})"


def test_every_trainer_field_has_a_row():
    from typing import Literal, get_args, get_origin

    from lorakit.config.catalog import all_fields

    covered = {_row(p).field for p in ALL_ROWS}
    missing = []
    for spec in all_fields():
        annotation = spec.info.annotation
        single = get_origin(annotation) is Literal and len(get_args(annotation)) == 1  # cannot be changed
        if spec.effect == "trainer" and not single and spec.path not in covered:
            missing.append(spec.path)
    assert not missing, f"trainer fields without a row in ROWS: {missing}"
    extra = covered - {s.path for s in all_fields() if s.effect == "trainer"}
    assert not extra, f"rows for fields not labelled trainer: {sorted(extra)}"
