"""The trainer's internal settings are built from the config sections by name, and cannot drift from them."""

from __future__ import annotations

import dataclasses

from lorakit.config.schema import TrainConfig
from lorakit.train.setup import STEP_SECTIONS, network_settings, step_options
from lorakit.train.step import StepOptions

# Noise fields the step does not read, and where they take effect instead.
NOT_IN_STEP = {"zero_terminal_snr": "rescales the noise scheduler (lorakit.train.noise.apply_zero_terminal_snr)"}


def _section_fields(section: str) -> set[str]:
    return set(type(getattr(TrainConfig(), section)).model_fields)


def test_every_noise_field_reaches_the_step_by_name():
    step = {f.name for f in dataclasses.fields(StepOptions)}
    missing = _section_fields("noise") - step - set(NOT_IN_STEP)
    assert not missing, f"noise fields the step never sees: {missing}"


def test_every_step_option_comes_from_a_config_field_of_the_same_name():
    named = set().union(*(_section_fields(s) for s in STEP_SECTIONS))
    derived = {"train_text_encoder"}  # from the network settings (text-encoder lr, train_unet_only)
    orphans = {f.name for f in dataclasses.fields(StepOptions)} - named - derived
    assert not orphans, f"StepOptions fields with no config field of that name: {orphans}"


def test_step_option_defaults_are_what_a_default_config_builds():
    cfg = TrainConfig()
    built = step_options(cfg, None, network_settings(cfg))
    plain = StepOptions()
    for f in dataclasses.fields(StepOptions):
        if f.name != "train_text_encoder":
            assert getattr(plain, f.name) == getattr(built, f.name), f.name


def test_changed_config_values_reach_the_step():
    cfg = TrainConfig()
    cfg.noise.huber_c = 0.42
    cfg.noise.min_timestep = 100
    cfg.model.clip_skip = 2
    built = step_options(cfg, None, network_settings(cfg))
    assert (built.huber_c, built.min_timestep, built.clip_skip) == (0.42, 100, 2)
