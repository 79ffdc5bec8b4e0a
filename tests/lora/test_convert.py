"""Convert: kohya ⇄ diffusers ⇄ peft ⇄ ComfyUI round trips keep every module's change; diffusers loads ours."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from lorakit.lora.convert import convert_lora, detect_layout, from_kohya, read_any, to_kohya
from lorakit.lora.keys import sdxl_unet_to_sgm
from lorakit.lora.modules import LoraFormatError, from_tensors, read_safetensors, write_lora

ATTENTION = ("attn1", "attn2", "proj_in", "proj_out", "ff.net", "self_attn", "mlp")


def _sd1_lora(pipe, random_lora, **kw):
    return random_lora({"lora_unet": (pipe.unet, None), "lora_te": (pipe.text_encoder, None)}, include=ATTENTION, **kw)


def _deltas(state):
    return {name: m.delta() for name, m in state.modules.items()}


def _assert_same_deltas(a, b):
    assert set(a.modules) == set(b.modules)
    for name, module in a.modules.items():
        torch.testing.assert_close(b.modules[name].delta(), module.delta(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("layout", ["diffusers", "peft", "comfyui", "kohya"])
def test_sd1_round_trip_keeps_deltas_and_metadata(tmp_path, tiny_sd1_pipe, random_lora, layout):
    # Varying rank and alpha per module, so one global alpha could not pass.
    tensors = _sd1_lora(tiny_sd1_pipe, random_lora, rank=lambda p: 2 + len(p) % 3)
    for i, key in enumerate(k for k in tensors if k.endswith(".alpha")):
        tensors[key] = torch.tensor(1.0 + i % 4)
    source = tmp_path / "kohya.safetensors"
    write_lora(source, tensors, {"ss_output_name": "mine", "ss_base_model_version": "sd_v1"})
    unet_config = dict(tiny_sd1_pipe.unet.config)
    converted = tmp_path / ("peft" if layout == "peft" else f"{layout}.safetensors")
    convert_lora(source, converted, layout, unet_config=unet_config)
    back = read_any(converted, unet_config=unet_config)
    _assert_same_deltas(from_tensors(tensors), back)
    assert back.metadata["ss_output_name"] == "mine"


def test_sdxl_names_follow_kohya_sgm_convention(tmp_path, tiny_sdxl_pipe, random_lora):
    pipe = tiny_sdxl_pipe
    config = dict(pipe.unet.config)
    diffusers_named = random_lora(
        {
            "lora_unet": (pipe.unet, None),
            "lora_te1": (pipe.text_encoder, None),
            "lora_te2": (pipe.text_encoder_2, None),
        },
        include=ATTENTION,
    )
    state = from_tensors(diffusers_named)
    # kohya layout for SDXL means SGM UNet names (what A1111/ComfyUI/Forge load).
    files, _ = from_kohya(state, "kohya", arch="sdxl", unet_config=config)
    sgm = from_tensors(files[""])
    path = "down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_k"
    expected = "lora_unet_" + sdxl_unet_to_sgm(path, config).replace(".", "_")
    assert expected in sgm.modules
    torch.testing.assert_close(
        sgm.modules[expected].delta(), state.modules["lora_unet_" + path.replace(".", "_")].delta()
    )
    # ... and diffusers layout back to diffusers names, with text_encoder_2 for te2.
    files, configs = from_kohya(sgm, "diffusers", arch="sdxl", unet_config=config)
    assert f"unet.{path}.lora_A.weight" in files[""]
    assert any(k.startswith("text_encoder_2.text_model.encoder.layers.0") for k in files[""])
    back = to_kohya(files[""], adapter_configs=configs, unet_config=config)
    _assert_same_deltas(sgm, back)
    # ComfyUI: diffusion_model.<SGM> and text_encoders.clip_g...
    files, _ = from_kohya(sgm, "comfyui", arch="sdxl", unet_config=config)
    assert f"diffusion_model.{sdxl_unet_to_sgm(path, config)}.lora_up.weight" in files[""]
    assert any(k.startswith("text_encoders.clip_g.transformer.text_model.") for k in files[""])
    _assert_same_deltas(sgm, to_kohya(files[""], unet_config=config))


def _unet_output(unet, seed=0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, 4, 8, 8, generator=g)
    hidden = torch.randn(1, 5, unet.config.cross_attention_dim, generator=g)
    with torch.no_grad():
        return unet(sample, 10, encoder_hidden_states=hidden).sample


def _patched_unet(unet, state):
    patched = copy.deepcopy(unet)
    modules = dict(patched.named_modules())
    with torch.no_grad():
        for name, module in state.modules.items():
            if module.prefix != "lora_unet":
                continue
            path = next(p for p in modules if p.replace(".", "_") == name[len("lora_unet_") :])
            modules[path].weight += module.delta().reshape(modules[path].weight.shape)
    return patched


def test_converted_lora_loads_in_diffusers_with_the_same_effect(tmp_path, tiny_sd1_pipe, random_lora):
    pipe = copy.deepcopy(tiny_sd1_pipe)
    tensors = random_lora({"lora_unet": (pipe.unet, None)}, include=ATTENTION, rank=3, alpha=1.5)
    state = from_tensors(tensors)
    source = tmp_path / "kohya.safetensors"
    write_lora(source, tensors, {})
    expected = _unet_output(_patched_unet(pipe.unet, state))
    before = _unet_output(pipe.unet)
    assert not torch.allclose(expected, before, atol=1e-4)  # the LoRA really changes the output

    converted = tmp_path / "pytorch_lora_weights.safetensors"
    convert_lora(source, converted, "diffusers", unet_config=dict(pipe.unet.config))
    assert detect_layout(read_safetensors(converted)[0]) == "diffusers"
    pipe.load_lora_weights(str(tmp_path), weight_name=converted.name, adapter_name="ours")
    torch.testing.assert_close(_unet_output(pipe.unet), expected, atol=1e-4, rtol=1e-4)
    pipe.unload_lora_weights()

    # The peft folder loads with peft itself.
    from peft import PeftModel

    folder = tmp_path / "peft"
    convert_lora(source, folder, "peft", unet_config=dict(pipe.unet.config))
    assert json.loads((folder / "unet" / "adapter_config.json").read_text())["lora_alpha"] == 1.5
    peft_unet = PeftModel.from_pretrained(copy.deepcopy(tiny_sd1_pipe.unet), str(folder / "unet"))
    torch.testing.assert_close(_unet_output(peft_unet.base_model.model), expected, atol=1e-4, rtol=1e-4)


def test_unknown_layouts_name_the_keys():
    with pytest.raises(LoraFormatError, match=r"model\.diffusion_model\.x\.weight"):
        detect_layout(["model.diffusion_model.x.weight", "lora_unet_a.lora_down.weight"])
    with pytest.raises(LoraFormatError, match=r"unet\.a\.weird"):
        to_kohya({"unet.a.weird": torch.zeros(1), "unet.a.lora_A.weight": torch.zeros(1, 2)})
    with pytest.raises(LoraFormatError, match=r"lora_unet_a\.hada_x"):
        to_kohya({"lora_unet_a.hada_x": torch.zeros(1)})


def test_sdxl_kohya_lora_in_sgm_names_converts_and_loads_in_diffusers(tmp_path, tiny_sdxl_pipe, random_lora):
    from lorakit.lora.keys import sdxl_unet_to_sgm

    pipe = copy.deepcopy(tiny_sdxl_pipe)
    config = dict(pipe.unet.config)
    sgm = lambda path: sdxl_unet_to_sgm(path, config).replace(".", "_")  # noqa: E731
    tensors = random_lora({"lora_unet": (pipe.unet, sgm)}, include=ATTENTION, rank=2, alpha=4.0)
    source = tmp_path / "xl.safetensors"
    write_lora(source, tensors, {"ss_base_model_version": "sdxl_base_v1-0"})
    paths = [p for p, m in pipe.unet.named_modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    lookup = {f"lora_unet_{sgm(p)}": p for p in paths if any(word in p for word in ATTENTION)}
    diffusers_named = {
        f"lora_unet_{lookup[name].replace('.', '_')}.{suffix}": value
        for name, module in from_tensors(tensors).modules.items()
        for suffix, value in module.tensors.items()
    }
    expected = _xl_output(_patched_unet(pipe.unet, from_tensors(diffusers_named)))
    assert float((expected - _xl_output(pipe.unet)).abs().max()) > 1e-2  # the LoRA matters at this tolerance
    converted = tmp_path / "xl_diffusers.safetensors"
    convert_lora(source, converted, "diffusers", unet_config=config)
    pipe.load_lora_weights(str(tmp_path), weight_name=converted.name)
    # x·W + (x·A)·B vs x·(W + B·A): equal up to float32 rounding through the UNet's layers.
    torch.testing.assert_close(_xl_output(pipe.unet), expected, atol=1e-3, rtol=1e-3)


def _xl_output(unet):
    g = torch.Generator().manual_seed(0)
    sample = torch.randn(1, 4, 8, 8, generator=g)
    hidden = torch.randn(1, 5, unet.config.cross_attention_dim, generator=g)
    added = {"text_embeds": torch.randn(1, 32, generator=g), "time_ids": torch.randn(1, 6, generator=g)}
    with torch.no_grad():
        return unet(sample, 10, encoder_hidden_states=hidden, added_cond_kwargs=added).sample
