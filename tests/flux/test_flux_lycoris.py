"""LoHa / LoKr / DoRA are not built for Flux yet (its files are fused in sd-scripts' layout): refused with the
fix, both when the config names the family and when the family is only found from the model's files."""

from __future__ import annotations

import pytest

from lorakit.config.errors import ConfigError
from lorakit.config.presets import new_config
from lorakit.config.refused import trainer_refusals
from lorakit.train.run import train

from .conftest import make_dataset


def _config(tmp_path, model, family, **values):
    base = {
        "model.pretrained_model_name_or_path": str(model),
        "model.family": family,
        "dataset.train_data_dir": str(make_dataset(tmp_path / "data")),
        "output.output_dir": str(tmp_path / "out"),
        "schedule.max_train_epochs": None,
        "schedule.max_train_steps": 1,
        "network.train_unet_only": True,
    }
    base.update(values)
    return new_config("tiny-demo", base)


@pytest.mark.parametrize(("values", "what"), [({"network.type": "loha"}, "loha"), ({"network.dora_wd": True}, "DoRA")])
def test_flux_lycoris_refused_at_validation(tmp_path, tiny_flux, values, what):
    report = trainer_refusals(_config(tmp_path, tiny_flux, "flux", **values))
    problems = [p for p in report.problems if p.field == "network.type"]
    assert problems and what in problems[0].problem and "network.type = 'lora'" in problems[0].fix


def test_flux_lycoris_refused_when_family_found_from_files(tmp_path, tiny_flux):
    cfg = _config(tmp_path, tiny_flux, "auto", **{"network.type": "lokr"})
    with pytest.raises(ConfigError, match="lokr networks are not available for Flux") as info:
        train(cfg, tmp_path / "run")
    assert "network.type = 'lora'" in info.value.fix
    assert not list((tmp_path / "out").glob("*.safetensors"))
