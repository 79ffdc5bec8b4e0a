"""Resize: exact at full rank, dynamic ranks as the formulas say, strength kept, metadata and hashes updated."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lorakit.errors import LorakitError
from lorakit.lora.modules import LoraFormatError, from_tensors, read_lora, write_lora
from lorakit.lora.resize import choose_rank, factored_svd, resize_lora, resize_state
from lorakit.models.hashes import sshs_hashes


def _mixed_lora(seed=0):
    """Linear, 1x1 conv and 3x3 conv modules at rank 8 with alpha 4 (scale 0.5)."""
    g = torch.Generator().manual_seed(seed)
    shapes = {
        "lora_unet_a_to_q": ((8, 40), (48, 8)),
        "lora_unet_b_proj_in": ((8, 16, 1, 1), (24, 8, 1, 1)),
        "lora_unet_c_conv1": ((8, 16, 3, 3), (32, 8, 1, 1)),
        "lora_te_text_model_encoder_layers_0_mlp_fc1": ((8, 32), (64, 8)),
    }
    tensors = {}
    for name, (down, up) in shapes.items():
        tensors[f"{name}.lora_down.weight"] = torch.randn(*down, generator=g)
        tensors[f"{name}.lora_up.weight"] = torch.randn(*up, generator=g)
        tensors[f"{name}.alpha"] = torch.tensor(4.0)
    return tensors


@pytest.mark.parametrize("alpha", [None, 1.0, 16.0])
def test_full_rank_resize_reproduces_every_delta(alpha):
    state = from_tensors(_mixed_lora())
    new, report = resize_state(state, rank=8, alpha=alpha)
    for name, module in state.modules.items():
        resized = new.modules[name]
        assert resized.rank == 8
        assert resized.tensors["lora_down.weight"].shape == module.tensors["lora_down.weight"].shape
        assert resized.tensors["lora_up.weight"].shape == module.tensors["lora_up.weight"].shape
        torch.testing.assert_close(resized.delta(), module.delta(), atol=1e-4, rtol=1e-4)
        if alpha is not None:
            assert resized.alpha == alpha
    assert all(m.retained_fro == pytest.approx(1.0, abs=1e-6) for m in report.modules)


def test_smaller_rank_keeps_scale_and_gives_the_best_approximation():
    state = from_tensors(_mixed_lora())
    new, report = resize_state(state, rank=3)
    for name, module in state.modules.items():
        resized = new.modules[name]
        # Default alpha keeps alpha/rank: 4/8 × 3.
        assert resized.alpha == pytest.approx(1.5)
        assert resized.scale == pytest.approx(module.scale)
        w = module.delta().flatten(1).double()
        s = torch.linalg.svdvals(w)
        best_error = math.sqrt(float(s[3:].square().sum()))  # Eckart–Young
        error = float(torch.linalg.matrix_norm(w - resized.delta().flatten(1).double()))
        assert error == pytest.approx(best_error, rel=1e-3)
        entry = next(m for m in report.modules if m.name == name)
        assert entry.retained_fro == pytest.approx(math.sqrt(float(s[:3].square().sum() / s.square().sum())), rel=1e-5)


@pytest.mark.parametrize(
    ("method", "value", "expected"),
    [
        # S = 10, 8, 5, 1, 0.5, 0.1 -> S > S0/ratio
        ("sv_ratio", 4.0, 3),  # threshold 2.5
        ("sv_ratio", 50.0, 5),  # threshold 0.2
        # cumulative: sums 10, 18, 23, 24, 24.5, 24.6 over 24.6
        ("sv_cumulative", 0.7, 2),  # 18/24.6 = 0.73
        ("sv_cumulative", 0.95, 4),  # 23/24.6 = 0.935, 24/24.6 = 0.976
        # Frobenius: squares 100, 64, 25, 1, .25, .01 (total 190.26); p² compared
        ("sv_fro", 0.9, 2),  # 164/190.26 = 0.862 ≥ 0.81
        ("sv_fro", 0.99, 3),  # 189/190.26 = 0.9934 ≥ 0.9801
        ("sv_fro", 0.999, 4),  # 0.998 ≥ 0.99800 needs 190/190.26 = 0.99863
    ],
)
def test_dynamic_methods_choose_the_formula_rank_on_built_spectra(spectrum_lora, method, value, expected):
    spectrum = [10.0, 8.0, 5.0, 1.0, 0.5, 0.1]
    state = from_tensors(spectrum_lora({"lora_unet_m": spectrum}, alpha=3.0))
    new, report = resize_state(state, method=method, value=value)
    assert report.modules[0].new_rank == expected
    assert new.modules["lora_unet_m"].rank == expected
    kept = torch.linalg.svdvals(new.modules["lora_unet_m"].delta().double())[:expected]
    torch.testing.assert_close(kept, torch.tensor(spectrum[:expected], dtype=torch.float64), atol=1e-4, rtol=1e-4)


def test_choose_rank_respects_the_cap_and_the_floor():
    s = torch.tensor([5.0, 4.0, 3.0, 2.0])
    assert choose_rank(s, "sv_cumulative", 1.0, 2) == 2
    assert choose_rank(s, "sv_ratio", 1.0, None) == 1  # nothing is strictly above S0: keep one
    assert choose_rank(torch.zeros(4), "sv_fro", 0.9, None) == 4


def test_factored_svd_matches_dense_svd():
    g = torch.Generator().manual_seed(3)
    up, down = torch.randn(2, 30, 6, generator=g), torch.randn(2, 6, 20, generator=g)
    u, s, vh = factored_svd(up, down)
    torch.testing.assert_close(s, torch.linalg.svdvals(up @ down)[:, :6], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(u @ torch.diag_embed(s) @ vh, up @ down, atol=1e-4, rtol=1e-4)


def test_rank_above_the_lora_is_refused_and_per_module_clamp_is_noted():
    tensors = _mixed_lora()
    tensors["lora_unet_small.lora_down.weight"] = torch.randn(2, 10)
    tensors["lora_unet_small.lora_up.weight"] = torch.randn(12, 2)
    state = from_tensors(tensors)
    with pytest.raises(LoraFormatError, match="larger than this LoRA's largest module rank"):
        resize_state(state, rank=64)
    _, report = resize_state(state, rank=6)
    small = next(m for m in report.modules if m.name == "lora_unet_small")
    assert small.new_rank == 2 and "holds no more" in small.note


def test_resize_file_updates_metadata_and_hashes(tmp_path):
    source = tmp_path / "in.safetensors"
    write_lora(source, _mixed_lora(), {"ss_network_dim": "8", "ss_network_alpha": "4", "ss_output_name": "x"})
    out = tmp_path / "out.safetensors"
    report = resize_lora(source, out, rank=4)
    resized = read_lora(out)
    meta = resized.metadata
    assert meta["ss_network_dim"] == "4" and float(meta["ss_network_alpha"]) == 2.0
    assert meta["ss_output_name"] == "x"
    assert json.loads(meta["lorakit_resize"])["from_rank"] == "8"
    assert "resized by lorakit" in meta["ss_training_comment"]
    expected = sshs_hashes(resized.tensors(), meta)
    assert (meta["sshs_model_hash"], meta["sshs_legacy_hash"]) == expected
    assert report.to_dict()["mean_rank"] == 4

    dynamic = tmp_path / "dyn.safetensors"
    resize_lora(source, dynamic, rank=8, method="sv_fro", value=0.5)
    assert read_lora(dynamic).metadata["ss_network_dim"] == "Dynamic"


def test_bad_files_and_options_are_clear_errors(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(LorakitError, match="not a readable"):
        read_lora(broken)
    pickle_file = tmp_path / "x.ckpt"
    pickle_file.write_bytes(b"not read")
    with pytest.raises(LorakitError, match="pickle"):
        read_lora(pickle_file)
    state = from_tensors(_mixed_lora())
    with pytest.raises(LoraFormatError, match="needs a target rank"):
        resize_state(state)
    with pytest.raises(LoraFormatError, match="Unknown resize method"):
        resize_state(state, rank=2, method="sv_magic")
    with pytest.raises(LoraFormatError, match="keys lorakit does not understand"):
        resize_state(from_tensors({**_mixed_lora(), "something.else": torch.zeros(1)}), rank=2)


def test_untrained_and_rank_deficient_layers_resize_cleanly():
    g = torch.Generator().manual_seed(5)
    low = torch.randn(48, 2, generator=g) @ torch.randn(2, 8, generator=g)  # rank 2 inside rank 8
    state = from_tensors(
        {
            "lora_unet_zero.lora_down.weight": torch.randn(8, 40, generator=g),
            "lora_unet_zero.lora_up.weight": torch.zeros(48, 8),  # never trained: kohya initialises up to zero
            "lora_unet_low.lora_down.weight": torch.randn(8, 40, generator=g),
            "lora_unet_low.lora_up.weight": low,
        }
    )
    new, _ = resize_state(state, rank=4)
    assert torch.count_nonzero(new.modules["lora_unet_zero"].delta()) == 0
    assert all(torch.isfinite(t).all() for m in new.modules.values() for t in m.tensors.values())
    torch.testing.assert_close(
        new.modules["lora_unet_low"].delta(), state.modules["lora_unet_low"].delta(), atol=1e-4, rtol=1e-4
    )
    dynamic, _ = resize_state(state, method="sv_fro", value=0.999)
    assert dynamic.modules["lora_unet_low"].rank == 2
