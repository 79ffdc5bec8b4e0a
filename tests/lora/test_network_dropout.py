"""rank_dropout and module_dropout (sd-scripts semantics): change the training forward, off at eval."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.network import NetworkSettings, build_network
from lorakit.models.loading import load_model


def _layer(folder, **kwargs):
    family = load_model(folder)
    settings = NetworkSettings(rank=4, alpha=2.0, **kwargs)
    network = build_network({"unet": family.components.unet}, family.lora_targets(True, False), settings)
    target = next(t for t in network.targets["unet"] if t.path.endswith("attn1.to_q"))
    layer = family.components.unet.get_submodule(target.path)
    with torch.no_grad():
        layer.lora_B["default"].weight.normal_(generator=torch.Generator().manual_seed(1))
    return layer


def _parts(layer, x):
    a, b = layer.lora_A["default"], layer.lora_B["default"]
    return layer.base_layer(x), a.weight, b.weight, layer.scaling["default"]


def test_rank_dropout_zeroes_rank_components_per_sample_and_rescales(tiny_sd1):
    p = 0.5
    layer = _layer(tiny_sd1, rank_dropout=p)
    x = torch.randn(3, 5, layer.in_features, generator=torch.Generator().manual_seed(2))
    layer.train()
    torch.manual_seed(7)
    out = layer(x)
    torch.manual_seed(7)
    keep = (torch.rand(3, 4) > p).float()  # the same draw the module makes: one mask per sample and rank
    base, down, up, scale = _parts(layer, x)
    expected = base + ((x @ down.T) * keep[:, None, :] / (1 - p)) @ up.T * scale
    assert torch.allclose(out, expected, atol=1e-5)
    assert 0 < keep.sum() < keep.numel()  # the check is not vacuous: some ranks kept, some dropped
    layer.eval()
    plain = base + (x @ down.T) @ up.T * scale
    assert torch.allclose(layer(x), plain, atol=1e-5)


def test_module_dropout_skips_the_whole_module_in_training_only(tiny_sd1):
    layer = _layer(tiny_sd1, module_dropout=1.0)
    x = torch.randn(2, 5, layer.in_features, generator=torch.Generator().manual_seed(3))
    base, down, up, scale = _parts(layer, x)
    layer.train()
    assert torch.allclose(layer(x), base, atol=1e-6)
    layer.eval()
    with_lora = base + (x @ down.T) @ up.T * scale
    assert not torch.allclose(with_lora, base, atol=1e-4)
    assert torch.allclose(layer(x), with_lora, atol=1e-5)


@pytest.mark.parametrize("kwargs", [{"rank_dropout": 0.3}, {"module_dropout": 0.5}])
def test_dropout_changes_the_training_forward_between_calls(tiny_sd1, kwargs):
    layer = _layer(tiny_sd1, **kwargs)
    x = torch.randn(4, 5, layer.in_features, generator=torch.Generator().manual_seed(4))
    layer.train()
    torch.manual_seed(0)
    outs = [layer(x) for _ in range(6)]
    assert any(not torch.allclose(outs[0], o) for o in outs[1:])
    layer.eval()
    assert torch.equal(layer(x), layer(x))
