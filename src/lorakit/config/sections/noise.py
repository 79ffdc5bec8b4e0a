"""Noise and loss section: how training noise is drawn and how the error is measured."""

from __future__ import annotations

from typing import Literal

from lorakit.config.dataset import Section
from lorakit.config.fields import setting

LossType = Literal["l2", "l1", "huber", "smooth_l1"]
HuberSchedule = Literal["constant", "exponential", "snr"]


class NoiseSection(Section):
    """Noise tweaks (offset, multires, input perturbation) and loss weighting (min-SNR, Huber)."""

    noise_offset: float | None = setting(
        None,
        help="Lets the LoRA learn very dark and very bright images. 0.03-0.1; higher shifts overall brightness.",
        kohya="noise_offset",
        effect="trainer",
        ge=0.0,
        le=1.0,
    )
    noise_offset_random_strength: bool = setting(
        False,
        help="Vary the noise offset randomly between 0 and its value each step.",
        kohya="noise_offset_random_strength",
        effect="trainer",
        level="expert",
    )
    adaptive_noise_scale: float | None = setting(
        None,
        help="Adds to the noise offset in proportion to each image's mean brightness (with noise_offset).",
        kohya="adaptive_noise_scale",
        effect="trainer",
        level="expert",
        ge=-1.0,
        le=1.0,
    )
    multires_noise_iterations: int | None = setting(
        None,
        help="Multi-resolution (pyramid) noise: 6-10 levels help contrast and detail. Empty = off.",
        kohya="multires_noise_iterations",
        effect="trainer",
        ge=1,
        le=20,
    )
    multires_noise_discount: float = setting(
        0.3,
        help="Multi-resolution noise: how much weaker each coarser level is. 0.1-0.3 for LoRA.",
        kohya="multires_noise_discount",
        effect="trainer",
        ge=0.0,
        le=1.0,
        recommended=0.3,
    )
    ip_noise_gamma: float | None = setting(
        None,
        help="Input perturbation noise (0.1 is typical): slightly more robust training.",
        kohya="ip_noise_gamma",
        effect="trainer",
        ge=0.0,
        le=1.0,
    )
    ip_noise_gamma_random_strength: bool = setting(
        False,
        help="Vary the input perturbation randomly between 0 and its value.",
        kohya="ip_noise_gamma_random_strength",
        effect="trainer",
        level="expert",
    )
    min_snr_gamma: float | None = setting(
        None,
        help="Min-SNR weighting: evens out how much each noise level teaches. 5 is the paper's value and a good"
        " default for SD1.5 and SDXL; empty = off.",
        kohya="min_snr_gamma",
        effect="trainer",
        gt=0.0,
        le=20.0,
        recommended=5.0,
    )
    debiased_estimation_loss: bool = setting(
        False,
        help="Another noise-level weighting (debiased estimation); do not combine with min_snr_gamma.",
        kohya="debiased_estimation_loss",
        effect="trainer",
        level="expert",
    )
    scale_v_pred_loss_like_noise_pred: bool = setting(
        False,
        help="v-prediction models: weight the loss like a noise-prediction model.",
        kohya="scale_v_pred_loss_like_noise_pred",
        effect="trainer",
        level="expert",
    )
    v_pred_like_loss: float | None = setting(
        None,
        help="Add a v-prediction-like loss with this weight (experimental).",
        kohya="v_pred_like_loss",
        effect="trainer",
        level="expert",
        ge=0.0,
        le=10.0,
    )
    zero_terminal_snr: bool = setting(
        False,
        help="Fix the noise schedule so the model sees pure noise at the last step (for v-prediction models).",
        kohya="zero_terminal_snr",
        effect="trainer",
        level="expert",
    )
    min_timestep: int | None = setting(
        None,
        help="Lowest noise step trained (0-999). Raise it to skip fine-detail steps.",
        kohya="min_timestep",
        effect="trainer",
        level="expert",
        ge=0,
        le=1000,
    )
    max_timestep: int | None = setting(
        None,
        help="Highest noise step trained (1-1000). Lower it to skip composition steps.",
        kohya="max_timestep",
        effect="trainer",
        level="expert",
        ge=0,
        le=1000,
    )
    loss_type: LossType = setting(
        "l2",
        help="How the error is measured. 'l2' is standard; 'huber' and 'smooth_l1' are less thrown off by odd images.",
        kohya="loss_type",
        effect="trainer",
        level="advanced",
        recommended="l2",
    )
    huber_schedule: HuberSchedule = setting(
        "snr",
        help="Huber loss: how its threshold changes with the noise level. 'snr' is the paper's recommendation.",
        kohya="huber_schedule",
        effect="trainer",
        level="expert",
    )
    huber_c: float = setting(
        0.1,
        help="Huber loss: the threshold between squared and absolute error.",
        kohya="huber_c",
        effect="trainer",
        level="expert",
        gt=0.0,
        le=10.0,
    )
