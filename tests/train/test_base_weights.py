"""base_weights (merged into the base before training) and dim_from_weights (sizes taken from network_weights)."""

from __future__ import annotations

import pytest
import torch

from lorakit.errors import ModelError
from lorakit.lora.blocks import BlockSettings
from lorakit.lora.kohya import save_lora_file
from lorakit.lora.network import NetworkSettings, build_network
from lorakit.models.loading import load_model
from lorakit.train import setup as su


def _lora_file(folder, path, seed=0, text_encoder=True):
    """A LoRA file for the tiny model with per-block ranks 1-4 and random (non-zero) weights."""
    family = load_model(folder)
    blocks = BlockSettings.build([(b % 4) + 1 for b in range(25)], [float(b % 3) + 1 for b in range(25)])
    settings = NetworkSettings(rank=3, alpha=1.5, blocks=blocks, train_text_encoder=text_encoder)
    network = build_network(family.trainable_parts(), family.lora_targets(True, text_encoder), settings)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in network.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    tensors = network.kohya_state_dict(torch.float32)
    save_lora_file(path, tensors)
    return tensors


def _delta(tensors, name):
    down, up = tensors[f"{name}.lora_down.weight"], tensors[f"{name}.lora_up.weight"]
    scale = float(tensors[f"{name}.alpha"]) / down.shape[0]
    return (up.flatten(1) @ down.flatten(1)) * scale  # computed here, independently of LoraModule.delta


def test_base_weights_change_the_base_by_multiplier_times_delta(tiny_config, tiny_sd1, tmp_path):
    first = _lora_file(tiny_sd1, tmp_path / "a.safetensors", seed=1)
    second = _lora_file(tiny_sd1, tmp_path / "b.safetensors", seed=2, text_encoder=False)
    original = load_model(tiny_sd1)
    cfg = tiny_config(
        network__base_weights=[str(tmp_path / "a.safetensors"), str(tmp_path / "b.safetensors")],
        network__base_weights_multiplier=[0.7],  # the second file: 1.0
    )
    family, network = su.build_model_and_network(cfg, torch.device("cpu"))
    unet, base_unet = family.components.unet, original.components.unet
    checked = 0
    for t in network.targets["unet"]:
        layer = unet.get_submodule(t.path)
        before = base_unet.get_submodule(t.path).weight
        want = before + (0.7 * _delta(first, t.kohya) + _delta(second, t.kohya)).reshape(before.shape)
        assert torch.allclose(layer.base_layer.weight, want, atol=1e-5), t.kohya
        checked += 1
    assert checked > 50
    te, base_te = family.components.text_encoders[0], original.components.text_encoders[0]
    name = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    path = next(p for p, _ in te.named_modules() if p.endswith("layers.0.self_attn.q_proj"))
    got = te.get_submodule(path)
    got = getattr(got, "base_layer", got).weight
    want = base_te.get_submodule(path).weight + 0.7 * _delta(first, name)
    assert torch.allclose(got, want, atol=1e-5)  # the text encoder gets its part even when it is not trained


def test_base_weights_for_another_model_are_refused(tiny_config, tiny_sd1, tmp_path):
    save_lora_file(
        tmp_path / "x.safetensors",
        {
            "lora_unet_nowhere.lora_down.weight": torch.zeros(2, 4),
            "lora_unet_nowhere.lora_up.weight": torch.zeros(4, 2),
        },
    )
    cfg = tiny_config(network__base_weights=[str(tmp_path / "x.safetensors")])
    with pytest.raises(ModelError) as info:
        su.build_model_and_network(cfg, torch.device("cpu"))
    assert "base_weights" in info.value.problem


def test_dim_from_weights_takes_each_module_rank_and_alpha(tiny_config, tiny_sd1, tmp_path):
    tensors = _lora_file(tiny_sd1, tmp_path / "w.safetensors", seed=3, text_encoder=False)
    cfg = tiny_config(
        network__network_weights=str(tmp_path / "w.safetensors"),
        network__dim_from_weights=True,
        network__dim=16,
        network__alpha=8.0,
        learning__text_encoder_lr=0.0,
    )
    _, network = su.build_model_and_network(cfg, torch.device("cpu"))
    got = network.kohya_state_dict(torch.float32)
    assert set(got) == set(tensors)
    ranks = {t.rank for t in network.targets["unet"]}
    assert ranks == {1, 2, 3, 4}
    for key, value in tensors.items():
        assert torch.allclose(got[key], value, atol=1e-6), key  # loaded as is: same rank, same alpha


def test_without_dim_from_weights_a_different_rank_is_refused(tiny_config, tiny_sd1, tmp_path):
    _lora_file(tiny_sd1, tmp_path / "w.safetensors", text_encoder=False)
    cfg = tiny_config(network__network_weights=str(tmp_path / "w.safetensors"), network__dim=16)
    with pytest.raises(Exception) as info:
        su.build_model_and_network(cfg, torch.device("cpu"))
    assert "rank" in str(info.value.problem)


def test_sdxl_base_weights_reach_every_module(tiny_sdxl, tmp_path):
    from lorakit.lora.base_weights import merge_base_weights

    family = load_model(tiny_sdxl)
    settings = NetworkSettings(kind="locon", rank=2, alpha=1.0, conv_rank=2, conv_alpha=2.0, train_text_encoder=True)
    network = build_network(family.trainable_parts(), family.lora_targets(True, True), settings)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for p in network.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    tensors = network.kohya_state_dict(torch.float32)
    save_lora_file(tmp_path / "sdxl.safetensors", tensors)
    fresh, original = load_model(tiny_sdxl), load_model(tiny_sdxl)
    changed = merge_base_weights(
        fresh.trainable_parts(), fresh.lora_targets(True, True), [tmp_path / "sdxl.safetensors"], [2.0]
    )
    assert changed == sum(len(t) for t in network.targets.values())
    for component, targets in network.targets.items():
        model, base = fresh.trainable_parts()[component], original.trainable_parts()[component]
        for t in targets:
            before = base.get_submodule(t.path).weight
            want = before + 2.0 * _delta(tensors, t.kohya).reshape(before.shape)
            assert torch.allclose(model.get_submodule(t.path).weight, want, atol=1e-5), t.kohya


def test_dim_from_weights_without_a_file_is_refused(tiny_config):
    from lorakit.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        su.network_settings(tiny_config(network__dim_from_weights=True))
    assert "network_weights" in info.value.fix
