"""Training LyCORIS networks (LoHa, LoKr, DoRA) through lorakit's trainer: the loss falls, the file is in the
LyCORIS layout with sd-scripts + LyCORIS metadata, a resumed run ends where an uninterrupted one does, and
SDXL writes SGM names."""

from __future__ import annotations

import json

import pytest
import torch

from lorakit import events as ev
from lorakit.lora.kohya import load_lora_file
from lorakit.train.run import train

from .conftest import make_dataset

pytestmark = pytest.mark.slow

SUFFIX = {"loha": "hada_w1_a", "lokr": "lokr_w1", "dora": "dora_scale"}


def _losses(seen) -> list[float]:
    return [e.data["loss"] for e in seen if e.type == "step"]


@pytest.mark.parametrize("kind", ["loha", "lokr", "dora"])
def test_training_lowers_the_loss_and_writes_the_lycoris_layout(tiny_config, tmp_path, kind):
    data = make_dataset(tmp_path / "one", count=1)
    cfg = tiny_config(
        dataset=data,
        network__type=kind,
        network__dim=4,
        network__alpha=4.0,
        network__conv_dim=4,
        learning__learning_rate=1e-2,
        schedule__max_train_epochs=None,
        schedule__max_train_steps=16,
        schedule__train_batch_size=1,
        noise__min_timestep=400,
        noise__max_timestep=401,
        network__train_unet_only=True,
    )
    seen: list = []
    result = train(cfg, emitter=ev.Emitter(callbacks=[seen.append]))
    losses = _losses(seen)
    assert len(losses) == 16
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4, losses
    lora = load_lora_file(result["lora"])
    assert any(k.endswith(SUFFIX[kind]) for k in lora.tensors)
    assert any(v.dim() == 4 and v.shape[-1] == 3 for v in lora.tensors.values()) or kind != "dora"
    assert lora.metadata["ss_network_module"] == "lycoris.kohya"
    args = json.loads(lora.metadata["ss_network_args"])
    assert args["algo"] == ("lora" if kind == "dora" else kind) and args["conv_dim"] == "4"
    assert (args.get("dora_wd") == "True") == (kind == "dora")
    from lorakit.lora.inspect import inspect_lora

    assert inspect_lora(result["lora"]).network == kind


def test_a_resumed_loha_run_ends_with_the_uninterrupted_weights(tiny_config, tmp_path):
    steps = {"schedule__max_train_epochs": None, "network__type": "loha", "network__dim": 4, "network__conv_dim": 2}
    reference = train(tiny_config(**steps, schedule__max_train_steps=4, output__output_name="ref"))
    first = train(tiny_config(**steps, schedule__max_train_steps=2, output__save_state=True))
    resumed = train(tiny_config(**steps, schedule__max_train_steps=4, output__resume=first["run_dir"]))
    assert resumed["steps"] == reference["steps"] == 4
    want, got = load_lora_file(reference["lora"]).tensors, load_lora_file(resumed["lora"]).tensors
    assert want.keys() == got.keys() and any(k.endswith(".hada_w2_a") for k in want)
    for key in want:
        torch.testing.assert_close(got[key], want[key], rtol=1e-5, atol=1e-6, msg=key)
    assert any(float(v.abs().max()) > 0 for k, v in want.items() if k.endswith(".hada_w2_a"))


def test_sdxl_lokr_with_dora_writes_sgm_names_and_loads_back(tiny_config, tiny_sdxl, tmp_path):
    sdxl = {
        "model__pretrained_model_name_or_path": str(tiny_sdxl),
        "model__family": "sdxl",
        "schedule__max_train_epochs": None,
        "schedule__max_train_steps": 2,
        "network__type": "lokr",
        "network__dora_wd": True,
        "network__factor": 4,
        "network__dim": 2,
    }
    first = train(tiny_config(**sdxl))
    lora = load_lora_file(first["lora"])
    names = {k.split(".", 1)[0] for k in lora.tensors}
    assert any(n.startswith("lora_unet_input_blocks_") for n in names)
    assert any(n.startswith("lora_te1_") for n in names) and any(n.startswith("lora_te2_") for n in names)
    assert any(k.endswith(".lokr_w1") for k in lora.tensors) and any(k.endswith(".dora_scale") for k in lora.tensors)
    assert json.loads(lora.metadata["ss_network_args"])["factor"] == "4"
    # Continuing from the file (network_weights) reads every module back: the first step starts from it.
    again = train(tiny_config(**sdxl, network__network_weights=first["lora"], output__output_name="again"))
    assert again["steps"] == 2
