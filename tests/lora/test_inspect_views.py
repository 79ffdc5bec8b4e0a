"""What inspection shows: peft adapters (folder or the weights inside) with their real alpha, every rank of a
dynamic-rank LoRA, readable training times; ``--to peft -o x.safetensors`` writes a folder named ``x``."""

from __future__ import annotations

import pytest
import torch

from lorakit.lora.convert import convert_lora
from lorakit.lora.inspect import inspect_lora
from lorakit.lora.modules import write_lora
from lorakit.models.detect import detect

MODULES = [f"lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_{x}" for x in "qkv"]


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "workspace"))


def _kohya(path, ranks, alpha=None, metadata=None):
    g = torch.Generator().manual_seed(0)
    tensors = {}
    for name, rank in zip(MODULES, ranks, strict=True):
        tensors[f"{name}.lora_down.weight"] = torch.randn(rank, 32, generator=g)
        tensors[f"{name}.lora_up.weight"] = torch.randn(32, rank, generator=g)
        if alpha is not None:
            tensors[f"{name}.alpha"] = torch.tensor(float(alpha))
    write_lora(path, tensors, {"ss_base_model_version": "sd_v1", **(metadata or {})})
    return path


def test_peft_folder_and_its_weights_file_show_lora_alpha(tmp_path, lorakit):
    source = _kohya(tmp_path / "k.safetensors", [16, 16, 16], alpha=8)
    code, out = lorakit(["lora", "convert", str(source), "--to", "peft", "-o", str(tmp_path / "x.safetensors")])
    assert code == 0, out
    assert "writing the folder" in out and not (tmp_path / "x.safetensors").exists()
    folder = tmp_path / "x"
    weights = folder / "unet" / "adapter_model.safetensors"
    assert weights.is_file() and (folder / "unet" / "adapter_config.json").is_file()

    for target in (folder, folder / "unet", weights):
        report = inspect_lora(target, full_hash=False)
        assert report.layout == "peft" and report.ranks == {16: 3} and report.alphas == {8.0: 3}, target
    code, out = lorakit(["lora", "inspect", str(folder), "--no-hash"])
    assert code == 0 and "8 ×3" in out and "layout: peft" in out

    info = detect(weights)
    assert (info.rank, info.alpha, info.alphas) == (16, 8.0, [8.0])
    code, out = lorakit(["models", "inspect", str(weights)])
    assert code == 0 and "16 / 8" in out and "?" not in out


def test_dynamic_rank_lora_shows_the_range(tmp_path, lorakit):
    path = _kohya(tmp_path / "dyn.safetensors", [1, 4, 9], alpha=1)
    info = detect(path)
    assert info.ranks == [1, 4, 9] and info.alphas == [1.0]
    code, out = lorakit(["models", "inspect", str(path)])
    assert code == 0 and "1–9 (varies by layer" in out and "/ 1" in out
    no_alpha = _kohya(tmp_path / "plain.safetensors", [4, 4, 4])
    code, out = lorakit(["models", "inspect", str(no_alpha)])
    assert "4 / not stored, so alpha = rank" in out


def test_training_times_are_dates(tmp_path):
    path = _kohya(tmp_path / "t.safetensors", [4, 4, 4], alpha=4,
                  metadata={"ss_training_started_at": "1732998278.51", "ss_training_finished_at": "x"})  # fmt: skip
    report = inspect_lora(path, full_hash=False)
    assert report.training["started at"] == "2024-11-30 20:24:38 UTC"
    assert report.training["finished at"] == "x"  # not a time: shown as written
    assert report.metadata["ss_training_started_at"] == "1732998278.51"  # the raw record is kept


def test_peft_conversion_to_a_folder_keeps_other_names(tmp_path):
    source = _kohya(tmp_path / "k.safetensors", [4, 4, 4], alpha=2)
    assert convert_lora(source, tmp_path / "adapter", "peft") == tmp_path / "adapter"
    assert convert_lora(source, tmp_path / "c.safetensors", "comfyui") == tmp_path / "c.safetensors"


def test_models_inspect_of_a_peft_folder_points_at_lora_inspect(tmp_path, lorakit):
    source = _kohya(tmp_path / "k.safetensors", [4, 4, 4], alpha=2)
    folder = convert_lora(source, tmp_path / "adapter", "peft")
    code, out = lorakit(["models", "inspect", str(folder)])
    assert code == 2 and "is a peft LoRA adapter folder" in out and "lorakit lora inspect" in out
