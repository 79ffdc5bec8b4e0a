"""Every TrainConfig field reaches sd-scripts' files or is explicitly lorakit-only (or a secret, never written).

A new field without an sd-scripts name, or one the export forgets, fails here instead of silently vanishing.
"""

from __future__ import annotations

from lorakit.config.catalog import SUBSET_PREFIX, all_fields, top_fields
from lorakit.config.fields import LORAKIT_ONLY
from lorakit.config.kohya import script_takes, to_kohya
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError


def _sd_scripts_side(cfg: TrainConfig) -> tuple:
    files = to_kohya(cfg)
    return files.config, files.dataset, files.script, files.sample_prompts


def _with(cfg: TrainConfig, spec, value) -> TrainConfig:
    data = cfg.model_dump()
    if spec.path.startswith(SUBSET_PREFIX):
        data["dataset"]["subsets"][1][spec.name] = value
    elif spec.section:
        data[spec.section][spec.name] = value
    else:
        data[spec.name] = value
    return TrainConfig.model_validate(data)


def test_every_field_declares_an_sd_scripts_name_or_lorakit_only():
    undeclared = [s.path for s in all_fields() if not s.meta.get("kohya")]
    assert undeclared == []


def test_every_field_is_emitted_or_lorakit_only(every_field):
    """Changing any field changes what sd-scripts reads (or, for lorakit-only fields, lorakit.toml)."""
    base_side, base_extra = _sd_scripts_side(every_field), to_kohya(every_field).lorakit
    forgotten = []
    for spec in all_fields():
        if spec.secret or spec.path in ("config_version", "output.save_model_as", f"{SUBSET_PREFIX}.image_dir"):
            continue  # secrets are never written; the other two have a single possible value here
        if spec.path in ("dataset.train_data_dir", "dataset.reg_data_dir"):
            continue  # they exclude subsets: test_folder_mode_writes_train_and_reg_dirs
        current = (
            getattr(every_field.dataset.subsets[1], spec.name)
            if spec.path.startswith(SUBSET_PREFIX)
            else (getattr(getattr(every_field, spec.section), spec.name) if spec.section else None)
        )
        default = spec.info.get_default(call_default_factory=True) if not spec.info.is_required() else None
        changed = _with(every_field, spec, default if default != current else None)
        try:
            to_kohya(changed)
        except ConfigError:
            continue  # the export refuses the changed config: the field is read (e.g. cosine_with_min_lr's floor)
        if spec.meta["kohya"] == LORAKIT_ONLY or not script_takes(base_side[2], spec.kohya):
            # lorakit-only, or an argument this family's script lacks (sd-scripts would ignore it there)
            if to_kohya(changed).lorakit == base_extra:
                forgotten.append(f"{spec.path} (missing from lorakit.toml)")
        elif _sd_scripts_side(changed) == base_side:
            forgotten.append(f"{spec.path} (sd-scripts: {spec.kohya})")
    assert forgotten == []


def test_folder_mode_writes_train_and_reg_dirs():
    from lorakit.config.schema import TrainConfig

    cfg = TrainConfig.model_validate({"dataset": {"train_data_dir": "/data/train", "reg_data_dir": "/data/reg"}})
    files = to_kohya(cfg)
    assert files.dataset is None
    assert files.config["train_data_dir"] == "/data/train" and files.config["reg_data_dir"] == "/data/reg"
    assert files.config["resolution"] == "512,512" and files.config["caption_extension"] == ".txt"


def test_keys_a_script_lacks_are_not_written_to_config_toml(every_field):
    """sd-scripts ignores config.toml keys its script's parser lacks; the export keeps them in lorakit.toml."""
    sd1 = every_field.model_copy(update={"model": every_field.model.model_copy(update={"family": "sd1"})})
    files = to_kohya(sd1)
    assert files.script == "train_network.py"
    for key in ("cache_text_encoder_outputs", "blocks_to_swap", "t5xxl", "guidance_scale", "clip_l"):
        assert key not in files.config, key
    assert files.lorakit["memory"]["cache_text_encoder_outputs"] is True
    assert any("cache_text_encoder_outputs" in note for note in files.notes)
    sdxl = to_kohya(every_field)
    assert sdxl.config["cache_text_encoder_outputs"] is True and "blocks_to_swap" not in sdxl.config
    flux = every_field.model_copy(update={"model": every_field.model.model_copy(update={"family": "flux"})})
    flux = flux.model_copy(update={"network": flux.network.model_copy(update={"type": "lora"})})
    assert "blocks_to_swap" in to_kohya(flux).config and "t5xxl" in to_kohya(flux).config


def test_lorakit_only_fields_land_in_lorakit_toml(every_field):
    files = to_kohya(every_field)
    for spec in top_fields():
        if spec.lorakit_only and spec.path != "config_version":
            assert spec.name in files.lorakit.get(spec.section, {}), spec.path


def test_secrets_are_never_exported():
    from lorakit.config.schema import TrainConfig

    cfg = TrainConfig.model_validate({"logging": {"wandb_api_key": "wb-SECRET", "huggingface_token": "hf_SECRET"}})
    files = to_kohya(cfg)
    assert "SECRET" not in repr(files.config) + repr(files.lorakit) + repr(files.dataset)
