"""`lorakit lora ...`: the commands run end to end on real files and print what they did."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.errors import LorakitError
from lorakit.lora.modules import read_lora, write_lora

runner = CliRunner()


def _lora(path, seed=0, rank=8):
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in ("lora_unet_down_blocks_0_attentions_0_proj_in", "lora_te_text_model_encoder_layers_0_mlp_fc1"):
        tensors[f"{name}.lora_down.weight"] = torch.randn(rank, 32, generator=g)
        tensors[f"{name}.lora_up.weight"] = torch.randn(48, rank, generator=g)
        tensors[f"{name}.alpha"] = torch.tensor(rank / 2)
    write_lora(path, tensors, {"ss_base_model_version": "sd_v1", "ss_network_dim": str(rank)})
    return path


def test_inspect_resize_merge_convert_from_the_command_line(tmp_path):
    a, b = _lora(tmp_path / "a.safetensors"), _lora(tmp_path / "b.safetensors", seed=1, rank=4)
    result = runner.invoke(app, ["lora", "inspect", str(a), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["family"] == "sd1" and data["ranks"] == {"8": 2} and data["text_encoder_trained"]
    result = runner.invoke(app, ["lora", "inspect", str(a), "--modules"])
    assert result.exit_code == 0 and "SD 1.x" in result.output and "modules" in result.output

    small = tmp_path / "small.safetensors"
    result = runner.invoke(app, ["lora", "resize", str(a), "-o", str(small), "--rank", "2"])
    assert result.exit_code == 0, result.output
    assert (
        "Frobenius kept" in result.output
        and read_lora(small).modules["lora_te_text_model_encoder_layers_0_mlp_fc1"].rank == 2
    )
    result = runner.invoke(app, ["lora", "resize", str(a), "-o", str(small), "--rank", "2"])
    assert isinstance(result.exception, LorakitError) and "already exists" in str(result.exception)

    merged = tmp_path / "merged.safetensors"
    result = runner.invoke(app, ["lora", "merge", f"{a}:0.5", str(b), "-o", str(merged), "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    assert read_lora(merged).modules["lora_unet_down_blocks_0_attentions_0_proj_in"].rank == 12

    converted = tmp_path / "diffusers.safetensors"
    result = runner.invoke(app, ["lora", "convert", str(a), "-o", str(converted), "--to", "diffusers"])
    assert result.exit_code == 0, result.output
    assert "diffusers layout" in result.output
