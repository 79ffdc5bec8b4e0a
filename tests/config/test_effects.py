"""Every field says where it takes effect; "refused" fields are refused by the trainer before any model loads."""

from __future__ import annotations

import pytest

from lorakit.config.catalog import all_fields
from lorakit.config.fields import EFFECTS
from lorakit.config.refused import REFUSED, trainer_refusals
from lorakit.config.schema import TrainConfig

# A non-default value for each refused field.
REFUSED_VALUES = {
    "network.dylora_unit": 4,
    "network.train_norm": True,
    "network.use_tucker": True,
    "network.use_scalar": True,
    "multigpu.num_machines": 2,
    "multigpu.machine_rank": 1,
    "multigpu.main_process_ip": "10.0.0.1",
    "multigpu.main_process_port": 29500,
    "multigpu.fsdp": True,
}


def test_every_field_declares_a_known_effect():
    unlabelled = [s.path for s in all_fields() if s.effect not in EFFECTS]
    assert not unlabelled, f"fields without effect= (one of {EFFECTS}): {unlabelled}"


def test_export_only_and_refused_fields_say_so_in_their_help():
    for spec in all_fields():
        if spec.effect == "export-only":
            assert "Export only" in spec.help, spec.path
        if spec.effect == "refused":
            assert "Not available in lorakit's own trainer yet" in spec.help, spec.path


def test_refused_fields_are_exactly_the_refusal_list():
    labelled = {s.path for s in all_fields() if s.effect == "refused"}
    assert labelled == set(REFUSED) == set(REFUSED_VALUES)


def test_the_form_and_json_schema_carry_the_effect():
    from lorakit.config.schema_export import form_schema, json_schema

    fields = {f["path"]: f for section in form_schema()["sections"] for f in section["fields"]}
    assert fields["network.dim"]["effect"] == "trainer"
    assert fields["multigpu.deepspeed"]["effect"] == "export-only"
    assert fields["network.use_tucker"]["effect"] == "refused"
    network = json_schema()["$defs"]["NetworkSection"]["properties"]
    assert network["extra_args"]["x-lorakit"]["effect"] == "export-only"


def test_a_default_config_is_not_refused():
    assert not trainer_refusals(TrainConfig()).problems


@pytest.mark.parametrize("path", sorted(REFUSED_VALUES))
def test_each_refused_field_is_refused_when_set(path):
    section, name = path.split(".")
    cfg = TrainConfig()
    setattr(getattr(cfg, section), name, REFUSED_VALUES[path])
    problems = trainer_refusals(cfg).problems
    assert [p.field for p in problems] == [path]
    assert "not available in lorakit's trainer yet" in problems[0].problem
    assert "sd-scripts" in problems[0].fix


@pytest.mark.parametrize("kind", ["ia3", "dylora", "full"])
def test_unbuilt_network_types_are_refused(kind):
    cfg = TrainConfig()
    cfg.network.type = kind
    problems = trainer_refusals(cfg).problems
    assert [p.field for p in problems] == ["network.type"] and "not built yet" in problems[0].problem


@pytest.mark.parametrize("kind", ["lora", "locon", "loha", "lokr", "dora"])
def test_built_network_types_are_not_refused(kind):
    cfg = TrainConfig()
    cfg.network.type = kind
    assert not trainer_refusals(cfg).problems


def test_training_refuses_before_the_model_loads(tmp_path):
    from PIL import Image

    from lorakit import events as ev
    from lorakit.config.presets import new_config
    from lorakit.errors import ConfigError
    from lorakit.train.run import train

    seen = []
    (tmp_path / "data" / "1_kitbot").mkdir(parents=True)
    Image.new("RGB", (64, 64), "red").save(tmp_path / "data" / "1_kitbot" / "a.png")
    cfg = new_config(
        "tiny-demo",
        {
            "model.pretrained_model_name_or_path": "tiny:sd1",
            "dataset.train_data_dir": str(tmp_path / "data"),
            "output.output_dir": str(tmp_path / "out"),
            "network.type": "ia3",
        },
    )
    with pytest.raises(ConfigError, match="lorakit's trainer cannot train network type 'ia3'"):
        train(cfg, emitter=ev.Emitter(callbacks=[seen.append]))
    messages = [e.data.get("message", "") for e in seen if e.type == "status"]
    assert not any("Loading the base model" in m for m in messages)


@pytest.mark.parametrize(
    "kind, dora, changes, field",
    [
        ("loha", False, {"network.scale_weight_norms": 1.0}, "network.scale_weight_norms"),
        ("lora", True, {"network.scale_weight_norms": 1.0}, "network.scale_weight_norms"),
        ("dora", False, {"network.network_dropout": 0.1}, "network.network_dropout"),
        ("lokr", False, {"optimizer.loraplus_lr_ratio": 16.0}, "optimizer.loraplus_lr_ratio"),
    ],
)
def test_what_lycoris_networks_do_not_do_is_refused(kind, dora, changes, field):
    cfg = TrainConfig()
    cfg.network.type = kind
    cfg.network.dora_wd = dora
    for path, value in changes.items():
        section, name = path.split(".")
        setattr(getattr(cfg, section), name, value)
    problems = trainer_refusals(cfg).problems
    assert [p.field for p in problems] == [field]
    cfg.network.type, cfg.network.dora_wd = "locon", False
    assert not trainer_refusals(cfg).problems  # the same settings are fine on a LoCon
