"""The trainer's internal settings are built from the config sections by name, and cannot drift from them."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from lorakit.config.dataset import AugmentOptions, CaptionOptions, SubsetConfig
from lorakit.config.schema import TrainConfig
from lorakit.config.sections.network import NetworkSection
from lorakit.config.sections.training import DEFAULT_EPOCHS, LearningSection, ScheduleSection
from lorakit.data.plan import SCHEDULE_DERIVED, SCHEDULE_RENAMED, SCHEDULE_SECTIONS, Schedule
from lorakit.lora.network import BLOCK_FIELDS, NETWORK_DERIVED, NETWORK_RENAMED, NetworkSettings
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


# --- NetworkSettings (lorakit.lora.network) -------------------------------------------------------------------


def _network_names() -> dict[str, str]:
    """NetworkSettings field → the network-section field it is read from by name (same name or renamed)."""
    section = set(NetworkSection.model_fields)
    names = {f.name: NETWORK_RENAMED.get(f.name, f.name) for f in dataclasses.fields(NetworkSettings)}
    return {field: name for field, name in names.items() if field not in NETWORK_DERIVED and name in section}


def test_every_network_setting_comes_from_a_network_field_by_name():
    section = set(NetworkSection.model_fields)
    orphans = {f.name for f in dataclasses.fields(NetworkSettings)} - set(_network_names()) - set(NETWORK_DERIVED)
    assert not orphans, f"NetworkSettings fields with no config field: {orphans}"
    assert set(NETWORK_RENAMED.values()) <= section
    sources = {s for names in NETWORK_DERIVED.values() for s in names}
    learning = {s for s in sources if s.startswith("learning.")}
    assert {s.split(".")[1] for s in learning} <= set(LearningSection.model_fields)
    assert sources - learning <= section, "a derived NetworkSettings field names a config field that does not exist"
    assert set(BLOCK_FIELDS) <= section and len(BLOCK_FIELDS) == 8


def test_network_setting_defaults_are_what_a_default_config_builds():
    built, plain = NetworkSettings.from_config(TrainConfig()), NetworkSettings()
    for f in dataclasses.fields(NetworkSettings):
        if f.name != "train_text_encoder":  # the documented exception: a default config trains the text encoder
            assert getattr(plain, f.name) == getattr(built, f.name), f.name
    assert built.train_text_encoder and not plain.train_text_encoder


# A value other than the default for every network field read by name, and what NetworkSettings makes of it.
NETWORK_CHANGES = {
    "type": ("lokr", "lokr"),  # with dora_wd a lora/locon would become "dora"
    "dim": (32, 32),
    "alpha": (3.0, 3.0),
    "conv_dim": (4, 4),
    "conv_alpha": (2.0, 2.0),
    "network_dropout": (0.1, 0.1),
    "rank_dropout": (0.2, 0.2),
    "module_dropout": (0.3, 0.3),
    "target_modules": (["to_q", "to_v"], ("to_q", "to_v")),
    "factor": (4, 4),
    "decompose_both": (True, True),
    "full_matrix": (True, True),
    "dora_wd": (True, True),
}


def test_changed_network_fields_reach_the_network_settings():
    names = _network_names()
    assert set(names.values()) == set(NETWORK_CHANGES), "NETWORK_CHANGES must cover every network field read by name"
    cfg = TrainConfig()
    for name, (value, _) in NETWORK_CHANGES.items():
        setattr(cfg.network, name, value)
    built, plain = NetworkSettings.from_config(cfg), NetworkSettings()
    for field, name in names.items():
        assert getattr(built, field) == NETWORK_CHANGES[name][1] != getattr(plain, field), field


def test_derived_network_fields_follow_their_config_fields(tmp_path):
    cfg = TrainConfig()
    cfg.network.train_text_encoder_only = True
    cfg.network.mid_lr_weight = 0.5
    built = NetworkSettings.from_config(cfg)
    assert not built.train_unet and built.train_text_encoder
    assert built.blocks.lr_weights is not None and 0.5 in built.blocks.lr_weights
    cfg.network.train_text_encoder_only, cfg.learning.text_encoder_lr = False, 0.0
    assert NetworkSettings.from_config(cfg).train_unet and not NetworkSettings.from_config(cfg).train_text_encoder
    cfg.learning.text_encoder_lr, cfg.network.train_unet_only = None, True
    assert not NetworkSettings.from_config(cfg).train_text_encoder
    # setup.network_settings is the same builder
    assert network_settings(cfg) == NetworkSettings.from_config(cfg)


def test_an_empty_config_value_is_the_neutral_one():
    cfg = TrainConfig()
    cfg.network.dim, cfg.network.conv_dim = 8, None
    built = NetworkSettings.from_config(cfg)
    assert (built.kind, built.conv_rank, built.conv_alpha, built.dropout) == ("lora", 0, 1.0, 0.0)
    cfg.network.conv_dim = 6
    built = NetworkSettings.from_config(cfg)
    assert (built.kind, built.conv_rank, built.conv_alpha) == ("locon", 6, 6.0)  # empty conv_alpha = conv_dim


# --- the plan's Schedule (lorakit.data.plan) ------------------------------------------------------------------


def test_every_schedule_field_comes_from_a_config_field_by_name():
    named = set().union(*(_section_fields(s) for s in SCHEDULE_SECTIONS))
    renamed = {f for f, (section, name) in SCHEDULE_RENAMED.items() if name in _section_fields(section)}
    assert renamed == set(SCHEDULE_RENAMED)
    assert set(SCHEDULE_DERIVED.values()) <= _section_fields("learning")
    orphans = {f.name for f in dataclasses.fields(Schedule)} - named - renamed - set(SCHEDULE_DERIVED)
    assert not orphans, f"Schedule fields with no config field: {orphans}"


def test_schedule_defaults_are_what_a_default_config_builds():
    assert Schedule() == Schedule.from_config(TrainConfig())
    assert Schedule().planned_epochs() == TrainConfig().schedule.planned_epochs() == DEFAULT_EPOCHS


def test_the_schedule_plans_epochs_by_the_configs_rule():
    for epochs, steps in [(None, None), (3, None), (None, 40), (3, 40)]:
        section = ScheduleSection(max_train_epochs=epochs, max_train_steps=steps)
        assert Schedule(epochs=epochs, max_train_steps=steps).planned_epochs() == section.planned_epochs()


def test_changed_config_values_reach_the_schedule():
    cfg = TrainConfig()
    changes = {
        "schedule.train_batch_size": 3,
        "schedule.max_train_epochs": 4,
        "schedule.max_train_steps": 50,
        "schedule.gradient_accumulation_steps": 2,
        "schedule.seed": 7,
        "multigpu.num_processes": 2,
        "learning.lr_scheduler": "cosine_with_restarts",
        "learning.lr_scheduler_num_cycles": 3,
        "learning.lr_warmup_steps": 5,
        "samples.validation_split": 0.2,
    }
    for path, value in changes.items():
        section, name = path.split(".")
        setattr(getattr(cfg, section), name, value)
    built, plain = Schedule.from_config(cfg), Schedule()
    for f in dataclasses.fields(Schedule):
        if f.name != "warmup_ratio":
            assert getattr(built, f.name) != getattr(plain, f.name), f"{f.name} kept its default"
    assert (built.batch_size, built.epochs, built.max_train_steps, built.warmup_steps) == (3, 4, 50, 5)
    assert (built.num_processes, built.lr_scheduler, built.validation_split, built.seed) == (
        2,
        "cosine_with_restarts",
        0.2,
        7,
    )
    cfg.learning.lr_warmup_steps, cfg.schedule.seed = 0.1, None
    built = Schedule.from_config(cfg)
    assert (built.warmup_steps, built.warmup_ratio, built.seed) == (0, 0.1, 0)


# --- subset overrides (lorakit.config.dataset) ----------------------------------------------------------------

SUBSET_OWN = {"image_dir", "num_repeats", "class_tokens", "is_reg", "name"}
# Two values other than the default for every option a subset may override: (dataset level, subset level).
OPTION_CHANGES = {
    "caption_extension": (".txt2", ".tags"),
    "shuffle_caption": (True, False),
    "keep_tokens": (2, 3),
    "keep_tokens_separator": ("|", "||"),
    "secondary_separator": (";;;", "$$"),
    "caption_prefix": ("a ", "b "),
    "caption_suffix": (" x", " y"),
    "caption_dropout_rate": (0.1, 0.2),
    "caption_dropout_every_n_epochs": (2, 3),
    "caption_tag_dropout_rate": (0.3, 0.4),
    "token_warmup_min": (2, 3),
    "token_warmup_step": (0.5, 0.25),
    "enable_wildcard": (True, False),
    "flip_aug": (True, False),
    "color_aug": (True, False),
    "random_crop": (True, False),
    "face_crop_aug_range": ((2.0, 4.0), (1.5, 3.0)),
    "alpha_mask": (True, False),
}


def test_a_subset_overrides_every_dataset_option_by_name_with_its_bounds():
    options = {**CaptionOptions.model_fields, **AugmentOptions.model_fields}
    overrides = {n: f for n, f in SubsetConfig.model_fields.items() if n not in SUBSET_OWN}
    assert set(overrides) == set(options), "a dataset option a subset cannot override, or an override of nothing"
    for name, override in overrides.items():
        assert override.annotation == options[name].annotation | None, name
        assert override.default is None, name  # None = inherit the dataset's value
        assert override.metadata == options[name].metadata, name
    with pytest.raises(ValidationError):
        SubsetConfig(image_dir="x", caption_dropout_rate=5)
    with pytest.raises(ValidationError):
        SubsetConfig(image_dir="x", keep_tokens=-1)


def test_dataset_options_reach_a_subset_unless_it_overrides_them(tmp_path):
    assert set(OPTION_CHANGES) == set(CaptionOptions.model_fields) | set(AugmentOptions.model_fields)
    cfg = TrainConfig()
    for name, (dataset_value, _) in OPTION_CHANGES.items():
        assert CaptionOptions().model_dump().get(name, AugmentOptions().model_dump().get(name)) != dataset_value
        setattr(cfg.captions if name in CaptionOptions.model_fields else cfg.dataset, name, dataset_value)
    own = {name: subset_value for name, (_, subset_value) in OPTION_CHANGES.items()}
    cfg.dataset.subsets = [SubsetConfig(image_dir=tmp_path / "a"), SubsetConfig(image_dir=tmp_path / "b", **own)]
    inherits, overrides = cfg.resolved_subsets()
    for name, (dataset_value, subset_value) in OPTION_CHANGES.items():
        assert getattr(inherits, name) == dataset_value, name
        assert getattr(overrides, name) == subset_value, name
