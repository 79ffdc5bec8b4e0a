"""Merge: exact stacking sums the weighted changes; SVD compression is the best low-rank fit; bad mixes refused."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lorakit.lora.merge import MergeInput, merge_lora_files, merge_states
from lorakit.lora.modules import LoraFormatError, from_tensors, read_lora, write_lora


def _lora(seed, names=("lora_unet_a_to_q", "lora_unet_b_to_k"), rank=4, alpha=2.0, conv=False, extra=None):
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for name in names:
        if conv:
            tensors[f"{name}.lora_down.weight"] = torch.randn(rank, 8, 3, 3, generator=g)
            tensors[f"{name}.lora_up.weight"] = torch.randn(16, rank, 1, 1, generator=g)
        else:
            tensors[f"{name}.lora_down.weight"] = torch.randn(rank, 24, generator=g)
            tensors[f"{name}.lora_up.weight"] = torch.randn(32, rank, generator=g)
        tensors[f"{name}.alpha"] = torch.tensor(alpha)
    tensors.update(extra or {})
    return from_tensors(tensors, {"ss_tag_frequency": json.dumps({"5_cat": {"cat": seed + 1}})})


def test_exact_merge_is_the_weighted_sum_of_changes():
    a = _lora(0, rank=4, alpha=2.0)
    b = _lora(1, names=("lora_unet_a_to_q", "lora_unet_c_to_v"), rank=8, alpha=8.0)
    merged, report = merge_states([MergeInput(a, 0.7, "a"), MergeInput(b, -0.4, "b")], dtype=torch.float32)
    assert report is None
    q = merged.modules["lora_unet_a_to_q"]
    assert q.rank == 12 and q.alpha == 12
    torch.testing.assert_close(
        q.delta(),
        0.7 * a.modules["lora_unet_a_to_q"].delta() - 0.4 * b.modules["lora_unet_a_to_q"].delta(),
        atol=1e-5,
        rtol=1e-5,
    )
    # Modules in only one LoRA carry over with that LoRA's weight.
    torch.testing.assert_close(merged.modules["lora_unet_b_to_k"].delta(), 0.7 * a.modules["lora_unet_b_to_k"].delta())
    torch.testing.assert_close(
        merged.modules["lora_unet_c_to_v"].delta(), -0.4 * b.modules["lora_unet_c_to_v"].delta()
    )
    tags = json.loads(merged.metadata["ss_tag_frequency"])
    assert tags == {"a/5_cat": {"cat": 1}, "b/5_cat": {"cat": 2}}


def test_conv_modules_stack_too():
    a, b = _lora(0, conv=True), _lora(1, conv=True, rank=2)
    merged, _ = merge_states([MergeInput(a, 1.0, "a"), MergeInput(b, 1.0, "b")], dtype=torch.float32)
    m = merged.modules["lora_unet_a_to_q"]
    assert m.tensors["lora_down.weight"].shape == (6, 8, 3, 3) and m.tensors["lora_up.weight"].shape == (16, 6, 1, 1)
    torch.testing.assert_close(m.delta(), a.modules[m.name].delta() + b.modules[m.name].delta(), atol=1e-5, rtol=1e-5)


def test_svd_merge_full_rank_is_exact_and_low_rank_is_optimal():
    a, b = _lora(0), _lora(1)
    inputs = [MergeInput(a, 1.0, "a"), MergeInput(b, 0.5, "b")]
    exact, _ = merge_states(inputs, dtype=torch.float32)
    full, _ = merge_states(inputs, rank=8, dtype=torch.float32)
    low, report = merge_states(inputs, rank=3, dtype=torch.float32)
    for name, module in exact.modules.items():
        torch.testing.assert_close(full.modules[name].delta(), module.delta(), atol=1e-4, rtol=1e-4)
        s = torch.linalg.svdvals(module.delta().double())
        error = float(torch.linalg.matrix_norm(module.delta().double() - low.modules[name].delta().double()))
        assert error == pytest.approx(math.sqrt(float(s[3:].square().sum())), rel=1e-3)
        assert low.modules[name].rank == 3
    assert low.metadata["ss_network_dim"] == "3"
    assert all(0 < m.retained_fro < 1 for m in report.modules)


def test_merge_files_writes_a_loadable_lora(tmp_path):
    paths = []
    for seed in (0, 1):
        path = tmp_path / f"l{seed}.safetensors"
        state = _lora(seed)
        write_lora(path, state.tensors(), state.metadata)
        paths.append((path, 1.0))
    out, _ = merge_lora_files(paths, tmp_path / "merged.safetensors", dtype=torch.float16)
    merged = read_lora(out)
    assert merged.modules["lora_unet_a_to_q"].tensors["lora_up.weight"].dtype == torch.float16
    recorded = json.loads(merged.metadata["lorakit_merge"])
    assert [r["name"] for r in recorded] == ["l0.safetensors", "l1.safetensors"]
    assert all(r["sshs_model_hash"] for r in recorded)


def test_mismatched_architectures_name_the_files():
    sd1 = _lora(0)
    sd1.metadata["ss_base_model_version"] = "sd_v1"
    sdxl = _lora(1, names=("lora_unet_a_to_q", "lora_te2_text_model_encoder_layers_0_mlp_fc1"))
    with pytest.raises(LoraFormatError, match=r"sd1\.safetensors is sd1, xl\.safetensors is sdxl"):
        merge_states([MergeInput(sd1, 1, "sd1.safetensors"), MergeInput(sdxl, 1, "xl.safetensors")])
    wide = from_tensors(
        {
            "lora_unet_a_to_q.lora_down.weight": torch.zeros(4, 99),
            "lora_unet_a_to_q.lora_up.weight": torch.zeros(32, 4),
        }
    )
    with pytest.raises(LoraFormatError, match="lora_unet_a_to_q has shape"):
        merge_states([MergeInput(sd1, 1, "one"), MergeInput(wide, 1, "two")])
    with pytest.raises(LoraFormatError, match="at least two"):
        merge_states([MergeInput(sd1, 1, "one")])


def test_sdxl_diffusers_names_and_other_layouts_merge_with_kohya_names(tmp_path):
    from safetensors.torch import save_file

    g = torch.Generator().manual_seed(3)
    down, up = torch.randn(4, 640, generator=g), torch.randn(640, 4, generator=g)
    te = {
        "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.randn(2, 8, generator=g),
        "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.randn(8, 2, generator=g),
    }
    sgm_name = "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q"
    kohya = tmp_path / "kohya.safetensors"
    write_lora(kohya, {f"{sgm_name}.lora_down.weight": down, f"{sgm_name}.lora_up.weight": up, **te}, {})
    # The same layer in diffusers layout (peft keys, alpha = rank): a different file format and naming.
    diffusers_file = tmp_path / "diffusers.safetensors"
    path = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"
    save_file(
        {
            f"unet.{path}.lora_A.weight": down,
            f"unet.{path}.lora_B.weight": up,
            "text_encoder_2.text_model.encoder.layers.0.mlp.fc1.lora_A.weight": te[next(iter(te))],
            "text_encoder_2.text_model.encoder.layers.0.mlp.fc1.lora_B.weight": te[list(te)[1]],
        },
        str(diffusers_file),
    )
    out, _ = merge_lora_files([(kohya, 0.5), (diffusers_file, 0.25)], tmp_path / "m.safetensors", dtype=torch.float32)
    merged = read_lora(out)
    assert set(merged.modules) == {sgm_name, "lora_te2_text_model_encoder_layers_0_mlp_fc1"}
    torch.testing.assert_close(merged.modules[sgm_name].delta(), 0.75 * (up @ down), atol=1e-4, rtol=1e-5)
