"""Cross-field checks of the training side: precision, learning rates, network, schedule, noise, model family.

Each takes ``(cfg, family, report)`` like those in :mod:`lorakit.config.checks`.
"""

from __future__ import annotations

from lorakit.config.report import ValidationReport, check
from lorakit.config.schema import TrainConfig
from lorakit.config.sections.network import CONV_CAPABLE
from lorakit.config.sections.training import ADAPTIVE_OPTIMIZERS


@check
def _precision(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    mem = cfg.memory
    if mem.full_fp16 and mem.full_bf16:
        r.problem("memory.full_bf16", "full_fp16 and full_bf16 are both on.", "Turn one of them off.")
    if mem.full_fp16 and mem.mixed_precision != "fp16":
        r.problem(
            "memory.full_fp16",
            f"full_fp16 needs mixed_precision = 'fp16' (it is {mem.mixed_precision!r}).",
            "Set memory.mixed_precision = 'fp16', or use full_bf16 with bf16.",
        )
    if mem.full_bf16 and mem.mixed_precision != "bf16":
        r.problem(
            "memory.full_bf16",
            f"full_bf16 needs mixed_precision = 'bf16' (it is {mem.mixed_precision!r}).",
            "Set memory.mixed_precision = 'bf16', or turn off full_bf16.",
        )
    if family == "sdxl" and mem.mixed_precision == "fp16" and not mem.no_half_vae and cfg.model.vae is None:
        r.warn(
            "memory.no_half_vae",
            "SDXL's VAE overflows in fp16 and turns latents into black or noisy images.",
            "Set memory.no_half_vae = true, or set model.vae to the fp16-fixed SDXL VAE.",
        )
    if mem.gradient_checkpointing_cpu_offload and not mem.gradient_checkpointing:
        r.problem(
            "memory.gradient_checkpointing_cpu_offload",
            "Checkpoint offloading needs gradient checkpointing.",
            "Turn on memory.gradient_checkpointing too.",
        )
    if mem.fused_backward_pass:
        _fused_backward(cfg, r)
    if mem.blocks_to_swap and family not in (None, "flux"):
        r.warn(
            "memory.blocks_to_swap",
            f"blocks_to_swap only applies to Flux; this is a {family} model.",
            "Remove memory.blocks_to_swap.",
        )


@check
def _learning_rates(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    opt = cfg.optimizer.optimizer_type
    if opt in ADAPTIVE_OPTIMIZERS:
        lrs = {"learning.learning_rate": cfg.learning.learning_rate, "learning.unet_lr": cfg.learning.unet_lr}
        for path, lr in lrs.items():
            if lr is not None and not 0.1 <= lr <= 10:
                r.warn(
                    path,
                    f"{opt} finds its own step size; its learning rate is a multiplier, normally 1.0 (it is {lr:g}).",
                    f"Set {path} = 1.0 (and text_encoder_lr to 1.0 or 0.5).",
                )
    elif cfg.learning.learning_rate >= 0.01:
        r.warn(
            "learning.learning_rate",
            f"learning_rate = {cfg.learning.learning_rate:g} is very high for {opt}; the LoRA will likely burn.",
            "Use about 1e-4 (0.0001) for LoRA with Adam-style optimizers.",
        )
    warmup = cfg.learning.lr_warmup_steps
    if isinstance(warmup, float) and warmup >= 1 and not warmup.is_integer():
        r.problem(
            "learning.lr_warmup_steps",
            f"lr_warmup_steps = {warmup:g}: a fraction must be below 1, a step count a whole number.",
            "Write a share of all steps as e.g. 0.05, or a step count as e.g. 100.",
        )
    if warmup and cfg.learning.lr_scheduler == "constant":
        r.warn(
            "learning.lr_warmup_steps",
            "lr_scheduler 'constant' has no warmup, so lr_warmup_steps is ignored.",
            "Use lr_scheduler = 'constant_with_warmup', or set lr_warmup_steps = 0.",
        )
    if opt.endswith("ScheduleFree") and cfg.learning.lr_scheduler not in ("constant", "constant_with_warmup"):
        # Schedule-free optimizers average weights instead of decaying the step (Defazio et al. 2024); a decaying
        # schedule on top would shrink the steps twice. The trainer refuses it, so say so before the run.
        r.problem(
            "learning.lr_scheduler",
            f"{opt} needs a constant learning rate, not the {cfg.learning.lr_scheduler!r} schedule.",
            "Set learning.lr_scheduler = 'constant' (or 'constant_with_warmup' for a short warmup).",
        )
    if cfg.learning.lr_scheduler == "cosine_with_min_lr" and cfg.learning.lr_scheduler_min_lr_ratio is None:
        r.problem(  # transformers' schedule (and so sd-scripts) refuses it without a floor
            "learning.lr_scheduler_min_lr_ratio",
            "lr_scheduler 'cosine_with_min_lr' needs a lowest learning rate; lr_scheduler_min_lr_ratio is empty.",
            "Set learning.lr_scheduler_min_lr_ratio (e.g. 0.1), or use lr_scheduler = 'cosine' to fall to zero.",
        )
    if cfg.learning.lr_scheduler == "adafactor" and opt != "Adafactor":
        r.problem(
            "learning.lr_scheduler",
            f"The 'adafactor' scheduler only works with the Adafactor optimizer (not {opt}).",
            "Set optimizer.optimizer_type = 'Adafactor', or choose another scheduler (e.g. 'cosine').",
        )
    if cfg.learning.lr_scheduler == "piecewise_constant" and "step_rules" not in cfg.learning.lr_scheduler_args:
        r.problem(
            "learning.lr_scheduler_args",
            "piecewise_constant needs step_rules that say when the learning rate changes.",
            'Add learning.lr_scheduler_args = {step_rules = "1:100,0.1"} (multiplier:step pairs, then the last).',
        )
    if cfg.learning.text_encoder_2_lr is not None and family not in (None, "sdxl"):
        r.warn(
            "learning.text_encoder_2_lr",
            f"Only SDXL has a second text encoder; this is a {family} model.",
            "Remove learning.text_encoder_2_lr.",
        )


@check
def _network(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    net = cfg.network
    if net.alpha > net.dim:
        r.warn(
            "network.alpha",
            f"network alpha ({net.alpha:g}) is larger than dim ({net.dim}), which multiplies every update by"
            f" {net.alpha / net.dim:g}: training gets harsh and unstable.",
            f"Set network.alpha to {net.dim // 2 or 1} (half of dim) or at most {net.dim}.",
        )
    if net.conv_dim is not None and net.type not in CONV_CAPABLE:
        r.problem(
            "network.conv_dim",
            f"network type {net.type!r} cannot adapt convolution layers, so conv_dim does nothing.",
            "Set network.type = 'locon' (or lora, loha, lokr), or remove conv_dim.",
        )
    if net.conv_alpha is not None and net.conv_dim is None:
        r.warn("network.conv_alpha", "conv_alpha is set but conv_dim is not.", "Set network.conv_dim too.")
    if net.conv_dim is not None and net.conv_alpha is not None and net.conv_alpha > net.conv_dim:
        r.warn(
            "network.conv_alpha",
            f"conv_alpha ({net.conv_alpha:g}) is larger than conv_dim ({net.conv_dim}).",
            f"Set network.conv_alpha to at most {net.conv_dim}.",
        )
    if net.train_unet_only and net.train_text_encoder_only:
        r.problem(
            "network.train_text_encoder_only",
            "train_unet_only and train_text_encoder_only are both on, so nothing would be trained.",
            "Turn one of them off.",
        )
    if net.factor is not None and net.type != "lokr":
        r.warn("network.factor", f"factor only applies to LoKr (type is {net.type!r}).", "Remove network.factor.")
    if net.dylora_unit is not None and net.type != "dylora":
        r.warn("network.dylora_unit", "dylora_unit only applies to DyLoRA.", "Remove network.dylora_unit.")
    if net.dim_from_weights and net.network_weights is None:
        r.problem(
            "network.dim_from_weights",
            "dim_from_weights needs a LoRA in network_weights to read dim from.",
            "Set network.network_weights, or turn off dim_from_weights.",
        )
    pairs = (("block_dims", "block_alphas"), ("conv_block_dims", "conv_block_alphas"))
    for dims, alphas in pairs:
        a, b = getattr(net, dims), getattr(net, alphas)
        if a is not None and b is not None and len(a) != len(b):
            r.problem(
                f"network.{alphas}",
                f"{alphas} has {len(b)} numbers but {dims} has {len(a)}.",
                "Give one alpha per block.",
            )
    _block_counts(cfg, family, r)
    if net.base_weights_multiplier and len(net.base_weights_multiplier) != len(net.base_weights):
        r.problem(
            "network.base_weights_multiplier",
            f"{len(net.base_weights_multiplier)} multipliers for {len(net.base_weights)} base_weights files.",
            "Give one multiplier per file (or none for 1.0 each).",
        )


def _block_counts(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    """Block-wise lists must fit the UNet (25 blocks for SD1/SD2, 23 for SDXL; either while the family is
    unknown), checked here so a wrong count stops the run before the model loads."""
    from lorakit.errors import ConfigError
    from lorakit.lora.blocks import BlockSettings

    net = cfg.network
    first: ConfigError | None = None
    for sdxl in [family == "sdxl"] if family else [False, True]:
        try:
            BlockSettings.build(
                net.block_dims,
                net.block_alphas,
                net.conv_block_dims,
                net.conv_block_alphas,
                net.down_lr_weight,
                net.mid_lr_weight,
                net.up_lr_weight,
                net.block_lr_zero_threshold,
                conv_dim=net.conv_dim,
                sdxl=sdxl,
            )
            return
        except ConfigError as error:
            first = first or error
    if first is not None:
        r.problem(f"network.{first.field}" if first.field else None, first.problem, first.fix or "")


@check
def _schedule_and_noise(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    sch = cfg.schedule
    if sch.max_train_epochs is not None and sch.max_train_steps is not None:
        r.warn(
            "schedule.max_train_steps",
            "Both max_train_epochs and max_train_steps are set; epochs win and max_train_steps is ignored.",
            "To train by steps, empty schedule.max_train_epochs; otherwise remove max_train_steps.",
        )
    noise = cfg.noise
    if noise.min_timestep is not None and noise.max_timestep is not None and noise.min_timestep >= noise.max_timestep:
        r.problem(
            "noise.min_timestep",
            f"min_timestep ({noise.min_timestep}) must be below max_timestep ({noise.max_timestep}).",
            "Lower min_timestep or raise max_timestep.",
        )
    if noise.min_snr_gamma is not None and noise.debiased_estimation_loss:
        r.warn(
            "noise.debiased_estimation_loss",
            "min_snr_gamma and debiased_estimation_loss both reweight noise levels; together they overcorrect.",
            "Use only one of them.",
        )
    if noise.adaptive_noise_scale is not None and not noise.noise_offset:
        r.problem(
            "noise.adaptive_noise_scale",
            "adaptive_noise_scale only works on top of noise_offset.",
            "Set noise.noise_offset (e.g. 0.05), or remove adaptive_noise_scale.",
        )
    if noise.multires_noise_iterations and noise.noise_offset:
        r.warn(
            "noise.multires_noise_iterations",
            "Multi-resolution noise and noise_offset do similar things and are not meant to be combined.",
            "Use one of them.",
        )


@check
def _model_family(cfg: TrainConfig, family: str | None, r: ValidationReport) -> None:
    m = cfg.model
    if family == "sd2-v" and m.v_parameterization is False:
        r.problem(
            "model.v_parameterization",
            "sd2-v models predict v; v_parameterization = false would train them wrong.",
            "Remove model.v_parameterization (it follows the family).",
        )
    if family == "flux":
        if m.v_parameterization:
            r.problem("model.v_parameterization", "Flux does not use v-prediction.", "Remove v_parameterization.")
        missing = [n for n in ("clip_l", "t5xxl", "ae") if getattr(m, n) is None]
        model_path = m.pretrained_model_name_or_path or ""
        if missing and model_path.endswith(".safetensors"):
            r.warn(
                f"model.{missing[0]}",
                f"A single-file Flux model usually needs separate {', '.join(missing)} files.",
                "Set model.clip_l, model.t5xxl and model.ae to their files for sd-scripts (or use a diffusers"
                " folder).",
            )
        if model_path.endswith(".safetensors") and not m.architecture_config:
            # lorakit's trainer takes Flux's text encoders and VAE from a diffusers folder (docs/flux.md).
            r.warn(
                "model.architecture_config",
                "lorakit's trainer reads a single Flux transformer file with the text encoders, tokenizers and"
                " VAE of a Flux diffusers folder.",
                "Set model.architecture_config to a FLUX.1 diffusers folder (or its repo id in the local cache).",
            )
    if m.clip_skip is not None and m.clip_skip > 1 and family in ("sdxl", "flux"):
        r.warn("model.clip_skip", f"{family} models ignore clip_skip.", "Remove model.clip_skip.")


def _fused_backward(cfg: TrainConfig, r: ValidationReport) -> None:
    """What the fused backward pass cannot do, as sd-scripts asserts (lorakit's trainer refuses more: refused.py)."""
    opt = str(cfg.optimizer.optimizer_type)
    if opt.strip().lower() != "adafactor":
        r.problem(
            "memory.fused_backward_pass",
            f"fused_backward_pass only works with the Adafactor optimizer (not {opt}), as in sd-scripts.",
            "Set optimizer.optimizer_type = 'Adafactor' (it also saves memory), or turn off fused_backward_pass.",
        )
    if cfg.schedule.gradient_accumulation_steps > 1:
        r.problem(
            "memory.fused_backward_pass",
            "fused_backward_pass updates the weights inside every backward pass, so it cannot accumulate"
            f" gradients over {cfg.schedule.gradient_accumulation_steps} batches.",
            "Set schedule.gradient_accumulation_steps = 1 (raise train_batch_size instead), or turn off"
            " fused_backward_pass.",
        )
