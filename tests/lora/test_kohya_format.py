"""The kohya file format: a trained (non-identity) adapter saved as kohya safetensors, read back, and
applied by diffusers' own loader gives the same UNet output as our network; SDXL files use SGM names."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.keys import is_sgm_layout
from lorakit.lora.kohya import load_lora_file, save_lora_file
from lorakit.lora.network import NetworkSettings, build_network
from lorakit.models.hashes import sshs_hashes_of_file
from lorakit.models.loading import load_model


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny layers gain nothing from threads; on a shared CPU extra threads only wait for each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _non_identity(network, seed=1):
    """Give every adapter random up/down weights so the LoRA really changes the model."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in network.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.05)


def _unet_inputs(family, seed=0):
    generator = torch.Generator().manual_seed(seed)
    latents = torch.randn(1, 4, 8, 8, generator=generator)
    cond = family.encode_prompts(["kitbot, robot cat"])
    return latents, torch.tensor([500]), cond


@pytest.mark.parametrize(
    "family_name, kind",
    [("sd1", "lora"), ("sd1", "locon"), ("sd2", "lora"), ("sdxl", "locon")],
)
def test_saved_file_matches_diffusers_loading(tmp_path, tiny_model, family_name, kind):
    torch.manual_seed(0)
    folder = tiny_model(family_name)
    family = load_model(folder)
    settings = NetworkSettings(kind=kind, rank=4, alpha=2.0, conv_rank=4, conv_alpha=1.0)
    network = build_network({"unet": family.components.unet}, family.lora_targets(True, False), settings)
    _non_identity(network)
    latents, t, cond = _unet_inputs(family)
    with torch.no_grad():
        ours = family.predict(latents, t, cond)

    path = save_lora_file(tmp_path / "x.safetensors", network.kohya_state_dict(), {"ss_network_dim": 4})
    lora = load_lora_file(path)
    assert lora.metadata["ss_network_dim"] == "4"
    assert (lora.metadata["sshs_model_hash"], lora.metadata["sshs_legacy_hash"]) == sshs_hashes_of_file(path)
    assert is_sgm_layout(lora.modules) == (family_name == "sdxl")
    convs = [m for m in lora.modules if lora.tensors[f"{m}.lora_down.weight"].ndim == 4]
    three_by_three = [m for m in convs if lora.tensors[f"{m}.lora_down.weight"].shape[-1] == 3]
    assert bool(three_by_three) == (kind == "locon")
    for m in three_by_three:
        assert lora.alpha(m) == 1.0 and lora.tensors[f"{m}.lora_up.weight"].shape[-2:] == (1, 1)

    import diffusers

    pipe_cls = getattr(diffusers, family.pipeline_class)
    extra = {} if family_name == "sdxl" else {"safety_checker": None, "requires_safety_checker": False}
    pipe = pipe_cls.from_pretrained(folder, **extra)
    fresh = load_model(folder)
    with torch.no_grad():
        base = fresh.predict(latents, t, cond)
    pipe.load_lora_weights(str(path))
    fresh.components.unet = pipe.unet
    with torch.no_grad():
        theirs = fresh.predict(latents, t, cond)
    assert (ours - base).abs().max() > 1e-4  # the adapter does something
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-5)


def test_diffusers_layout_loads_in_diffusers_with_the_same_effect(tmp_path, tiny_sd1):
    from diffusers import StableDiffusionPipeline

    from lorakit.lora.convert import convert_lora

    family = load_model(tiny_sd1)
    settings = NetworkSettings(rank=4, alpha=1.0)  # alpha != rank: the scale must be carried
    network = build_network({"unet": family.components.unet}, family.lora_targets(), settings)
    _non_identity(network, seed=5)
    latents, t, cond = _unet_inputs(family)
    with torch.no_grad():
        ours = family.predict(latents, t, cond)
    kohya_file = save_lora_file(tmp_path / "ours.safetensors", network.kohya_state_dict(torch.float32))
    out = convert_lora(kohya_file, tmp_path / "diffusers" / "lora.safetensors", "diffusers")

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd1, safety_checker=None, requires_safety_checker=False)
    pipe.load_lora_weights(str(out.parent), weight_name=out.name)
    fresh = load_model(tiny_sd1)
    fresh.components.unet = pipe.unet
    with torch.no_grad():
        theirs = fresh.predict(latents, t, cond)
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-5)


def test_round_trip_into_a_fresh_network(tmp_path, tiny_sd1):
    family = load_model(tiny_sd1)
    settings = NetworkSettings(rank=4, alpha=1.0, train_text_encoder=True)
    network = build_network(family.trainable_parts(), family.lora_targets(True, True), settings)
    _non_identity(network, seed=3)
    path = save_lora_file(tmp_path / "a.safetensors", network.kohya_state_dict(torch.float16))
    assert {v.dtype for v in load_lora_file(path).tensors.values()} == {torch.float16}

    other = load_model(tiny_sd1)
    fresh = build_network(other.trainable_parts(), other.lora_targets(True, True), settings)
    assert fresh.load_kohya_state_dict(load_lora_file(path).tensors) == sum(len(t) for t in network.targets.values())
    want = network.kohya_state_dict(torch.float16)
    for key, value in fresh.kohya_state_dict(torch.float16).items():
        torch.testing.assert_close(value, want[key])


def test_starting_weights_with_another_alpha_keep_the_same_delta(tmp_path, tiny_sd1):
    family = load_model(tiny_sd1)
    first = build_network({"unet": family.components.unet}, family.lora_targets(), NetworkSettings(rank=4, alpha=4))
    _non_identity(first)
    latents, t, cond = _unet_inputs(family)
    with torch.no_grad():
        want = family.predict(latents, t, cond)
    tensors = first.kohya_state_dict()

    other = load_model(tiny_sd1)
    second = build_network({"unet": other.components.unet}, other.lora_targets(), NetworkSettings(rank=4, alpha=1))
    second.load_kohya_state_dict(tensors)
    with torch.no_grad():
        got = other.predict(latents, t, cond)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_refuses_pickle_and_missing_files(tmp_path):
    from lorakit.errors import ModelError

    (tmp_path / "old.pt").write_bytes(b"\x80\x04not really")
    with pytest.raises(ModelError, match="pickle"):
        load_lora_file(tmp_path / "old.pt")
    with pytest.raises(ModelError, match="does not exist"):
        load_lora_file(tmp_path / "missing.safetensors")
