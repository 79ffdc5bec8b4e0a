"""Bake: the checkpoint changes by exactly weight × delta at the right (SGM/LDM, OpenCLIP) keys, nothing else."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from lorakit.errors import LorakitError
from lorakit.lora.bake import bake_loras
from lorakit.lora.keys import sdxl_unet_to_sgm
from lorakit.lora.modules import LoraFormatError, from_tensors, write_lora

INCLUDE = ("attn1", "attn2", "proj_in", "ff.net", "self_attn", "mlp", "resnets.0.conv1")


def _read(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def test_sd1_bake_adds_exactly_the_weighted_delta(tmp_path, tiny_sd1_pipe, random_lora, single_file_checkpoint):
    pipe = tiny_sd1_pipe
    checkpoint = single_file_checkpoint(pipe)
    checkpoint["first_stage_model.decoder.conv_in.weight"] = torch.randn(4, 4, 3, 3)
    checkpoint["step_counter"] = torch.tensor([7], dtype=torch.int64)
    ckpt = tmp_path / "base.safetensors"
    save_file(checkpoint, str(ckpt), metadata={"title": "base"})
    tensors = random_lora({"lora_unet": (pipe.unet, None), "lora_te": (pipe.text_encoder, None)}, include=INCLUDE)
    lora = tmp_path / "lora.safetensors"
    write_lora(lora, tensors, {})
    state = from_tensors(tensors)

    out = bake_loras(
        ckpt, [(lora, 0.8)], tmp_path / "baked.safetensors", dtype="fp32", unet_config=dict(pipe.unet.config)
    )
    baked = _read(out)
    assert set(baked) == set(checkpoint)
    config = dict(pipe.unet.config)
    expected = dict(checkpoint)
    for name, module in state.modules.items():
        body = name.split("_", 2)[2]
        if module.prefix == "lora_unet":
            path = next(p for p, _ in pipe.unet.named_modules() if p.replace(".", "_") == body)
            key = f"model.diffusion_model.{sdxl_unet_to_sgm(path, config)}.weight"
        else:
            path = next(p for p, _ in pipe.text_encoder.named_modules() if p.replace(".", "_") == body)
            key = f"cond_stage_model.transformer.{path}.weight"
        expected[key] = expected[key] + 0.8 * module.delta().reshape(expected[key].shape)
    changed = 0
    for key, value in expected.items():
        torch.testing.assert_close(baked[key], value, atol=1e-6, rtol=1e-6)
        changed += not torch.equal(baked[key], checkpoint[key])
    assert changed == len(state.modules)  # every LoRA module landed once, nothing else moved
    assert baked["step_counter"].dtype == torch.int64

    half = bake_loras(ckpt, [(lora, 1.0)], tmp_path / "half.safetensors", dtype="fp16", unet_config=config)
    assert _read(half)["first_stage_model.decoder.conv_in.weight"].dtype == torch.float16


def test_sdxl_bake_splits_qkv_into_openclip_in_proj(tmp_path, tiny_sdxl_pipe, random_lora, single_file_checkpoint):
    pipe = tiny_sdxl_pipe
    config = dict(pipe.unet.config)
    checkpoint = single_file_checkpoint(pipe)
    ckpt = tmp_path / "xl.safetensors"
    save_file(checkpoint, str(ckpt))
    sgm = lambda path: sdxl_unet_to_sgm(path, config).replace(".", "_")  # noqa: E731
    tensors = random_lora(
        {
            "lora_unet": (pipe.unet, sgm),
            "lora_te1": (pipe.text_encoder, None),
            "lora_te2": (pipe.text_encoder_2, None),
        },
        include=("attn2.to_k", "self_attn", "mlp.fc1"),
    )
    lora = tmp_path / "xl_lora.safetensors"
    write_lora(lora, tensors, {})
    state = from_tensors(tensors)
    baked = _read(bake_loras(ckpt, [(lora, 1.0)], tmp_path / "out.safetensors", dtype="fp32", unet_config=config))
    block = "conditioner.embedders.1.model.transformer.resblocks.1."
    rows = pipe.text_encoder_2.config.hidden_size
    for third, letter in enumerate("qkv"):
        delta = state.modules[f"lora_te2_text_model_encoder_layers_1_self_attn_{letter}_proj"].delta()
        got = baked[block + "attn.in_proj_weight"][third * rows : (third + 1) * rows]
        base = checkpoint[block + "attn.in_proj_weight"][third * rows : (third + 1) * rows]
        torch.testing.assert_close(got, base + delta, atol=1e-6, rtol=1e-6)
    fc1 = state.modules["lora_te2_text_model_encoder_layers_0_mlp_fc1"].delta()
    key = "conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_fc.weight"
    torch.testing.assert_close(baked[key], checkpoint[key] + fc1, atol=1e-6, rtol=1e-6)


def test_bake_refuses_loras_that_do_not_fit(tmp_path, tiny_sd1_pipe, single_file_checkpoint):
    ckpt = tmp_path / "base.safetensors"
    save_file(single_file_checkpoint(tiny_sd1_pipe), str(ckpt))
    lora = tmp_path / "odd.safetensors"
    write_lora(
        lora,
        {
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.zeros(2, 4),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.zeros(4, 2),
        },
        {},
    )
    with pytest.raises(LoraFormatError, match="have no weight in this sd1 checkpoint"):
        bake_loras(ckpt, [(lora, 1.0)], tmp_path / "x.safetensors", unet_config=dict(tiny_sd1_pipe.unet.config))
    with pytest.raises(LoraFormatError, match="Unknown precision"):
        bake_loras(ckpt, [(lora, 1.0)], tmp_path / "x.safetensors", dtype="fp8")
    (tmp_path / "m.ckpt").write_bytes(b"pickle")
    with pytest.raises(LorakitError, match=r"not a \.safetensors"):
        bake_loras(tmp_path / "m.ckpt", [(lora, 1.0)], tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_checkpoint_layout_matches_diffusers_own_single_file_converters(tiny_sdxl_pipe, single_file_checkpoint):
    """The layout bake writes into is the one diffusers reads single files with (an independent implementation)."""
    from diffusers.loaders.single_file_utils import convert_ldm_unet_checkpoint, convert_open_clip_checkpoint

    pipe = tiny_sdxl_pipe
    checkpoint = single_file_checkpoint(pipe)
    unet = convert_ldm_unet_checkpoint(checkpoint, dict(pipe.unet.config))
    expected = pipe.unet.state_dict()
    assert set(unet) == set(expected)
    assert all(torch.equal(unet[k], expected[k]) for k in expected)
    te2 = convert_open_clip_checkpoint(pipe.text_encoder_2, checkpoint, prefix="conditioner.embedders.1.model.")
    expected = pipe.text_encoder_2.state_dict()
    for key in ("text_model.encoder.layers.1.self_attn.k_proj.weight", "text_model.encoder.layers.0.mlp.fc2.weight"):
        assert torch.equal(te2[key], expected[key])
