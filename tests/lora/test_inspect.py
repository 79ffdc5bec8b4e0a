"""Inspect: base, network, per-module rank/alpha/layer, text encoder coverage, training record, hashes."""

from __future__ import annotations

import json

import torch

from lorakit.lora.inspect import inspect_lora
from lorakit.lora.modules import write_lora


def _file(tmp_path, metadata):
    g = torch.Generator().manual_seed(0)
    tensors = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_down.weight": torch.randn(
            8, 640, generator=g
        ),
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.lora_up.weight": torch.randn(640, 8, generator=g),
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.alpha": torch.tensor(4.0),
        "lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight": torch.randn(4, 320, 3, 3, generator=g),
        "lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight": torch.zeros(320, 4, 1, 1),
        "lora_unet_input_blocks_1_0_in_layers_2.alpha": torch.tensor(1.0),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.randn(8, 768, generator=g),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.randn(3072, 8, generator=g),
        "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha": torch.tensor(4.0),
    }
    path = tmp_path / "character.safetensors"
    write_lora(path, tensors, metadata)
    return path, tensors


def test_inspect_reports_modules_metadata_and_hashes(tmp_path):
    metadata = {
        "ss_base_model_version": "sdxl_base_v1-0",
        "ss_network_dim": "8",
        "ss_network_alpha": "4",
        "ss_learning_rate": "0.0001",
        "ss_optimizer": "AdamW8bit",
        "ss_tag_frequency": json.dumps({"10_mira": {"mira": 12, " smile": 5}, "5_bg": {"smile": 2, "outdoors": 1}}),
        "ss_dataset_dirs": json.dumps({"10_mira": {"n_repeats": 10, "img_count": 12}}),
        "modelspec.title": "Mira",
    }
    path, tensors = _file(tmp_path, metadata)
    report = inspect_lora(path)
    assert report.family == "sdxl" and report.base_label == "SDXL base"
    assert report.network == "locon"  # a 3x3 conv module makes it LoCon
    assert report.parts == {"unet": 2, "te1": 1} and report.text_encoder_trained
    assert report.ranks == {4: 1, 8: 2} and report.alphas == {1.0: 1, 4.0: 2}
    assert report.conv_modules == 1
    by_name = {m.name: m for m in report.modules}
    conv = by_name["lora_unet_input_blocks_1_0_in_layers_2"]
    assert conv.layer == "conv 3x3" and conv.strength == 0.0  # zero up: trained nothing yet
    q = by_name["lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"]
    expected = float(
        torch.linalg.matrix_norm(tensors[q.name + ".lora_up.weight"] @ tensors[q.name + ".lora_down.weight"])
    )
    assert abs(q.strength - expected * 0.5) < 1e-3 * expected
    assert report.training["learning rate"] == "0.0001" and report.training["optimizer"] == "AdamW8bit"
    assert report.top_tags[:2] == [("mira", 12), ("smile", 7)]
    assert report.trigger_words == ["mira"]
    assert report.modelspec == {"title": "Mira"}
    assert report.hashes["sshs_matches"] == "true"
    assert len(report.hashes["sha256"]) == 64 and report.hashes["autov2"] == report.hashes["sha256"][:10]
    data = report.to_dict()
    json.dumps(data)  # JSON-ready for --json and the web API
    assert data["ranks"] == {"4": 1, "8": 2} and data["top_tags"][0] == {"tag": "mira", "count": 12}


def test_inspect_reads_other_layouts_and_unknown_keys(tmp_path):
    from safetensors.torch import save_file

    diffusers_file = tmp_path / "d.safetensors"
    save_file(
        {
            "unet.down_blocks.0.attentions.0.proj_in.lora_A.weight": torch.ones(2, 4),
            "unet.down_blocks.0.attentions.0.proj_in.lora_B.weight": torch.ones(4, 2),
        },
        str(diffusers_file),
    )
    report = inspect_lora(diffusers_file, full_hash=False)
    assert report.layout == "diffusers" and report.modules[0].rank == 2
    odd = tmp_path / "odd.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.ones(2, 4), "something_else": torch.ones(1)}, str(odd))
    report = inspect_lora(odd, full_hash=False)
    assert report.layout == "unknown" and "something_else" in report.unknown_keys
