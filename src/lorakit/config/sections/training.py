"""Schedule, learning and optimizer sections: how long, how fast, and with which optimizer."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import field_validator

from lorakit.config.dataset import Section
from lorakit.config.fields import LORAKIT_ONLY, setting

Scheduler = Literal[
    "constant",
    "constant_with_warmup",
    "cosine",
    "cosine_with_restarts",
    "cosine_with_min_lr",
    "linear",
    "polynomial",
    "inverse_sqrt",
    "warmup_stable_decay",
    "piecewise_constant",
    "adafactor",
    "rex",
    "cosine_annealing_warm_restarts",
]

# Our spelling of each optimizer; sd-scripts compares names case-insensitively.
OPTIMIZERS: tuple[str, ...] = (
    "AdamW",
    "AdamW8bit",
    "PagedAdamW",
    "PagedAdamW8bit",
    "PagedAdamW32bit",
    "Lion",
    "Lion8bit",
    "PagedLion8bit",
    "SGDNesterov",
    "SGDNesterov8bit",
    "Prodigy",
    "DAdaptAdam",
    "DAdaptAdamPreprint",
    "DAdaptLion",
    "DAdaptAdaGrad",
    "DAdaptAdan",
    "DAdaptSGD",
    "Adafactor",
    "CAME",
    "RAdamScheduleFree",
    "AdamWScheduleFree",
    "SGDScheduleFree",
)
# Optimizers that find their own step size: their learning rate is a multiplier, normally 1.0.
ADAPTIVE_OPTIMIZERS = frozenset(
    {"Prodigy", "DAdaptAdam", "DAdaptAdamPreprint", "DAdaptLion", "DAdaptAdaGrad", "DAdaptAdan", "DAdaptSGD"}
)


# Epochs when neither max_train_epochs nor max_train_steps is set.
DEFAULT_EPOCHS = 10


class ScheduleSection(Section):
    """How long training runs and how many images go through at once."""

    max_train_epochs: int | None = setting(
        None,
        help="How many times the whole dataset (with repeats) is shown. 10-20 for most LoRAs; more epochs"
        f" learn harder but can overcook. Empty = {DEFAULT_EPOCHS}, or max_train_steps when that is set.",
        kohya="max_train_epochs",
        effect="trainer",
        ge=1,
        le=10000,
        unit="epochs",
        recommended=10,
    )
    max_train_steps: int | None = setting(
        None,
        help="Stop after this many steps. Used only when max_train_epochs is empty (epochs win, as in sd-scripts).",
        kohya="max_train_steps",
        effect="trainer",
        level="advanced",
        ge=1,
        unit="steps",
    )
    train_batch_size: int = setting(
        1,
        help="Images per step. 1-4 usually; raising it needs more GPU memory and fewer steps, and usually a"
        " slightly higher learning rate.",
        kohya="train_batch_size",
        effect="trainer",
        ge=1,
        le=256,
        unit="images",
        recommended=2,
    )
    gradient_accumulation_steps: int = setting(
        1,
        help="Add up this many batches before each update: a bigger effective batch without more memory.",
        kohya="gradient_accumulation_steps",
        effect="trainer",
        level="advanced",
        ge=1,
        le=1024,
        unit="batches",
    )
    seed: int | None = setting(
        42,
        help="Random seed: the same seed and settings give the same LoRA. Empty = a seed drawn from the run's"
        " folder, new for each run (sd-scripts draws one when seed is missing); kept on resume, recorded in"
        " the LoRA's metadata.",
        kohya="seed",
        effect="trainer",
        ge=0,
        le=2**32 - 1,
    )

    def planned_epochs(self) -> int | None:
        """The epochs training runs for: max_train_epochs (epochs win, as in sd-scripts), else None when
        max_train_steps is set, else DEFAULT_EPOCHS. The plan, validation and the sd-scripts export use this."""
        if self.max_train_epochs is not None:
            return self.max_train_epochs
        return None if self.max_train_steps is not None else DEFAULT_EPOCHS


class LearningSection(Section):
    """Learning rates and how they change over the run."""

    learning_rate: float = setting(
        1e-4,
        help="How big each learning step is. 1e-4 for LoRA with AdamW; 1.0 for Prodigy. Too high burns the"
        " image (noise, oversaturation), too low learns nothing.",
        kohya="learning_rate",
        effect="trainer",
        gt=0.0,
        le=10.0,
        recommended=1e-4,
    )
    unet_lr: float | None = setting(
        None,
        help="Learning rate of the image model (UNet/transformer). Empty = learning_rate.",
        kohya="unet_lr",
        effect="trainer",
        gt=0.0,
        le=10.0,
    )
    text_encoder_lr: float | None = setting(
        None,
        help="Learning rate of the text encoder (SDXL: the first, CLIP-L). Usually half of unet_lr or lower;"
        " empty = learning_rate.",
        kohya="text_encoder_lr",
        effect="trainer",
        ge=0.0,
        le=10.0,
    )
    text_encoder_2_lr: float | None = setting(
        None,
        help="SDXL: learning rate of the second text encoder (OpenCLIP-G). Empty = the same as text_encoder_lr.",
        kohya="text_encoder_lr",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=10.0,
    )
    lr_scheduler: Scheduler = setting(
        "constant",
        help="How the learning rate changes over the run. 'cosine' eases off toward the end and is a good"
        " default; 'constant' keeps it fixed.",
        kohya="lr_scheduler",
        effect="trainer",
        recommended="cosine",
    )
    lr_warmup_steps: int | float = setting(
        0,
        help="Ramp the learning rate up over the first steps. A whole number is steps; a fraction below 1 is a"
        " share of all steps (0.05 = first 5%).",
        kohya="lr_warmup_steps",
        effect="trainer",
        ge=0,
        unit="steps or fraction",
    )
    lr_decay_steps: int | float = setting(
        0,
        help="warmup_stable_decay: how many steps (or share of steps, below 1) the final decay takes."
        " 0 = no decay: the rate stays flat after warmup.",
        kohya="lr_decay_steps",
        effect="trainer",
        level="expert",
        ge=0,
        unit="steps or fraction",
    )
    lr_scheduler_num_cycles: int = setting(
        1,
        help="cosine_with_restarts: how many times the learning rate restarts.",
        kohya="lr_scheduler_num_cycles",
        effect="trainer",
        level="advanced",
        ge=1,
        le=1000,
        unit="cycles",
    )
    lr_scheduler_power: float = setting(
        1.0,
        help="polynomial: the curve's power (1 = straight line down).",
        kohya="lr_scheduler_power",
        effect="trainer",
        level="advanced",
        gt=0.0,
        le=10.0,
    )
    lr_scheduler_min_lr_ratio: float | None = setting(
        None,
        help="The lowest learning rate the schedule falls to, as a share of the start (0.1 = a tenth).",
        kohya="lr_scheduler_min_lr_ratio",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=1.0,
    )
    lr_scheduler_args: dict[str, Any] = setting(
        default_factory=dict,
        help="Extra arguments for the scheduler, e.g. {step_rules = '1:10,0.1'} for piecewise_constant.",
        kohya="lr_scheduler_args",
        effect="trainer",
        level="expert",
    )
    rex_gamma: float = setting(
        0.9,
        help="rex with restarts (lr_scheduler_num_cycles > 1): each cycle starts at this share of the"
        " previous one's peak (1.0 = every cycle starts at the full rate).",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1.0,
    )
    rex_d: float = setting(
        0.9,
        help="rex: shape of the fall, (1 - z) / (1 - d·z) over the run's progress z. 0 = a straight line;"
        " 0.5 is the REX paper's curve; higher stays high longer, then drops fast.",
        kohya=LORAKIT_ONLY,
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1.0,
    )


class OptimizerSection(Section):
    """The optimizer that turns the loss into weight updates."""

    optimizer_type: str = setting(
        "AdamW8bit",
        help="AdamW8bit is the safe default (low memory, needs a CUDA GPU). Prodigy finds its own step size"
        " (set learning rates to 1.0). Adafactor saves memory. A dotted class path also works.",
        kohya="optimizer_type",
        effect="trainer",
        recommended="AdamW8bit",
        choices=OPTIMIZERS,
    )
    weight_decay: float | None = setting(
        None,
        help="Pulls weights gently toward zero, against overfitting. 0.01-0.1; empty = the optimizer's default.",
        kohya="weight_decay",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=1.0,
    )
    betas: tuple[float, float] | None = setting(
        None,
        help="Adam's momentum pair, e.g. [0.9, 0.999]. Empty = the optimizer's default.",
        kohya="betas",
        effect="trainer",
        level="expert",
    )
    eps: float | None = setting(
        None,
        help="A tiny number that keeps updates finite. Empty = the optimizer's default.",
        kohya="eps",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1.0,
    )
    optimizer_args: dict[str, Any] = setting(
        default_factory=dict,
        help="Extra optimizer arguments, e.g. {d_coef = 1.0, use_bias_correction = true} for Prodigy.",
        kohya="optimizer_args",
        effect="trainer",
        level="expert",
    )
    max_grad_norm: float = setting(
        1.0,
        help="Clip gradients above this size to keep training stable. 1.0 is standard; 0 = no clipping.",
        kohya="max_grad_norm",
        effect="trainer",
        level="advanced",
        ge=0.0,
        le=100.0,
    )
    loraplus_lr_ratio: float | None = setting(
        None,
        help="LoRA+: train the LoRA's 'up' half this many times faster (16 is the paper's value). Can learn"
        " faster at the same quality.",
        kohya="loraplus_lr_ratio",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1000.0,
    )
    loraplus_unet_lr_ratio: float | None = setting(
        None,
        help="LoRA+ ratio for the image model only (overrides loraplus_lr_ratio there).",
        kohya="loraplus_unet_lr_ratio",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1000.0,
    )
    loraplus_text_encoder_lr_ratio: float | None = setting(
        None,
        help="LoRA+ ratio for the text encoder only (overrides loraplus_lr_ratio there).",
        kohya="loraplus_text_encoder_lr_ratio",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=1000.0,
    )

    @field_validator("optimizer_type")
    @classmethod
    def _known_optimizer(cls, v: str) -> str:
        if "." in v:  # a dotted class path, e.g. "pytorch_optimizer.CAME"
            return v
        by_lower = {name.lower(): name for name in OPTIMIZERS}
        by_lower.update({"adafactor": "Adafactor", "dadaptation": "DAdaptAdamPreprint"})  # sd-scripts' alias
        if v.lower() in by_lower:
            return by_lower[v.lower()]
        close = difflib.get_close_matches(v, OPTIMIZERS, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"unknown optimizer {v!r}.{hint} Choose one of {', '.join(OPTIMIZERS)}, or a dotted class path"
        )
