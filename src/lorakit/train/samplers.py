"""Sampler names (as sd-scripts, A1111 and ComfyUI users write them) → configured diffusers schedulers.

Public names (stable):

- ``make_sampler(name, training_scheduler, zero_terminal_snr=False) -> diffusers SchedulerMixin``: the
  sampler built from the training scheduler's config (its betas, timesteps and prediction type).
- ``SAMPLERS``: the names accepted; ``canonical_sampler(name) -> str``.

sd-scripts' names (``ddim``, ``pndm``, ``lms``, ``euler``, ``euler_a``, ``heun``, ``dpm_2``, ``dpm_2_a``,
``dpmsolver``, ``dpmsolver++``, ``dpmsingle`` and the ``k_`` spellings) map to the same diffusers classes
as in sd-scripts' ``get_my_scheduler``. Unlike sd-scripts an unknown name is an error, not a silent DDIM,
and ``clip_sample`` is left as the model's config says (clipping latents to [-1, 1] distorts SD samples).
"""

from __future__ import annotations

import inspect
from typing import Any

from lorakit.errors import ConfigError

# name → (diffusers class name, extra config)
_SAMPLERS: dict[str, tuple[str, dict[str, Any]]] = {
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
    # diffusers only allows a zero final sigma with the ++ variants.
    "dpmsolver": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"}),
    "dpmsolver++": ("DPMSolverMultistepScheduler", {"algorithm_type": "dpmsolver++"}),
    "dpmsingle": ("DPMSolverSinglestepScheduler", {}),
    # A1111 names: DPM++ 2M (Karras), DPM++ 2M SDE (Karras): diffusers' documented equivalents.
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
_ALIASES = {
    "k_lms": "lms",
    "k_euler": "euler",
    "k_euler_a": "euler_a",
    "euler_ancestral": "euler_a",
    "k_heun": "heun",
    "k_dpm_2": "dpm_2",
    "k_dpm_2_a": "dpm_2_a",
    "dpmpp_2m": "dpm++_2m",
    "dpmpp_2m_karras": "dpm++_2m_karras",
    "dpmpp_2m_sde": "dpm++_2m_sde",
    "dpmpp_2m_sde_karras": "dpm++_2m_sde_karras",
    "dpm++_2m_sde_gpu": "dpm++_2m_sde",
    "uni_pc": "unipc",
}
SAMPLERS = tuple(_SAMPLERS) + tuple(_ALIASES)


def canonical_sampler(name: str) -> str:
    """``"DPM++ 2M Karras"`` / ``"k_euler_a"`` → ``"dpm++_2m_karras"`` / ``"euler_a"``; unknown → ConfigError."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _SAMPLERS:
        raise ConfigError(
            f"Unknown sampler {name!r}.",
            "Use one of: " + ", ".join(_SAMPLERS) + " (euler_a and dpm++_2m_karras are good choices).",
            field="sample_sampler",
        )
    return key


def make_sampler(name: str, training_scheduler: Any, zero_terminal_snr: bool = False) -> Any:
    """A diffusers scheduler for rendering samples, configured like the model's training scheduler.

    ``training_scheduler`` is a diffusers scheduler (or its config): its ``num_train_timesteps``, betas and
    ``prediction_type`` carry over, so v-prediction models sample correctly. With ``zero_terminal_snr``
    the sampler uses rescaled betas and "trailing" timesteps (Lin et al. 2023, §3.2–3.3) where it can.
    """
    import diffusers

    key = canonical_sampler(name)
    class_name, overrides = _SAMPLERS[key]
    cls = getattr(diffusers, class_name)
    source = dict(getattr(training_scheduler, "config", training_scheduler))
    # As diffusers' from_config: a value the model's file left unset (listed in _use_default_values, e.g.
    # timestep_spacing in SD 1.x) takes the sampler's own default. Passing the training scheduler's
    # default instead gave k-diffusion samplers "leading" spacing: Euler/Karras started at σ(900) ≈ 8.3,
    # not at σ(999) ≈ 14.6, so samples began from partly clean latents.
    unset = set(source.get("_use_default_values", ()))
    config = {k: v for k, v in source.items() if not k.startswith("_") and k not in unset}
    overrides = dict(overrides)
    if zero_terminal_snr:
        overrides["timestep_spacing"] = "trailing"
        if "rescale_betas_zero_snr" in inspect.signature(cls.__init__).parameters:
            overrides["rescale_betas_zero_snr"] = True
    return cls.from_config({**config, **overrides})
