"""The LoRA tools on LyCORIS files: inspect shows them, convert (kohya <-> comfyui) and resize (DoRA) keep the
weight change, merge and base_weights apply each type's full change, and what the math does not allow
(LoHa/LoKr resize, LyCORIS in the peft/diffusers layouts, a base of another shape, a LoKr factor that does
not divide a layer) is refused with a fix."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from lorakit.errors import ConfigError
from lorakit.lora.base_weights import merge_base_weights
from lorakit.lora.convert import convert_lora
from lorakit.lora.inspect import inspect_lora
from lorakit.lora.kohya import save_lora_file
from lorakit.lora.merge import merge_lora_files
from lorakit.lora.modules import LoraFormatError, read_lora
from lorakit.lora.network import NetworkSettings, build_network
from lorakit.lora.resize import resize_lora

from .test_lycoris import _formula, _layer_by_kohya, trained_network


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sd1(tiny_sd1):
    from lorakit.models.loading import load_model

    return load_model(tiny_sd1)


@pytest.fixture(scope="module")
def files(sd1, tmp_path_factory):
    """One trained file per case, with the base weight of every module (to compute DoRA's change)."""
    folder = tmp_path_factory.mktemp("lyco")
    out = {}
    for case in ("loha", "lokr", "dora", "lora"):
        if case == "lora":
            family = copy.deepcopy(sd1)
            settings = NetworkSettings(kind="locon", rank=4, alpha=2.0, conv_rank=4, conv_alpha=1.0)
            network = build_network(family.trainable_parts(), family.lora_targets(True, False), settings)
            with torch.no_grad():
                for p in network.parameters():
                    p.copy_(torch.randn_like(p) * 0.05)
        else:
            family, network, _ = trained_network(sd1, case, steps=2)
        meta = {"ss_network_module": "lycoris.kohya", "ss_base_model_version": "sd_v1"}
        path = save_lora_file(folder / f"{case}.safetensors", network.kohya_state_dict(torch.float32), meta)
        bases = {name: layer.weight.detach().clone() for name, layer in _layer_by_kohya(network)}
        out[case] = (path, bases)
    return out


def _changes(path, bases) -> dict[str, torch.Tensor]:
    """Each module's weight change against its base weight, by the test's own formulas."""
    state = read_lora(path)
    return {name: _formula(m.tensors, bases[name]).float() - bases[name].float() for name, m in state.modules.items()}


def test_inspect_shows_each_type(files):
    for case, network in (("loha", "loha"), ("lokr", "lokr"), ("dora", "lora+dora")):
        report = inspect_lora(files[case][0])
        assert {m.network for m in report.modules} == {network}
        assert any(m.layer == "conv 3x3" for m in report.modules)  # LoHa/LoKr keep a conv's kernel flattened
        assert all(math.isfinite(m.strength) and m.strength > 0 for m in report.modules)
        assert report.network == {"loha": "loha", "lokr": "lokr", "dora": "dora"}[case]


@pytest.mark.parametrize("case", ["loha", "lokr", "dora"])
def test_convert_to_comfyui_and_back_keeps_every_tensor(files, tmp_path, case):
    path, bases = files[case]
    comfy = convert_lora(path, tmp_path / "comfy.safetensors", "comfyui", arch="sd1")
    from safetensors.torch import load_file

    keys = load_file(str(comfy))
    assert all(k.startswith(("diffusion_model.", "text_encoders.")) for k in keys)
    suffix = {"loha": ".hada_w1_a", "lokr": ".lokr_w1", "dora": ".dora_scale"}[case]
    assert any(k.endswith(suffix) for k in keys)
    back = convert_lora(comfy, tmp_path / "back.safetensors", "kohya", arch="sd1")
    want, got = _changes(path, bases), _changes(back, bases)
    assert want.keys() == got.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-5, atol=1e-6, msg=name)


@pytest.mark.parametrize("case", ["loha", "lokr", "dora"])
def test_peft_and_diffusers_layouts_refuse_lycoris_modules(files, tmp_path, case):
    with pytest.raises(LoraFormatError, match="plain LoRA/LoCon modules only") as info:
        convert_lora(files[case][0], tmp_path / "x.safetensors", "diffusers", arch="sd1")
    assert "kohya" in info.value.fix


def test_dora_resize_keeps_the_change_and_the_magnitudes(files, tmp_path):
    path, bases = files["dora"]
    same = tmp_path / "same.safetensors"
    resize_lora(path, same, rank=4)
    want, got = _changes(path, bases), _changes(same, bases)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=1e-4, atol=1e-5, msg=name)
    smaller = tmp_path / "small.safetensors"
    resize_lora(path, smaller, rank=2)
    state = read_lora(smaller)
    assert {m.rank for m in state.modules.values()} == {2}
    assert all("dora_scale" in m.tensors for m in state.modules.values())
    original = read_lora(path)
    for name, m in state.modules.items():
        torch.testing.assert_close(m.tensors["dora_scale"], original.modules[name].tensors["dora_scale"])


@pytest.mark.parametrize("case", ["loha", "lokr"])
def test_resize_refuses_loha_and_lokr(files, tmp_path, case):
    with pytest.raises(LoraFormatError, match="no rank that resize could cut") as info:
        resize_lora(files[case][0], tmp_path / "x.safetensors", rank=2)
    assert "LoRA, LoCon and DoRA" in info.value.fix


def test_merge_adds_the_full_changes_of_loha_lokr_and_lora(files, tmp_path):
    out, _ = merge_lora_files(
        [(files["loha"][0], 1.0), (files["lokr"][0], 0.5), (files["lora"][0], 1.0)],
        tmp_path / "merged.safetensors",
        dtype=torch.float32,
    )
    merged = read_lora(out)
    parts = [(_changes(files[c][0], files[c][1]), w) for c, w in (("loha", 1.0), ("lokr", 0.5), ("lora", 1.0))]
    for name, module in merged.modules.items():
        want = sum(w * changes[name] for changes, w in parts if name in changes)
        got = module.delta().reshape(want.shape)
        torch.testing.assert_close(got, want, rtol=1e-3, atol=1e-5, msg=name)


def test_merge_refuses_dora_and_points_to_bake(files, tmp_path):
    with pytest.raises(LoraFormatError, match="DoRA module") as info:
        merge_lora_files([(files["dora"][0], 1.0), (files["lora"][0], 1.0)], tmp_path / "m.safetensors")
    assert "bake" in info.value.fix


@pytest.mark.parametrize("case", ["loha", "lokr", "dora"])
def test_base_weights_merge_each_types_full_change(sd1, files, case):
    path, bases = files[case]
    family = copy.deepcopy(sd1)
    changed = merge_base_weights(family.trainable_parts(), family.lora_targets(True, True), [path], [0.7])
    changes = _changes(path, bases)
    assert changed == len(changes)
    layers = dict(_layer_by_kohya_of(family))
    for name, change in changes.items():
        if case == "dora":  # DoRA's strength scales the rescale, not the change: W·(0.7·(m/‖W'‖ − 1) + 1)
            merged = bases[name].float() + _dora_direction(path, name, bases[name])
            out = merged.shape[0]
            norms = merged.reshape(out, -1).norm(dim=1).reshape(out, *[1] * (merged.dim() - 1))
            magnitude = read_lora(path).modules[name].tensors["dora_scale"].reshape(norms.shape)
            want = merged * (0.7 * (magnitude / norms - 1) + 1)
        else:
            want = bases[name].float() + 0.7 * change
        torch.testing.assert_close(layers[name].weight.float(), want, rtol=1e-4, atol=1e-5, msg=name)


def _dora_direction(path, name, base) -> torch.Tensor:
    t = read_lora(path).modules[name].tensors
    r = t["lora_down.weight"].shape[0]
    up, down = t["lora_up.weight"].reshape(base.shape[0], r), t["lora_down.weight"].reshape(r, -1)
    return (up @ down * (float(t["alpha"]) / r)).reshape(base.shape)


def _layer_by_kohya_of(family):
    from lorakit.lora.base_weights import layers_by_kohya_name

    return layers_by_kohya_name(family.trainable_parts(), family.lora_targets(True, True)).items()


@pytest.mark.parametrize("case", ["loha", "lokr", "dora"])
def test_a_base_of_another_shape_is_refused(files, case):
    module = next(iter(read_lora(files[case][0]).modules.values()))
    with pytest.raises(LoraFormatError, match=f"{module.name} .*trained for another model") as info:
        module.weight_change(torch.zeros(7, 3))
    assert "base model family" in info.value.fix


def test_a_lokr_factor_that_does_not_divide_a_layer_is_refused(sd1):
    family = copy.deepcopy(sd1)
    settings = NetworkSettings(kind="lokr", rank=4, alpha=2.0, factor=5)
    with pytest.raises(ConfigError, match=r"factor 5 does not divide the \w+ size \d+ of layer lora_unet_") as info:
        build_network(family.trainable_parts(), family.lora_targets(True, False), settings)
    assert info.value.field == "network.factor"
    factors = [int(f) for f in info.value.fix.rsplit("or to ", 1)[1].rstrip(".").split(", ")]
    size = int(info.value.problem.split(" size ")[1].split()[0])
    assert factors and all(size % f == 0 for f in factors)


@pytest.mark.parametrize("case, strength", [("loha", 0.8), ("dora", 0.8)])
def test_bake_writes_each_types_new_weight(files, tmp_path, tiny_sd1_pipe, single_file_checkpoint, case, strength):
    from safetensors import safe_open
    from safetensors.torch import save_file

    from lorakit.lora.bake import bake_loras
    from lorakit.lora.keys import sdxl_unet_to_sgm

    pipe = tiny_sd1_pipe
    checkpoint = single_file_checkpoint(pipe)
    ckpt = tmp_path / "base.safetensors"
    save_file(checkpoint, str(ckpt))
    path, bases = _unet_only(files[case][0], tmp_path), files[case][1]
    config = dict(pipe.unet.config)
    out = bake_loras(ckpt, [(path, strength)], tmp_path / "baked.safetensors", dtype="fp32", unet_config=config)
    with safe_open(str(out), framework="pt") as f:
        baked = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    state = read_lora(path)
    for name, module in state.modules.items():
        body = name.split("_", 2)[2]
        layer_path = next(p for p, _ in pipe.unet.named_modules() if p.replace(".", "_") == body)
        key = f"model.diffusion_model.{sdxl_unet_to_sgm(layer_path, config)}.weight"
        base = checkpoint[key].float()
        merged = _formula(module.tensors, bases[name]).float().reshape(base.shape)
        if case == "dora":  # W·(s·(m/‖W'‖ − 1) + 1) with W' = W + ΔW: strength scales the rescale
            direction = base + _dora_direction(path, name, bases[name]).reshape(base.shape)
            out_dim = base.shape[0]
            norms = direction.reshape(out_dim, -1).norm(dim=1).reshape(out_dim, *[1] * (base.dim() - 1))
            m = module.tensors["dora_scale"].reshape(norms.shape)
            want = direction * (strength * (m / norms - 1) + 1)
        else:
            want = base + strength * (merged - base)
        torch.testing.assert_close(baked[key], want, rtol=1e-4, atol=1e-5, msg=name)


def _unet_only(path, folder):
    """The file's UNet modules (the tiny test checkpoint's CLIP keys lack transformers' text_model level)."""
    state = read_lora(path)
    tensors = {k: v for k, v in state.tensors().items() if k.startswith("lora_unet_")}
    return save_lora_file(folder / f"unet-{path.name}", tensors, state.metadata)


def test_bake_into_a_base_of_another_shape_names_the_module(files, tmp_path, tiny_sd1_pipe, single_file_checkpoint):
    from safetensors.torch import save_file

    from lorakit.lora.bake import bake_loras

    checkpoint = single_file_checkpoint(tiny_sd1_pipe)
    key = next(k for k in checkpoint if k.endswith("attn1.to_q.weight"))
    checkpoint[key] = torch.zeros(checkpoint[key].shape[0] * 2, checkpoint[key].shape[1])  # a wider model
    ckpt = tmp_path / "other.safetensors"
    save_file(checkpoint, str(ckpt))
    loha = _unet_only(files["loha"][0], tmp_path)
    with pytest.raises(LoraFormatError, match=r"\(loha\) changes a weight of .*checkpoint key") as info:
        bake_loras(ckpt, [(loha, 1.0)], tmp_path / "x.safetensors", unet_config=dict(tiny_sd1_pipe.unet.config))
    assert "base model family it was trained for" in info.value.fix


def test_continuing_a_loha_from_a_plain_lora_file_says_what_differs(sd1, files):
    from lorakit.lora.kohya import load_lora_file

    family = copy.deepcopy(sd1)
    settings = NetworkSettings(kind="loha", rank=4, alpha=2.0, conv_rank=4, conv_alpha=1.0)
    network = build_network(family.trainable_parts(), family.lora_targets(True, False), settings)
    with pytest.raises(ConfigError, match=r"no hada_w1_a for lora_unet_\w+ \(found alpha, lora_down.weight") as info:
        network.load_kohya_state_dict(load_lora_file(files["lora"][0]).tensors)
    assert "network type" in info.value.fix
    # The same network continues from its own file: every module loads and the change is the file's.
    _, trained, _ = trained_network(sd1, "loha", steps=1)
    tensors = {k: v for k, v in trained.kohya_state_dict(torch.float32).items() if k.startswith("lora_unet_")}
    assert network.load_kohya_state_dict(tensors) == len(network.targets["unet"])
    again = network.kohya_state_dict(torch.float32)
    for key, value in tensors.items():
        torch.testing.assert_close(again[key], value, msg=key)
