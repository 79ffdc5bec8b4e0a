"""Extract: a known low-rank change baked into a checkpoint comes back out as the same per-module change."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from lorakit.lora.bake import bake_loras
from lorakit.lora.extract import extract_lora, low_rank_factors
from lorakit.lora.modules import LoraFormatError, from_tensors, read_lora, write_lora


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_extract_recovers_a_known_low_rank_change(
    tmp_path, family, tiny_sd1_pipe, tiny_sdxl_pipe, random_lora, single_file_checkpoint
):
    pipe = tiny_sd1_pipe if family == "sd1" else tiny_sdxl_pipe
    config = dict(pipe.unet.config)
    base = tmp_path / "base.safetensors"
    save_file(single_file_checkpoint(pipe), str(base))
    if family == "sd1":
        parts = {"lora_unet": (pipe.unet, None), "lora_te": (pipe.text_encoder, None)}
    else:
        from lorakit.lora.keys import sdxl_unet_to_sgm

        sgm = lambda p: sdxl_unet_to_sgm(p, config).replace(".", "_")  # noqa: E731
        parts = {"lora_unet": (pipe.unet, sgm), "lora_te2": (pipe.text_encoder_2, None)}
    known = random_lora(parts, rank=3, alpha=3.0, include=("attn2.to_k", "ff.net.2", "self_attn.v_proj", "mlp.fc2"))
    lora = tmp_path / "known.safetensors"
    write_lora(lora, known, {})
    tuned = bake_loras(base, [(lora, 1.0)], tmp_path / "tuned.safetensors", dtype="fp32", unet_config=config)

    out = tmp_path / "extracted.safetensors"
    summary = extract_lora(base, tuned, out, rank=4, clamp_quantile=1.0, dtype=torch.float32, unet_config=config)
    extracted = read_lora(out)
    expected = from_tensors(known)
    assert set(extracted.modules) == set(expected.modules)  # the same kohya names, untouched layers skipped
    for name, module in expected.modules.items():
        assert extracted.modules[name].rank == 3  # clamped to the change's true rank by nothing but SVD order
        torch.testing.assert_close(extracted.modules[name].delta(), module.delta(), atol=2e-5, rtol=1e-3)
        assert summary[name]["retained_fro"] == pytest.approx(1.0, abs=1e-4)
    assert extracted.metadata["ss_sd_model_name"] == "base.safetensors"


def test_low_rank_factors_clamp_and_dynamic_rank():
    g = torch.Generator().manual_seed(0)
    diff = torch.randn(40, 4, generator=g) @ torch.randn(4, 30, generator=g)
    up, down, kept = low_rank_factors(diff, 8, "sv_fro", 0.999)
    assert up.shape[1] == 4 and kept == pytest.approx(1.0, abs=1e-3)
    clamped_up, _, _ = low_rank_factors(diff, 4, clamp_quantile=0.5)
    limit = torch.cat([up.flatten(), down.flatten()]).abs().quantile(0.5)
    assert float(clamped_up.abs().max()) <= float(limit) + 1e-4


def test_identical_checkpoints_have_nothing_to_extract(tmp_path, tiny_sd1_pipe, single_file_checkpoint):
    base = tmp_path / "base.safetensors"
    save_file(single_file_checkpoint(tiny_sd1_pipe), str(base))
    with pytest.raises(LoraFormatError, match="nothing to extract"):
        extract_lora(base, base, tmp_path / "x.safetensors", unet_config=dict(tiny_sd1_pipe.unet.config))
