"""Sampler names → diffusers schedulers configured from the training scheduler."""

from __future__ import annotations

import diffusers
import pytest
import torch

from lorakit.errors import ConfigError
from lorakit.train.samplers import SAMPLERS, canonical_sampler, make_sampler


def training_scheduler(prediction_type: str = "epsilon") -> diffusers.DDPMScheduler:
    return diffusers.DDPMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type=prediction_type
    )


# name → (class, config items that must be set)
CASES = [
    ("ddim", "DDIMScheduler", {}),
    ("pndm", "PNDMScheduler", {}),
    ("k_lms", "LMSDiscreteScheduler", {}),
    ("euler", "EulerDiscreteScheduler", {}),
    ("euler_a", "EulerAncestralDiscreteScheduler", {}),
    ("heun", "HeunDiscreteScheduler", {}),
    ("dpm_2", "KDPM2DiscreteScheduler", {}),
    ("k_dpm_2_a", "KDPM2AncestralDiscreteScheduler", {}),
    ("dpmsolver", "DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver"}),
    ("dpmsolver++", "DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    ("dpmsingle", "DPMSolverSinglestepScheduler", {}),
    ("dpm++_2m", "DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    ("DPM++ 2M Karras", "DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
    ("dpm++_2m_sde_karras", "DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++"}),
    ("unipc", "UniPCMultistepScheduler", {}),
]


@pytest.mark.parametrize(("name", "cls", "config"), CASES)
def test_sampler_class_and_config(name, cls, config):
    sampler = make_sampler(name, training_scheduler("v_prediction"))
    assert type(sampler).__name__ == cls
    for key, value in config.items():
        assert sampler.config[key] == value
    # the model's schedule and prediction type carry over
    assert sampler.config.prediction_type == "v_prediction"
    assert sampler.config.beta_schedule == "scaled_linear" and sampler.config.beta_end == 0.012


def test_every_sampler_name_builds_and_sets_timesteps():
    for name in SAMPLERS:
        sampler = make_sampler(name, training_scheduler())
        sampler.set_timesteps(4)
        assert len(sampler.timesteps) >= 4, name


def test_zero_terminal_snr_sampling():
    sampler = make_sampler("ddim", training_scheduler("v_prediction"), zero_terminal_snr=True)
    assert sampler.config.rescale_betas_zero_snr is True and sampler.config.timestep_spacing == "trailing"
    sampler.set_timesteps(10)
    assert int(sampler.timesteps[0]) == 999  # trailing spacing starts at the last, pure-noise step
    assert float(sampler.alphas_cumprod[-1]) < 1e-6


def test_config_dict_accepted():
    assert isinstance(make_sampler("euler", dict(training_scheduler().config)), diffusers.EulerDiscreteScheduler)


def test_one_denoising_step_runs():
    sampler = make_sampler("euler_a", training_scheduler())
    sampler.set_timesteps(2)
    x = torch.randn(1, 4, 8, 8) * sampler.init_noise_sigma
    t = sampler.timesteps[0]
    out = sampler.step(
        torch.zeros_like(x), t, sampler.scale_model_input(x, t), generator=torch.Generator().manual_seed(0)
    )
    assert out.prev_sample.shape == x.shape


@pytest.mark.parametrize("bad", ["dpm_fast", "", "euler a!"])
def test_unknown_sampler(bad):
    with pytest.raises(ConfigError) as err:
        canonical_sampler(bad)
    assert "euler_a" in err.value.fix
