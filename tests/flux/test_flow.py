"""Flow matching for Flux, checked against the formulas (recomputed here from the same random draws), and
against diffusers' own FlowMatchEulerDiscreteScheduler where it has the same schedule."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from lorakit.errors import ConfigError
from lorakit.train.flow import apply_prediction_type, flux_mu, noisy_input, sample_t, shift_sigma
from lorakit.train.step import Batch, StepOptions, training_step


def _gen(seed: int = 3) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_uniform_and_sigmoid_draws():
    u = torch.rand(4, generator=_gen())
    assert torch.equal(sample_t("uniform", _gen(), batch=4), u)
    z = torch.randn(4, generator=_gen())
    got = sample_t("sigmoid", _gen(), batch=4, sigmoid_scale=2.5)
    assert torch.allclose(got, 1 / (1 + torch.exp(-2.5 * z)), atol=1e-6)
    # the scale spreads the draws: a larger scale pushes them to 0 and 1
    assert (
        sample_t("sigmoid", _gen(), batch=256, sigmoid_scale=4.0).std()
        > sample_t("sigmoid", _gen(), batch=256, sigmoid_scale=0.5).std()
    )


def test_shift_formula():
    z = torch.randn(5, generator=_gen())
    t = 1 / (1 + torch.exp(-1.3 * z))
    s = 3.1582
    want = s * t / (1 + (s - 1) * t)
    got = sample_t("shift", _gen(), batch=5, sigmoid_scale=1.3, shift=s)
    assert torch.allclose(got, want, atol=1e-6)
    assert (got >= t - 1e-7).all()  # a shift above 1 moves every level toward noise
    assert torch.allclose(shift_sigma(t, 1.0), t)


def test_flux_shift_depends_on_resolution():
    assert flux_mu(256) == pytest.approx(0.5)
    assert flux_mu(4096) == pytest.approx(1.15)
    z = torch.randn(3, generator=_gen())
    t = torch.sigmoid(z)
    for hw, tokens in (((32, 32), 256), ((128, 128), 4096)):
        mu = 0.5 + (1.15 - 0.5) * (tokens - 256) / (4096 - 256)
        want = math.exp(mu) / (math.exp(mu) + (1 / t - 1))
        got = sample_t("flux_shift", _gen(), batch=3, latent_hw=hw)
        assert torch.allclose(got, want, atol=1e-6), hw
    small = sample_t("flux_shift", _gen(), batch=3, latent_hw=(32, 32))
    large = sample_t("flux_shift", _gen(), batch=3, latent_hw=(128, 128))
    assert (large > small).all()  # bigger images are trained at more noise


def test_sigma_sampling_matches_diffusers_schedule():
    from diffusers import FlowMatchEulerDiscreteScheduler

    for shift in (1.0, 3.0):
        sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=shift)
        index = (torch.rand(6, generator=_gen()) * 1000).long()
        want = sched.sigmas[index].float()
        got = sample_t("sigma", _gen(), batch=6, shift=shift)
        assert torch.allclose(got, want, atol=1e-5), shift


def test_unknown_options_are_refused():
    with pytest.raises(ConfigError, match="timestep sampling"):
        sample_t("logit_normal", _gen())
    with pytest.raises(ConfigError, match="prediction type"):
        apply_prediction_type("v", torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1))


def test_prediction_types():
    out, noisy, t = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4), torch.tensor([0.2, 0.7])
    assert torch.equal(apply_prediction_type("raw", out, noisy, t), out)
    assert torch.allclose(apply_prediction_type("additive", out, noisy, t), out + noisy)
    assert torch.allclose(apply_prediction_type("sigma_scaled", out, noisy, t), -t.view(2, 1, 1, 1) * out + noisy)
    x0, eps = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert torch.allclose(noisy_input(x0, eps, t), (1 - t.view(2, 1, 1, 1)) * x0 + t.view(2, 1, 1, 1) * eps)


class _Model(nn.Module):
    """Stands in for the transformer: a fixed linear map of the noisy latents and the flow time."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.5))
        self.device, self.dtype = torch.device("cpu"), torch.float32


class _Family:
    flow_matching = True

    def __init__(self):
        self.components = SimpleNamespace(unet=_Model())
        self.seen_t = None

    def predict(self, noisy, t, cond, sizes=None):
        self.seen_t = t
        return self.components.unet.w * noisy + t.view(-1, 1, 1, 1)


def _step(opts: StepOptions, latents: torch.Tensor, seed: int):
    family = _Family()
    batch = Batch(captions=["a"], is_reg=[False], sizes=torch.zeros(1, 6), latents=latents, conditioning={})
    loss = training_step(family, batch, opts, [_gen(seed)], lambda loss: None)
    return float(loss), family.seen_t


@pytest.mark.parametrize(
    "sampling,prediction,scale,shift",
    [
        ("sigma", "sigma_scaled", 1.0, 3.0),
        ("uniform", "raw", 1.0, 3.0),
        ("sigmoid", "additive", 2.0, 3.0),
        ("shift", "raw", 1.0, 3.1582),
        ("flux_shift", "raw", 1.0, 3.0),
    ],
)
def test_step_loss_is_the_formula(sampling, prediction, scale, shift):
    """The step's loss, recomputed here: ε and then t from the image's generator, x_t, the prediction, ε − x₀."""
    x0 = torch.randn(1, 16, 8, 8, generator=_gen(11))
    opts = StepOptions(
        timestep_sampling=sampling, model_prediction_type=prediction, sigmoid_scale=scale, discrete_flow_shift=shift
    )
    loss, seen_t = _step(opts, x0, seed=5)
    g = _gen(5)
    eps = torch.randn(x0.shape, generator=g)
    if sampling == "sigma":
        t = (1000 - (torch.rand(1, generator=g) * 1000).long()).float() / 1000
        t = shift * t / (1 + (shift - 1) * t)
    elif sampling == "uniform":
        t = torch.rand(1, generator=g)
    else:
        t = torch.sigmoid(scale * torch.randn(1, generator=g))
        if sampling == "shift":
            t = shift * t / (1 + (shift - 1) * t)
        elif sampling == "flux_shift":
            mu = 0.5 + (1.15 - 0.5) * (16 - 256) / (4096 - 256)  # 8x8 latents: 16 tokens
            t = math.exp(mu) / (math.exp(mu) + (1 / t - 1))
    assert torch.allclose(seen_t, t, atol=1e-6)
    xt = (1 - t) * x0 + t * eps
    out = 0.5 * xt + t
    pred = {"raw": out, "additive": out + xt, "sigma_scaled": -t * out + xt}[prediction]
    want = ((pred - (eps - x0)) ** 2).mean()
    assert loss == pytest.approx(float(want), rel=1e-5)


@pytest.mark.parametrize(
    "field,value",
    [
        ("timestep_sampling", "uniform"),
        ("sigmoid_scale", 3.0),
        ("discrete_flow_shift", 1.5),
        ("model_prediction_type", "raw"),
    ],
)
def test_each_option_changes_the_loss(field, value):
    x0 = torch.randn(1, 16, 8, 8, generator=_gen(11))
    base = {"timestep_sampling": "shift"} if field == "sigmoid_scale" else {}
    loss_a, _ = _step(StepOptions(**base), x0, seed=5)
    loss_b, _ = _step(StepOptions(**{**base, field: value}), x0, seed=5)
    assert loss_a != pytest.approx(loss_b)
