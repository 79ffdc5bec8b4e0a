"""What sd-scripts does with our export, checked without sd-scripts: the rules its code imposes
(library/train_util.py, networks/*.py, LyCORIS' kohya.py), each with the text sd-scripts would read.

scripts/verify_against_sd_scripts.py runs the same exports through sd-scripts' own parser and dataset loader.
"""

from __future__ import annotations

import ast

import pytest
from PIL import Image

from lorakit.config.kohya import export_kohya, from_kohya, import_kohya, to_kohya
from lorakit.config.presets import new_config
from lorakit.config.validate import validate
from lorakit.errors import ConfigError

SUBSETS = {"dataset.subsets": [{"image_dir": "/data/a", "num_repeats": 2}]}


def _cfg(**overrides):
    return new_config(None, {**SUBSETS, **{key.replace("__", "."): v for key, v in overrides.items()}})


def _args(items: list[str]) -> dict:
    """``key=value`` texts read the way sd-scripts reads optimizer_args / lr_scheduler_args."""
    parsed = {}
    for item in items:
        key, value = item.split("=")  # sd-scripts splits exactly like this
        parsed[key] = ast.literal_eval(value)
    return parsed


def _roundtrip(cfg, tmp_path):
    written = export_kohya(cfg, tmp_path)
    return import_kohya(*[p for p in written if p.suffix == ".toml"]).config


def test_face_crop_range_is_text_in_folder_mode_and_a_list_in_dataset_toml(tmp_path):
    cfg = new_config(None, {"dataset.train_data_dir": "/data/train", "dataset.face_crop_aug_range": [2.0, 4.0]})
    files = to_kohya(cfg)
    assert files.config["face_crop_aug_range"] == "2.0,4.0"  # sd-scripts' argument is type=str
    assert from_kohya(files.config, None, files.lorakit).config == cfg
    assert from_kohya({"train_data_dir": "/d", "face_crop_aug_range": "1.5,3"}).config.dataset.face_crop_aug_range
    subsets = to_kohya(_cfg(dataset__face_crop_aug_range=[2.0, 4.0]))
    assert subsets.dataset["general"]["face_crop_aug_range"] == [2.0, 4.0]


def test_rex_is_refused_not_exported_as_something_else():
    with pytest.raises(ConfigError) as caught:
        to_kohya(_cfg(learning__lr_scheduler="rex"))
    assert "REX" in caught.value.problem and "lr_scheduler" in caught.value.fix


def test_warm_restarts_go_through_torchs_class(tmp_path):
    cfg = _cfg(learning__lr_scheduler="cosine_annealing_warm_restarts", learning__lr_scheduler_args={"T_0": 50})
    files = to_kohya(cfg)
    assert files.config["lr_scheduler_type"] == "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts"
    assert _args(files.config["lr_scheduler_args"]) == {"T_0": 50}
    assert "lr_scheduler" not in files.config and "lr_warmup_steps" not in files.config
    assert _roundtrip(cfg, tmp_path) == cfg
    # By steps, T_0 is the run's steps over the cycles (lorakit's default); a floor becomes eta_min.
    by_steps = _cfg(
        learning__lr_scheduler="cosine_annealing_warm_restarts",
        learning__lr_scheduler_num_cycles=4,
        learning__lr_scheduler_min_lr_ratio=0.1,
        learning__learning_rate=2e-4,
        schedule__max_train_steps=400,
        multigpu__num_processes=2,
    )
    assert _args(to_kohya(by_steps).config["lr_scheduler_args"]) == pytest.approx({"T_0": 200, "eta_min": 2e-5})
    # A plain sd-scripts config with the class imports as our schedule.
    plain = from_kohya({"lr_scheduler_type": "CosineAnnealingWarmRestarts", "lr_scheduler_args": ["T_0=10"]}).config
    assert plain.learning.lr_scheduler == "cosine_annealing_warm_restarts"


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"learning__lr_warmup_steps": 10, "learning__lr_scheduler_args": {"T_0": 5}}, "warmup"),
        ({"schedule__max_train_epochs": 5}, "T_0"),
        (
            {
                "learning__lr_scheduler_args": {"T_0": 5},
                "learning__lr_scheduler_min_lr_ratio": 0.1,
                "learning__text_encoder_lr": 1e-5,
            },
            "floor",
        ),
    ],
)
def test_warm_restarts_without_a_faithful_export_are_refused(overrides, words):
    with pytest.raises(ConfigError) as caught:
        to_kohya(_cfg(learning__lr_scheduler="cosine_annealing_warm_restarts", **overrides))
    assert words in caught.value.problem + caught.value.fix


@pytest.mark.parametrize("name", ["constant", "adafactor"])
def test_no_warmup_is_ever_written_with_a_fixed_rate(name, tmp_path):
    cfg = _cfg(learning__lr_scheduler=name, learning__lr_warmup_steps=20, optimizer__optimizer_type="Adafactor")
    files = to_kohya(cfg)
    assert files.config["lr_scheduler"] == "constant"  # sd-scripts' 'adafactor' needs its relative step
    assert "lr_warmup_steps" not in files.config
    assert files.lorakit["learning"]["lr_warmup_steps"] == 20
    assert _roundtrip(cfg, tmp_path) == cfg


def test_cosine_with_min_lr_needs_a_floor_in_validation_and_export():
    cfg = _cfg(learning__lr_scheduler="cosine_with_min_lr")
    assert any(i.field == "learning.lr_scheduler_min_lr_ratio" for i in validate(cfg).problems)
    with pytest.raises(ConfigError):
        to_kohya(cfg)
    fixed = _cfg(learning__lr_scheduler="cosine_with_min_lr", learning__lr_scheduler_min_lr_ratio=0.1)
    assert not any(i.field == "learning.lr_scheduler_min_lr_ratio" for i in validate(fixed).problems)
    assert to_kohya(fixed).config["lr_scheduler_min_lr_ratio"] == 0.1


def test_argument_values_survive_sd_scripts_literal_eval(tmp_path):
    cfg = _cfg(
        learning__lr_scheduler="piecewise_constant",
        learning__lr_scheduler_args={"step_rules": "1:10,0.1:20,0.01"},
        optimizer__optimizer_type="AdamW",
        optimizer__betas=[0.9, 0.99],
        optimizer__weight_decay=0.05,
        optimizer__optimizer_args={"amsgrad": True, "foreach": False, "name": "x y"},
    )
    files = to_kohya(cfg)
    assert _args(files.config["lr_scheduler_args"]) == {"step_rules": "1:10,0.1:20,0.01"}
    assert _args(files.config["optimizer_args"]) == {
        "weight_decay": 0.05,
        "betas": (0.9, 0.99),
        "amsgrad": True,
        "foreach": False,
        "name": "x y",
    }
    assert _roundtrip(cfg, tmp_path) == cfg


def test_adafactor_keeps_the_fixed_learning_rate(tmp_path):
    cfg = _cfg(optimizer__optimizer_type="Adafactor")
    args = _args(to_kohya(cfg).config["optimizer_args"])
    assert args == {"relative_step": False, "scale_parameter": False, "warmup_init": False}
    assert _roundtrip(cfg, tmp_path) == cfg
    # sd-scripts' Adafactor without arguments picks its own rate: the import says so.
    plain = from_kohya({"optimizer_type": "AdaFactor"}).config
    assert plain.optimizer.optimizer_args == {"relative_step": True, "scale_parameter": True}


def test_conv_dim_and_alpha_mean_the_same_in_every_network_module(tmp_path):
    lora = to_kohya(_cfg(network__conv_dim=8)).config
    assert lora["network_module"] == "networks.lora" and lora["network_args"] == ["conv_dim=8", "conv_alpha=8"]
    locon = to_kohya(_cfg(network__type="locon")).config  # empty conv_dim: no convolutions
    assert locon["network_args"] == ["algo=locon", "preset=attn-mlp"]
    for cfg in (_cfg(network__conv_dim=8), _cfg(network__type="locon"), _cfg(network__type="loha", network__dim=8)):
        assert _roundtrip(cfg, tmp_path) == cfg
    # Files written by hand: what the module does when a value is missing.
    lyco = from_kohya({"network_module": "lycoris.kohya", "network_dim": 16, "network_alpha": 4, "network_args": []})
    assert (lyco.config.network.conv_dim, lyco.config.network.conv_alpha) == (16, 4.0)
    plain = from_kohya({"network_module": "networks.lora", "network_args": ["conv_dim=4"]}).config
    assert (plain.network.conv_dim, plain.network.conv_alpha) == (4, 1.0)


def test_dylora_on_flux_is_refused():
    with pytest.raises(ConfigError) as caught:
        to_kohya(_cfg(model__family="flux", network__type="dylora"))
    assert "dylora" in caught.value.problem


def test_the_tiny_model_is_not_written_as_a_model_path(tmp_path):
    cfg = new_config("tiny-demo", SUBSETS)
    files = to_kohya(cfg)
    assert "pretrained_model_name_or_path" not in files.config
    assert any("tiny:sd1" in note for note in files.notes)
    assert _roundtrip(cfg, tmp_path) == cfg


def test_dataset_config_is_absolute_and_a_moved_folder_still_imports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = _cfg(model__family="sdxl")
    export_kohya(cfg, "out")  # a relative folder
    text = (tmp_path / "out" / "config.toml").read_text()
    assert f'dataset_config = "{tmp_path / "out" / "dataset.toml"}"' in text
    (tmp_path / "out").rename(tmp_path / "moved")
    assert import_kohya(tmp_path / "moved" / "config.toml").config == cfg


def test_an_sdxl_config_imports_as_sdxl(tmp_path):
    cfg = _cfg(model__family="sdxl")
    export_kohya(cfg, tmp_path)
    (tmp_path / "lorakit.toml").unlink()  # only what sd-scripts reads (and its comment line)
    back = import_kohya(tmp_path / "config.toml").config
    assert back.model.family == "sdxl" and to_kohya(back).script == "sdxl_train_network.py"
    for hint in ({"cache_text_encoder_outputs": True}, {"text_encoder_lr": [1e-5, 2e-5]}):
        assert from_kohya(hint).config.model.family == "sdxl"
    unknown = from_kohya({"pretrained_model_name_or_path": "/nowhere/model.safetensors"})
    assert unknown.config.model.family == "auto" and any("model.family" in n for n in unknown.notes)


def test_dadaptation_round_trips(tmp_path):
    cfg = from_kohya({"optimizer_type": "DAdaptation"}).config
    assert cfg.optimizer.optimizer_type == "DAdaptAdamPreprint"
    assert to_kohya(cfg).config["optimizer_type"] == "DAdaptAdamPreprint"  # the same class in sd-scripts
    full = _cfg(optimizer__optimizer_type="DAdaptAdamPreprint")
    assert _roundtrip(full, tmp_path) == full


def test_steps_without_epochs_come_back_without_epochs(tmp_path):
    back = from_kohya({"max_train_steps": 500}).config
    assert (back.schedule.max_train_epochs, back.schedule.max_train_steps) == (None, 500)
    cfg = _cfg(schedule__max_train_steps=500)
    assert to_kohya(cfg).config["max_train_steps"] == 500 and "max_train_epochs" not in to_kohya(cfg).config
    assert _roundtrip(cfg, tmp_path) == cfg


def test_the_plan_and_the_export_train_as_long(tmp_path):
    """Default epochs, steps only, and both: validate, plan and config.toml agree (epochs win, as in sd-scripts)."""
    from lorakit.data.plan import plan_for_config

    folder = tmp_path / "img"
    folder.mkdir()
    for i in range(6):
        Image.new("RGB", (64, 64), (i, 0, 0)).save(folder / f"{i}.png")
        (folder / f"{i}.txt").write_text("ohwx")
    base = {"dataset.subsets": [{"image_dir": str(folder), "num_repeats": 2}], "dataset.resolution": 64}
    cases = {
        "neither": ({}, 10, None),
        "steps only": ({"schedule.max_train_steps": 30}, None, 30),
        "both": ({"schedule.max_train_steps": 30, "schedule.max_train_epochs": 3}, 3, 30),
    }
    for name, (overrides, epochs, steps) in cases.items():
        cfg = new_config(None, base | {"dataset.min_bucket_reso": 64, "dataset.bucket_reso_steps": 64} | overrides)
        plan = plan_for_config(cfg)
        config = to_kohya(cfg).config
        assert config.get("max_train_epochs") == epochs and config.get("max_train_steps") == steps, name
        # what sd-scripts runs: epochs × steps per epoch when epochs are given, else max_train_steps
        sd_steps = epochs * plan.steps_per_epoch if epochs is not None else steps
        assert plan.total_steps == sd_steps, name
        warned = any(w.field == "schedule.max_train_steps" for w in validate(cfg).warnings)
        assert warned == (name == "both"), name


def test_a_floor_reaches_sd_scripts_or_the_export_is_refused(tmp_path):
    # polynomial: transformers decays to lr_end (1e-7 unless given) relative to learning_rate
    poly = _cfg(learning__lr_scheduler="polynomial", learning__lr_scheduler_min_lr_ratio=0.25)
    assert _args(to_kohya(poly).config["lr_scheduler_args"]) == {"lr_end": 0.25 * poly.learning.learning_rate}
    assert _roundtrip(poly, tmp_path / "p") == poly
    bare = _cfg(learning__lr_scheduler="polynomial")
    assert _args(to_kohya(bare).config["lr_scheduler_args"]) == {"lr_end": 0.0}
    assert _roundtrip(bare, tmp_path / "b") == bare
    hand = from_kohya({"lr_scheduler": "polynomial", "learning_rate": 1e-4}).config  # sd-scripts' own 1e-7
    assert hand.learning.lr_scheduler_min_lr_ratio == pytest.approx(1e-3)
    # cosine with a floor is sd-scripts' cosine_with_min_lr with one cycle
    cosine = _cfg(learning__lr_scheduler="cosine", learning__lr_scheduler_min_lr_ratio=0.1)
    config = to_kohya(cosine).config
    assert (config["lr_scheduler"], config.get("lr_scheduler_num_cycles", 1)) == ("cosine_with_min_lr", 1)
    assert _roundtrip(cosine, tmp_path / "c") == cosine
    with pytest.raises(ConfigError) as caught:
        to_kohya(_cfg(learning__lr_scheduler="linear", learning__lr_scheduler_min_lr_ratio=0.1))
    assert "lowest learning rate" in caught.value.problem


def test_warmup_stable_decay_writes_the_decay_sd_scripts_reads(tmp_path):
    cfg = _cfg(learning__lr_scheduler="warmup_stable_decay", learning__lr_scheduler_args={"decay_steps": 0.3})
    config = to_kohya(cfg).config
    assert config["lr_decay_steps"] == 0.3 and "lr_scheduler_args" not in config
    assert _roundtrip(cfg, tmp_path) == cfg
    default = to_kohya(_cfg(learning__lr_scheduler="warmup_stable_decay")).config
    assert default.get("lr_decay_steps", 0) == 0  # learning.lr_decay_steps: no decay unless told, as sd-scripts
    told = to_kohya(_cfg(learning__lr_scheduler="warmup_stable_decay", learning__lr_decay_steps=0.2)).config
    assert told["lr_decay_steps"] == 0.2


def test_unset_seed_stays_unset_and_the_dataset_batch_size_wins(tmp_path):
    result = from_kohya({"train_batch_size": 4}, {"datasets": [{"batch_size": 2, "subsets": [{"image_dir": "/a"}]}]})
    assert result.config.schedule.train_batch_size == 2  # sd-scripts' blueprint: the dataset's value wins
    assert any("batch_size = 2 is used" in note for note in result.notes)
    assert result.config.schedule.seed is None  # sd-scripts draws one per run, and so does lorakit then
    assert from_kohya({"seed": 3}).config.schedule.seed == 3
    cfg = _cfg(schedule__seed=None)
    assert "seed" not in to_kohya(cfg).config
    assert _roundtrip(cfg, tmp_path) == cfg


def test_adafactor_momentum_is_beta1(tmp_path):
    cfg = _cfg(optimizer__optimizer_type="Adafactor", optimizer__betas=[0.8, 0.99])
    args = _args(to_kohya(cfg).config["optimizer_args"])
    assert args["beta1"] == 0.8 and "betas" not in args  # transformers' Adafactor has no betas argument
    assert _roundtrip(cfg, tmp_path) == cfg
    plain = from_kohya({"optimizer_type": "AdaFactor", "optimizer_args": ["relative_step=False", "beta1=0.9"]})
    assert plain.config.optimizer.betas[0] == 0.9


def test_arguments_the_script_ignores_are_not_imported():
    result = from_kohya({"cache_text_encoder_outputs": True, "blocks_to_swap": 8}, script="train_network.py")
    assert result.config.memory.cache_text_encoder_outputs is False and result.config.memory.blocks_to_swap is None
    assert any("sd-scripts ignored it" in note for note in result.notes)
    sdxl = from_kohya({"cache_text_encoder_outputs": True}).config  # no script named: SDXL's caching
    assert sdxl.model.family == "sdxl" and sdxl.memory.cache_text_encoder_outputs is True
