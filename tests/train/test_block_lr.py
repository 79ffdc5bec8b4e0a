"""down/mid/up_lr_weight become optimizer groups whose learning rates are the UNet rate × the block weight."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.blocks import block_index
from lorakit.train import setup as su


def test_param_groups_carry_block_learning_rates(tiny_config):
    cfg = tiny_config(
        network__down_lr_weight=[1.0, 1.0, 1.0, 1.0, 0.5, 0.25],
        network__mid_lr_weight=2.0,
        network__up_lr_weight=[0.0, 0.75],
        learning__learning_rate=1e-3,
        learning__unet_lr=2e-3,
        learning__lr_scheduler="constant",
    )
    family, network = su.build_model_and_network(cfg, torch.device("cpu"))
    optimizer, _ = su.build_optimizer_and_schedule(cfg, network, total_steps=4, warmup_steps=0)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    expected = {4: 0.5, 5: 0.25, 12: 2.0, 14: 0.75}
    unet = family.components.unet
    seen = set()
    for t in network.targets["unet"]:
        block = block_index(t.kohya)
        assert block != 13  # up block 0 has weight 0: not trained at all
        layer = unet.get_submodule(t.path)
        for p in (layer.lora_A["default"].weight, layer.lora_B["default"].weight):
            assert lr_of[id(p)] == pytest.approx(2e-3 * expected.get(block, 1.0))
        seen.add(block)
    assert {4, 5, 12, 14, 15} <= seen
    names = {g["name"] for g in optimizer.param_groups}
    assert {"unet", "unet_x0.5", "unet_x0.25", "unet_x2", "unet_x0.75"} <= names


def test_without_block_weights_one_group_per_component(tiny_config):
    cfg = tiny_config()
    _, network = su.build_model_and_network(cfg, torch.device("cpu"))
    optimizer, _ = su.build_optimizer_and_schedule(cfg, network, total_steps=4, warmup_steps=0)
    assert [g["name"] for g in optimizer.param_groups] == list(network.components)  # unet, te
    assert sum(len(g["params"]) for g in optimizer.param_groups) == len(network.parameters())


def test_metadata_network_args_carry_block_and_dropout_settings(tiny_config):
    import json

    from lorakit.lora.kohya import training_metadata

    dims = [(b % 3) + 1 for b in range(25)]
    cfg = tiny_config(network__block_dims=dims, network__rank_dropout=0.1, network__module_dropout=0.2)
    family, network = su.build_model_and_network(cfg, torch.device("cpu"))
    meta = training_metadata(family=family, network=network, settings={}, dataset={}, model_name="tiny")
    args = json.loads(meta["ss_network_args"])
    assert args == {"rank_dropout": "0.1", "module_dropout": "0.2", "block_dims": ",".join(map(str, dims))}


def test_sdxl_param_groups_follow_the_23_block_layout(tiny_config, tiny_sdxl):
    cfg = tiny_config(
        model__pretrained_model_name_or_path=str(tiny_sdxl),
        model__family="sdxl",
        network__down_lr_weight=[1.0, 1.0, 1.0, 1.0, 1.0, 0.25],  # block 6 = input_blocks_5
        network__mid_lr_weight=0.5,  # block 10 = middle_block_0; middle_block_1/2 stay 1.0 (sd-scripts pads)
        learning__unet_lr=1e-3,
        network__conv_dim=2,  # LoCon: the middle block's resnets (blocks 10 and 12) get modules too
    )
    family, network = su.build_model_and_network(cfg, torch.device("cpu"))
    optimizer, _ = su.build_optimizer_and_schedule(cfg, network, total_steps=4, warmup_steps=0)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    expected = {6: 0.25, 10: 0.5}
    seen = set()
    for t in network.targets["unet"]:
        block = block_index(t.kohya)
        weight = family.components.unet.get_submodule(t.path).lora_A["default"].weight
        assert lr_of[id(weight)] == pytest.approx(1e-3 * expected.get(block, 1.0)), t.kohya
        seen.add(block)
    assert {6, 10, 11, 12} <= seen
