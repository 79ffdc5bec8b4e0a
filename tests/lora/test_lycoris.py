"""LyCORIS networks (LoHa, LoKr, DoRA): a trained tiny network's weight change equals each type's formula,
written here from the papers / LyCORIS docs and not taken from lorakit; the files load through the
lycoris-lora library's own loader with no unmatched module and give the same model output."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from lorakit.lora.kohya import save_lora_file
from lorakit.lora.network import NetworkSettings, build_network
from lorakit.models.loading import load_model

# name -> NetworkSettings overrides; every case adapts the 3x3 convs too (conv_rank) and the text encoder.
CASES = {
    "loha": {"kind": "loha"},
    "lokr": {"kind": "lokr"},
    "lokr-factor4-both": {"kind": "lokr", "factor": 4, "decompose_both": True, "rank": 1},
    "lokr-full": {"kind": "lokr", "full_matrix": True},
    "dora": {"kind": "dora"},
    "loha-dora": {"kind": "loha", "dora_wd": True},
    "lokr-dora": {"kind": "lokr", "dora_wd": True},
}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sd1(tiny_sd1):
    return load_model(tiny_sd1)


def _inputs(family, seed=0):
    generator = torch.Generator().manual_seed(seed)
    latents = torch.randn(2, 4, 8, 8, generator=generator)
    noise = torch.randn(2, 4, 8, 8, generator=generator)
    return latents, noise, torch.tensor([300, 700])


def trained_network(base_family, case: str, steps: int = 3):
    """A copy of the tiny SD1 model with a ``case`` network trained a few Adam steps on one batch."""
    family = copy.deepcopy(base_family)
    values = {"rank": 4, "alpha": 2.0, "conv_rank": 4, "conv_alpha": 1.0, "train_text_encoder": True}
    settings = NetworkSettings(**{**values, **CASES[case]})
    network = build_network(family.trainable_parts(), family.lora_targets(True, True), settings)
    optimizer = torch.optim.Adam(network.parameters(), lr=2e-2)
    latents, noise, t = _inputs(family)
    losses = []
    for _ in range(steps):
        cond = family.encode_prompts(["kitbot, robot cat", "a red background"])
        loss = F.mse_loss(family.predict(latents + noise, t, cond), noise)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return family, network, losses


def _formula(tensors: dict[str, torch.Tensor], base: torch.Tensor) -> torch.Tensor:
    """The new weight of one layer from a LyCORIS module's file tensors, by the published formulas."""
    t = {k: v.double() for k, v in tensors.items()}
    w = base.double()
    out = w.shape[0]
    if "hada_w1_a" in t:  # LoHa: (w1a w1b) ⊙ (w2a w2b) · alpha / r
        r = t["hada_w1_b"].shape[0]
        delta = (t["hada_w1_a"] @ t["hada_w1_b"]) * (t["hada_w2_a"] @ t["hada_w2_b"]) * (t["alpha"] / r)
    elif "lokr_w1" in t or "lokr_w1_a" in t:  # LoKr: w1 ⊗ w2 · alpha / r (scale 1 with both sides full)
        w1 = t["lokr_w1"] if "lokr_w1" in t else t["lokr_w1_a"] @ t["lokr_w1_b"]
        w2 = t["lokr_w2"] if "lokr_w2" in t else t["lokr_w2_a"] @ t["lokr_w2_b"]
        ranks = [t[k].shape[0] for k in ("lokr_w1_b", "lokr_w2_b") if k in t]
        scale = t["alpha"] / ranks[0] if ranks else 1.0
        w2 = w2.reshape(w2.shape[0], -1)  # a conv's kernel is the fastest-varying part of w2's columns
        blocks = [[w1[i, j] * w2 for j in range(w1.shape[1])] for i in range(w1.shape[0])]
        delta = torch.cat([torch.cat(row, dim=1) for row in blocks], dim=0) * scale
    else:  # LoRA / LoCon: up · down · alpha / r
        r = t["lora_down.weight"].shape[0]
        delta = t["lora_up.weight"].reshape(out, r) @ t["lora_down.weight"].reshape(r, -1) * (t["alpha"] / r)
    merged = w + delta.reshape(w.shape)
    if "dora_scale" in t:  # DoRA: each output row rescaled to the learned magnitude m
        norms = merged.reshape(out, -1).norm(dim=1).reshape(out, *[1] * (w.dim() - 1))
        merged = merged * t["dora_scale"].reshape(out, *[1] * (w.dim() - 1)) / norms
    return merged


def _layer_by_kohya(network):
    for component, targets in network.targets.items():
        for t in targets:
            yield t.kohya, network.components[component].get_submodule(t.path)


@pytest.mark.parametrize("case", sorted(CASES))
def test_trained_weight_change_equals_the_formula(sd1, case):
    _, network, losses = trained_network(sd1, case)
    state = network.kohya_state_dict(torch.float32)
    names = {k.split(".", 1)[0] for k in state}
    assert names == {name for name, _ in _layer_by_kohya(network)}
    generator = torch.Generator().manual_seed(5)
    checked = convs = 0
    for name, layer in _layer_by_kohya(network):
        tensors = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(name + ".")}
        if case.startswith("lokr-full"):
            assert {"lokr_w1", "lokr_w2"} <= set(tensors) and not any(k.endswith(("_a", "_b")) for k in tensors)
        if case == "lokr-factor4-both" and "lokr_w1_a" in tensors:
            assert 4 in tensors["lokr_w1_a"].shape[:1] + tensors["lokr_w1_b"].shape[1:]
        want = _formula(tensors, layer.weight.detach())
        if isinstance(layer, torch.nn.Conv2d):
            x = torch.randn(1, layer.in_channels, 6, 6, generator=generator)
            expected = F.conv2d(x.double(), want, layer.bias.double(), layer.stride, layer.padding)
            convs += layer.kernel_size == (3, 3)
        else:
            x = torch.randn(3, layer.in_features, generator=generator)
            bias = None if layer.bias is None else layer.bias.double()
            expected = F.linear(x.double(), want, bias)
        with torch.no_grad():
            got = layer(x).double()
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5, msg=name)
        assert not torch.allclose(want, layer.weight.double()), f"{name} did not change"
        checked += 1
    assert checked > 20 and convs > 0
    assert losses[-1] < losses[0]  # three steps on one batch: the network learns


@pytest.mark.parametrize("case", sorted(CASES))
def test_files_load_in_the_lycoris_library_with_every_module_matched(sd1, case, tmp_path, monkeypatch):
    lycoris_kohya = pytest.importorskip("lycoris.kohya")
    # The loader first builds LyCORIS' default network over the model and then replaces its modules with the
    # file's; that default trips over the tiny UNet (a duplicate name), so it is given nothing to target.
    for name in ("UNET_TARGET_REPLACE_MODULE", "UNET_TARGET_REPLACE_NAME", "TEXT_ENCODER_TARGET_REPLACE_MODULE"):
        monkeypatch.setattr(lycoris_kohya.LycorisNetworkKohya, name, [])
    family, network, _ = trained_network(sd1, case, steps=2)
    path = save_lora_file(tmp_path / "x.safetensors", network.kohya_state_dict(torch.float32))
    from safetensors.torch import load_file

    weights = load_file(str(path))
    fresh = copy.deepcopy(sd1)
    unet, te = fresh.components.unet, fresh.components.text_encoders[0]
    if not hasattr(te, "text_model"):  # transformers 5 dropped CLIPTextModel's text_model level; files keep it
        holder = torch.nn.Module()
        holder.text_model = te
        te = holder
    theirs, _ = lycoris_kohya.create_network_from_weights(1.0, None, None, te, unet, weights_sd=weights)
    loaded = {m.lora_name for m in theirs.unet_loras + theirs.text_encoder_loras}
    in_file = {k.split(".", 1)[0] for k in weights}
    assert loaded == in_file  # zero unmatched modules, none skipped
    kinds = {type(m).__name__ for m in theirs.unet_loras}
    assert kinds == {"loha": {"LohaModule"}, "lokr": {"LokrModule"}, "dora": {"LoConModule"}}[CASES[case]["kind"]]
    for module in theirs.unet_loras + theirs.text_encoder_loras:
        module.apply_to()
    latents, noise, t = _inputs(family)
    with torch.no_grad():
        cond = family.encode_prompts(["kitbot, robot cat", "a red background"])
        ours = family.predict(latents + noise, t, cond)
        their_cond = fresh.encode_prompts(["kitbot, robot cat", "a red background"])
        for key, value in cond.items():
            torch.testing.assert_close(their_cond[key], value, rtol=1e-4, atol=1e-5, msg=key)
        lycoris_out = fresh.predict(latents + noise, t, their_cond)
        base = sd1.predict(latents + noise, t, sd1.encode_prompts(["kitbot, robot cat", "a red background"]))
    assert (ours - base).abs().max() > 1e-4
    torch.testing.assert_close(lycoris_out, ours, rtol=1e-4, atol=1e-5)


def test_an_sdxl_file_loads_in_the_lycoris_library_through_its_sgm_names(tiny_sdxl, monkeypatch):
    """SDXL files carry SGM names (as sd-scripts' SDXL UNet); LyCORIS' kohya loader names modules from the model
    it is given, here the diffusers UNet, so the names are mapped to diffusers paths first: every one maps and
    loads, and the output is ours."""
    lycoris_kohya = pytest.importorskip("lycoris.kohya")
    from lorakit.lora.keys import kohya_name, sgm_to_sdxl_unet
    from lorakit.lora.naming import dotted

    for name in ("UNET_TARGET_REPLACE_MODULE", "UNET_TARGET_REPLACE_NAME", "TEXT_ENCODER_TARGET_REPLACE_MODULE"):
        monkeypatch.setattr(lycoris_kohya.LycorisNetworkKohya, name, [])
    base = load_model(tiny_sdxl)
    family = copy.deepcopy(base)
    settings = NetworkSettings(kind="lokr", rank=2, alpha=1.0, conv_rank=2, conv_alpha=1.0, dora_wd=True, factor=4)
    network = build_network({"unet": family.components.unet}, family.lora_targets(True, False), settings)
    with torch.no_grad():
        for p in network.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    state = network.kohya_state_dict(torch.float32)
    assert any(k.startswith("lora_unet_input_blocks_") for k in state)
    paths = {t.kohya: t.path for t in network.targets["unet"]}
    config = dict(family.components.unet.config)
    renamed = {}
    for key, value in state.items():
        name, suffix = key.split(".", 1)
        diffusers_path = sgm_to_sdxl_unet(dotted(name.removeprefix("lora_unet_")), config)
        assert diffusers_path == paths[name]  # the SGM name in the file is the layer it was trained on
        renamed[f"{kohya_name('lora_unet', diffusers_path)}.{suffix}"] = value
    fresh = copy.deepcopy(base)
    theirs, _ = lycoris_kohya.create_network_from_weights(
        1.0, None, None, None, fresh.components.unet, weights_sd=renamed
    )
    assert {m.lora_name for m in theirs.unet_loras} == {k.split(".", 1)[0] for k in renamed}
    for module in theirs.unet_loras:
        module.apply_to()
    latents, noise, t = _inputs(family)
    with torch.no_grad():
        cond = family.encode_prompts(["kitbot, robot cat", "a red background"])
        ours = family.predict(latents + noise, t, cond)
        lycoris_out = fresh.predict(latents + noise, t, cond)
        plain = base.predict(latents + noise, t, cond)
    assert (ours - plain).abs().max() > 1e-4
    torch.testing.assert_close(lycoris_out, ours, rtol=1e-4, atol=1e-5)
