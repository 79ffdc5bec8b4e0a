"""Sampler names → diffusers schedulers configured from the training scheduler."""

from __future__ import annotations

import diffusers
import numpy as np
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


# Every canonical name with its class and options, written out here (not read from lorakit's table).
EXPECTED = {
    "ddim": ("DDIMScheduler", {}),
    "ddpm": ("DDPMScheduler", {}),
    "pndm": ("PNDMScheduler", {}),
    "lms": ("LMSDiscreteScheduler", {}),
    "lms_karras": ("LMSDiscreteScheduler", {"use_karras_sigmas": True}),
    "euler": ("EulerDiscreteScheduler", {}),
    "euler_karras": ("EulerDiscreteScheduler", {"use_karras_sigmas": True}),
    "euler_a": ("EulerAncestralDiscreteScheduler", {}),
    "heun": ("HeunDiscreteScheduler", {}),
    "heun_karras": ("HeunDiscreteScheduler", {"use_karras_sigmas": True}),
    "dpm_2": ("KDPM2DiscreteScheduler", {}),
    "dpm_2_karras": ("KDPM2DiscreteScheduler", {"use_karras_sigmas": True}),
    "dpm_2_a": ("KDPM2AncestralDiscreteScheduler", {}),
    "dpm_2_a_karras": ("KDPM2AncestralDiscreteScheduler", {"use_karras_sigmas": True}),
    "dpmsolver": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"}),
    "dpmsolver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "dpmsingle": ("DPMSolverSinglestepScheduler", {}),
    "dpm++_2m": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++", "solver_order": 2}),
    "dpm++_2m_karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "dpm++_2m_sde": ("DPMSolverMultistepScheduler", {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}),
    "dpm++_2m_sde_karras": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++", "solver_order": 2, "use_karras_sigmas": True},
    ),
    "dpm++_2s_karras": ("DPMSolverSinglestepScheduler", {"use_karras_sigmas": True}),
    "unipc": ("UniPCMultistepScheduler", {}),
    "deis": ("DEISMultistepScheduler", {}),
    "lcm": ("LCMScheduler", {}),
}


@pytest.mark.parametrize("name", SAMPLERS)
def test_every_sampler_steps_like_diffusers_own_scheduler(name):
    """Each name gives the timesteps (and sigmas) of the diffusers scheduler a user would configure by hand."""
    cls, options = EXPECTED[canonical_sampler(name)]
    sampler = make_sampler(name, training_scheduler())
    # What diffusers' documentation has a user write: from_config(pipe.scheduler.config, **options).
    reference = getattr(diffusers, cls).from_config(training_scheduler().config, **options)
    sampler.set_timesteps(10)
    reference.set_timesteps(10)
    assert type(sampler) is type(reference)
    torch.testing.assert_close(sampler.timesteps, reference.timesteps)
    assert len(sampler.timesteps) >= 10
    if hasattr(reference, "sigmas"):
        torch.testing.assert_close(sampler.sigmas, reference.sigmas)


def _train_sigmas() -> np.ndarray:
    """σ(t) = √((1 − ᾱ_t)/ᾱ_t) of the training schedule at t = 0..999, computed here from its betas."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=np.float64) ** 2  # scaled_linear
    alphas_cumprod = np.cumprod(1.0 - betas)
    return np.sqrt((1 - alphas_cumprod) / alphas_cumprod)


def test_ddim_timesteps_are_evenly_spaced_from_the_start():
    sampler = make_sampler("ddim", training_scheduler())
    sampler.set_timesteps(10)
    # "leading" spacing: 0, 100, …, 900, run from noisy to clean
    assert sampler.timesteps.tolist() == list(range(900, -1, -100))


def test_euler_sigmas_follow_the_training_noise_levels():
    sampler = make_sampler("euler", training_scheduler())
    sampler.set_timesteps(10)
    # Euler's own "linspace" spacing (the training config leaves it unset): 10 timesteps from 999 down to 0,
    # σ interpolated between whole timesteps, then a final 0. Sampling starts from pure noise, σ(999).
    timesteps = np.linspace(0, 999, 10)[::-1]
    sigmas = np.interp(timesteps, np.arange(1000), _train_sigmas())
    np.testing.assert_allclose(sampler.timesteps.numpy(), timesteps, rtol=1e-6)
    np.testing.assert_allclose(sampler.sigmas.numpy(), np.append(sigmas, 0.0), rtol=1e-4)


def test_karras_sigmas_follow_karras_formula():
    """Karras et al. 2022, eq. 5: σ_i = (σmax^(1/ρ) + i/(n−1)·(σmin^(1/ρ) − σmax^(1/ρ)))^ρ, ρ = 7."""
    sigmas = _train_sigmas()
    low, high = sigmas[0], sigmas[-1]
    ramp = np.linspace(0, 1, 10)
    expected = (high ** (1 / 7) + ramp * (low ** (1 / 7) - high ** (1 / 7))) ** 7
    for name in ("euler_karras", "DPM++ 2M Karras"):
        sampler = make_sampler(name, training_scheduler())
        sampler.set_timesteps(10)
        np.testing.assert_allclose(sampler.sigmas[:10].numpy(), expected, rtol=1e-4, err_msg=name)
        assert float(sampler.sigmas[-1]) == 0.0


def test_zero_terminal_snr_sampling():
    sampler = make_sampler("ddim", training_scheduler("v_prediction"), zero_terminal_snr=True)
    assert sampler.config.rescale_betas_zero_snr is True and sampler.config.timestep_spacing == "trailing"
    sampler.set_timesteps(10)
    assert int(sampler.timesteps[0]) == 999  # trailing spacing starts at the last, pure-noise step
    assert float(sampler.alphas_cumprod[-1]) < 1e-6


def test_config_dict_accepted():
    assert isinstance(make_sampler("euler", dict(training_scheduler().config)), diffusers.EulerDiscreteScheduler)


def test_one_euler_ancestral_step_follows_its_formula():
    """With ε̂ = 0 the step keeps x and adds σ_up·z: σ_up = √(σ_to²(σ_from² − σ_to²)/σ_from²) (k-diffusion)."""
    sampler = make_sampler("euler_a", training_scheduler())
    sampler.set_timesteps(2)
    sigma_from, sigma_to = (float(s) for s in sampler.sigmas[:2])
    x = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(1)) * sampler.init_noise_sigma
    t = sampler.timesteps[0]
    sampler.scale_model_input(x, t)  # diffusers expects this call before step
    out = sampler.step(torch.zeros_like(x), t, x, generator=torch.Generator().manual_seed(0))
    sigma_up = (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out.prev_sample, x + sigma_up * z, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bad", ["dpm_fast", "", "euler a!"])
def test_unknown_sampler(bad):
    with pytest.raises(ConfigError) as err:
        canonical_sampler(bad)
    assert "euler_a" in err.value.fix
