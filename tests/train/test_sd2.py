"""The tiny SD2 model: SD2-shaped (its own text encoder width, OpenCLIP-style, v-prediction), and a
training step on it learns the v target, computed here independently of lorakit's loss code."""

from __future__ import annotations

import json

import pytest
import torch

from lorakit.models.loading import detect_family, load_model
from lorakit.train.step import Batch, StepOptions, training_step


def _config(folder, part: str) -> dict:
    return json.loads((folder / part / "config.json").read_text())


def test_tiny_sd2_is_sd2_shaped(tiny_sd1, tiny_sd2):
    text, unet = _config(tiny_sd2, "text_encoder"), _config(tiny_sd2, "unet")
    assert text["hidden_size"] == 64 != _config(tiny_sd1, "text_encoder")["hidden_size"]
    assert text["hidden_act"] == "gelu"  # OpenCLIP; SD1's CLIP-L uses quick_gelu
    assert _config(tiny_sd1, "text_encoder")["hidden_act"] == "quick_gelu"
    assert unet["cross_attention_dim"] == 64 and unet["use_linear_projection"] is True
    assert json.loads((tiny_sd2 / "scheduler" / "scheduler_config.json").read_text())["prediction_type"] == (
        "v_prediction"
    )
    assert detect_family(tiny_sd2) == "sd2" and detect_family(tiny_sd1) == "sd1"
    family = load_model(tiny_sd2)
    assert (family.name, family.prediction_type, family.base_model_version) == ("sd2", "v_prediction", "sd_v2_v")
    assert family.encode_prompts(["kitbot, robot cat"])["encoder_hidden_states"].shape == (1, 77, 64)


@pytest.fixture(scope="module")
def sd2_family(tiny_sd2):
    return load_model(tiny_sd2)


def test_training_step_loss_is_against_v(sd2_family, monkeypatch):
    """v = √ᾱ_t·ε − √(1−ᾱ_t)·x₀ (Salimans & Ho 2022, §4), recomputed in float64 from what the UNet was given."""
    family = sd2_family
    seen = {}
    real_predict = family.predict

    def predict(noisy, timesteps, cond, sizes=None):
        out = real_predict(noisy, timesteps, cond, sizes)
        seen.update(noisy=noisy.detach().double(), t=timesteps.detach().clone(), pred=out.detach().double())
        return out

    monkeypatch.setattr(family, "predict", predict)
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(3, 4, 8, 8, generator=g)
    with torch.no_grad():
        cond = family.encode_prompts(["kitbot", "robot cat", "kitbot, antenna"])
    batch = Batch(captions=["a"] * 3, is_reg=[False] * 3, sizes=torch.zeros(3, 6), latents=latents, conditioning=cond)
    loss = training_step(family, batch, StepOptions(), torch.Generator().manual_seed(1), backward=lambda loss: None)

    ac = family.components.noise_scheduler.alphas_cumprod.double()[seen["t"]].view(-1, 1, 1, 1)
    x0 = latents.double()
    eps = (seen["noisy"] - ac.sqrt() * x0) / (1 - ac).sqrt()  # the noise the step drew, read back
    v = ac.sqrt() * eps - (1 - ac).sqrt() * x0
    want_v = ((seen["pred"] - v) ** 2).mean()
    want_eps = ((seen["pred"] - eps) ** 2).mean()
    assert loss.item() == pytest.approx(want_v.item(), rel=1e-4)
    assert abs(want_v - want_eps) > 1e-2 * want_v  # the two targets give clearly different losses here
