"""``lorakit lora convert`` on a Flux LoRA: sd-scripts layout → diffusers → peft → back, each module's weight
change kept; the diffusers file equals what diffusers' own Flux converter makes of the sd-scripts file."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from lorakit.lora.convert import convert_lora
from lorakit.lora.flux_keys import to_sd_scripts
from lorakit.lora.kohya import load_lora_file, save_lora_file

WIDTH, RANK = 8, 2


def _network_tensors() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = {}
    layers = {
        "lora_unet_transformer_blocks_0_attn_to_q": (WIDTH, WIDTH),
        "lora_unet_transformer_blocks_0_attn_to_k": (WIDTH, WIDTH),
        "lora_unet_transformer_blocks_0_attn_to_v": (WIDTH, WIDTH),
        "lora_unet_transformer_blocks_0_ff_net_2": (4 * WIDTH, WIDTH),
        "lora_unet_single_transformer_blocks_0_attn_to_q": (WIDTH, WIDTH),
        "lora_unet_single_transformer_blocks_0_attn_to_k": (WIDTH, WIDTH),
        "lora_unet_single_transformer_blocks_0_attn_to_v": (WIDTH, WIDTH),
        "lora_unet_single_transformer_blocks_0_proj_mlp": (WIDTH, 4 * WIDTH),
        "lora_unet_single_transformer_blocks_0_proj_out": (5 * WIDTH, WIDTH),
        "lora_te1_text_model_encoder_layers_0_self_attn_q_proj": (WIDTH, WIDTH),
    }
    for name, (fan_in, fan_out) in layers.items():
        out[f"{name}.lora_down.weight"] = torch.randn(RANK, fan_in, generator=g)
        out[f"{name}.lora_up.weight"] = torch.randn(fan_out, RANK, generator=g)
        out[f"{name}.alpha"] = torch.tensor(1.0)  # alpha 1, rank 2: a scale of 0.5 to carry through
    return out


def _deltas(kohya: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key in kohya:
        if key.endswith(".lora_down.weight"):
            name = key.split(".")[0]
            down, up = kohya[key], kohya[f"{name}.lora_up.weight"]
            alpha = float(kohya.get(f"{name}.alpha", torch.tensor(float(down.shape[0]))))
            out[name] = (up.float() @ down.float()) * alpha / down.shape[0]
    return out


@pytest.fixture
def sd_scripts_file(tmp_path):
    path = tmp_path / "flux_lora.safetensors"
    save_lora_file(path, to_sd_scripts(_network_tensors()), {"ss_network_module": "networks.lora_flux"})
    return path


def test_convert_to_diffusers_matches_diffusers_converter(tmp_path, sd_scripts_file):
    from diffusers.loaders.lora_conversion_utils import _convert_kohya_flux_lora_to_diffusers

    out = convert_lora(sd_scripts_file, tmp_path / "diffusers.safetensors", "diffusers")
    ours = load_file(str(out))
    # (diffusers' converter assumes the full 3072 width for single blocks: fed the double blocks and CLIP only;
    # tests/flux/test_flux_keys.py runs it on the full-size layout)
    tensors = load_lora_file(sd_scripts_file).tensors
    theirs = _convert_kohya_flux_lora_to_diffusers({k: v for k, v in tensors.items() if "single_blocks" not in k})
    assert "transformer.transformer_blocks.0.attn.to_q.lora_A.weight" in ours
    assert "transformer.single_transformer_blocks.0.proj_mlp.lora_B.weight" in ours
    assert "text_encoder.text_model.encoder.layers.0.self_attn.q_proj.lora_A.weight" in ours
    for key in [k for k in ours if k.startswith("transformer.transformer_blocks.")]:
        mod = key.rsplit(".lora_", 1)[0]
        mine = ours[f"{mod}.lora_B.weight"] @ ours[f"{mod}.lora_A.weight"]
        want = theirs[f"{mod}.lora_B.weight"].float() @ theirs[f"{mod}.lora_A.weight"].float()
        torch.testing.assert_close(mine, want, msg=key)


def test_round_trip_through_peft_keeps_every_change(tmp_path, sd_scripts_file):
    original = _deltas(load_lora_file(sd_scripts_file).tensors)
    diffusers = convert_lora(sd_scripts_file, tmp_path / "d.safetensors", "diffusers")
    peft = convert_lora(diffusers, tmp_path / "peft", "peft")
    assert (peft / "transformer" / "adapter_config.json").exists()
    assert (peft / "text_encoder" / "adapter_model.safetensors").exists()
    back = convert_lora(peft, tmp_path / "back.safetensors", "kohya")
    lora = load_lora_file(back)
    assert set(lora.modules) == set(load_lora_file(sd_scripts_file).modules)
    got = _deltas(lora.tensors)
    for name, delta in original.items():
        torch.testing.assert_close(got[name], delta, rtol=1e-5, atol=1e-6, msg=name)
    assert lora.metadata.get("ss_network_module") == "networks.lora_flux"


def test_cli_converts_a_flux_lora(tmp_path, sd_scripts_file):
    from typer.testing import CliRunner

    from lorakit.cli.main import app

    out = tmp_path / "cli.safetensors"
    result = CliRunner().invoke(app, ["lora", "convert", str(sd_scripts_file), "--to", "diffusers", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert any(k.startswith("transformer.single_transformer_blocks.0.") for k in load_file(str(out)))
