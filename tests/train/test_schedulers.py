"""Learning-rate curves at chosen steps against hand-computed values."""

from __future__ import annotations

import io
import math

import pytest
import torch

from lorakit.errors import ConfigError
from lorakit.train.schedulers import build_scheduler, lr_curve

BASE = 1e-3


def opt(lr: float = BASE, groups: int = 1) -> torch.optim.Optimizer:
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr * (i + 1)} for i in range(groups)]
    return torch.optim.SGD(params, lr=lr)


def lrs(scheduler, steps: int) -> list[float]:
    """The learning rate used at steps 0..steps-1 (the optimizer step comes before scheduler.step())."""
    out = []
    for _ in range(steps):
        out.append(scheduler.optimizer.param_groups[0]["lr"])
        scheduler.optimizer.step()
        scheduler.step()
    return out


half_cos = lambda p: 0.5 * (1 + math.cos(math.pi * p))  # noqa: E731

# name, kwargs, {step: expected multiplier}; total 100 steps unless set.
CASES = [
    ("constant", {}, {0: 1, 50: 1, 99: 1}),
    ("constant_with_warmup", {"warmup_steps": 10}, {0: 0, 5: 0.5, 10: 1, 99: 1}),
    ("linear", {"warmup_steps": 10}, {0: 0, 5: 0.5, 10: 1, 55: 0.5, 100: 0}),
    ("linear", {"min_lr_ratio": 0.1}, {0: 1, 50: 0.55, 100: 0.1}),
    ("cosine", {}, {0: 1, 25: half_cos(0.25), 50: 0.5, 100: 0}),
    ("cosine", {"warmup_steps": 20}, {10: 0.5, 20: 1, 60: 0.5, 100: 0}),
    ("cosine", {"min_lr_ratio": 0.2}, {50: 0.6, 100: 0.2}),
    ("cosine_with_restarts", {"num_cycles": 2}, {0: 1, 25: 0.5, 49: half_cos(49 / 50), 50: 1, 75: 0.5, 100: 0}),
    ("polynomial", {"power": 2.0}, {0: 1, 50: 0.25, 90: 0.01, 100: 0}),
    ("polynomial", {"power": 0.5, "warmup_steps": 20}, {20: 1, 60: math.sqrt(0.5)}),
    # REX: (1 − z)/(1 − z/2): z = 0.5 → 0.5/0.75
    ("rex", {"rex_d": 0.5}, {0: 1, 50: 0.5 / 0.75, 75: 0.25 / 0.625, 100: 0}),
    ("rex", {}, {50: 0.5 / (1 - 0.9 * 0.5)}),  # the config's default rex_d = 0.9
    ("rex", {"rex_d": 0.5, "warmup_steps": 20}, {10: 0.5, 20: 1, 60: 0.5 / 0.75}),
    ("rex", {"num_cycles": 2, "rex_d": 0.0}, {0: 1, 50: 0.9, 75: 0.45}),  # the config's rex_gamma = 0.9
    ("rex", {"args": {"rex_d": 0.0}}, {50: 0.5}),  # d = 0 is linear
    (
        "rex",
        {"num_cycles": 2, "rex_d": 0.5, "args": {"rex_gamma": 0.5}},
        {0: 1, 25: 0.5 / 0.75, 50: 0.5, 75: 0.5 * 0.5 / 0.75},
    ),
    # SGDR with T_0 = 10, T_mult = 2: periods [0,10), [10,30), [30,70)
    (
        "cosine_annealing_warm_restarts",
        {"args": {"T_0": 10, "T_mult": 2}},
        {0: 1, 5: 0.5, 10: 1, 20: 0.5, 30: 1, 50: 0.5},
    ),
    ("cosine_annealing_warm_restarts", {"num_cycles": 4, "warmup_steps": 20}, {20: 1, 30: 0.5, 40: 1, 50: 0.5}),
    ("piecewise_constant", {"args": {"step_rules": "1:10,0.1:20,0.01"}}, {0: 1, 9: 1, 10: 0.1, 19: 0.1, 20: 0.01}),
    ("cosine_with_min_lr", {"min_lr_ratio": 0.1}, {0: 1, 50: 0.55, 100: 0.1}),
    ("cosine_with_min_lr", {"num_cycles": 2}, {25: 0.5, 50: 0.0, 75: 0.5}),  # full cosine: down and back up
    # inverse_sqrt: 1/√(1 + s/timescale), timescale = warmup (10): step 10+30 → 1/√4
    ("inverse_sqrt", {"warmup_steps": 10}, {5: 0.5, 10: 1, 40: 0.5, 90: 1 / 3}),
    # WSD: warmup 10, flat until 80, half-cosine decay over the last 20 steps to the floor
    (
        "warmup_stable_decay",
        {"warmup_steps": 10, "min_lr_ratio": 0.1, "args": {"decay_steps": 20}},
        {0: 0.1, 5: 0.55, 10: 1, 79: 1, 90: 0.55, 100: 0.1},
    ),
    ("warmup_stable_decay", {"decay_steps": 0.1}, {89: 1, 95: 0.5, 100: 0}),
    ("warmup_stable_decay", {"decay_steps": 10}, {89: 1, 95: 0.5, 100: 0}),
    ("warmup_stable_decay", {}, {50: 1, 99: 1}),  # the config's lr_decay_steps = 0: no decay
    ("adafactor", {}, {0: 1, 99: 1}),
]


@pytest.mark.parametrize(("name", "kwargs", "expected"), CASES)
def test_lr_curve_at_chosen_steps(name, kwargs, expected):
    curve = lr_curve(name, kwargs.pop("total_steps", 100), **kwargs)
    for step, value in expected.items():
        assert curve(step) == pytest.approx(value, abs=1e-9), f"{name} at step {step}"


@pytest.mark.parametrize(("name", "kwargs", "expected"), CASES)
def test_scheduler_follows_curve_and_resumes(name, kwargs, expected):
    kwargs = dict(kwargs)
    total = kwargs.pop("total_steps", 100)
    full = lrs(build_scheduler(name, opt(), total, **kwargs), total)
    for step, value in expected.items():
        if step < total:
            assert full[step] == pytest.approx(BASE * value, abs=1e-12)
    # Resume at step 37 from a state_dict into a freshly built scheduler: the rest of the curve is identical.
    first = build_scheduler(name, opt(), total, **kwargs)
    lrs(first, 37)
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # a resume state must load without pickle
    resumed = build_scheduler(name, opt(), total, **kwargs)
    resumed.load_state_dict(state)
    for group, lr in zip(resumed.optimizer.param_groups, first.get_last_lr(), strict=True):
        group["lr"] = lr
    assert lrs(resumed, total - 37) == pytest.approx(full[37:], abs=1e-15)


def test_each_param_group_keeps_its_own_base_lr():
    scheduler = build_scheduler("cosine", opt(groups=2), 10)
    for _ in range(5):
        scheduler.optimizer.step()
        scheduler.step()
    assert scheduler.get_last_lr() == pytest.approx([BASE * 0.5, 2 * BASE * 0.5])


def test_eta_min_is_an_absolute_learning_rate_per_group():
    scheduler = build_scheduler(
        "cosine_annealing_warm_restarts", opt(groups=2), 100, args=["T_0=10", f"eta_min={BASE / 2}"]
    )
    for _ in range(5):
        scheduler.optimizer.step()
        scheduler.step()
    # group 1: base 1e-3, floor 5e-4 → 7.5e-4; group 2: base 2e-3, floor 5e-4 → 1.25e-3
    assert scheduler.get_last_lr() == pytest.approx([7.5e-4, 1.25e-3])


def test_dotted_class_path():
    scheduler = build_scheduler("torch.optim.lr_scheduler.StepLR", opt(), 100, args="step_size=2 gamma=0.5")
    assert lrs(scheduler, 5) == pytest.approx([BASE, BASE, BASE / 2, BASE / 2, BASE / 4])


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [
        ("cosine", {"warmup_steps": 101}, "lr_warmup_steps"),
        ("cosine", {"warmup_steps": -1}, "lr_warmup_steps"),
        ("constant", {"warmup_steps": 5}, "lr_warmup_steps"),
        ("cosine_with_restarts", {"num_cycles": 0}, "lr_scheduler_num_cycles"),
        ("polynomial", {"power": 0}, "lr_scheduler_power"),
        ("linear", {"min_lr_ratio": 1.5}, "lr_scheduler_min_lr_ratio"),
        ("warp_speed", {}, "lr_scheduler"),
        ("rex", {"args": {"rex_d": 1.0}}, "lr_scheduler"),
        ("piecewise_constant", {"args": {"step_rules": "1:x,0.1"}}, "lr_scheduler_args"),
        ("warmup_stable_decay", {"warmup_steps": 50, "args": {"decay_steps": 60}}, "lr_scheduler_args"),
        ("torch.optim.lr_scheduler.NoSuchLR", {}, "lr_scheduler"),
    ],
)
def test_bad_values_raise_config_error(name, kwargs, field):
    with pytest.raises(ConfigError) as err:
        build_scheduler(name, opt(), 100, **kwargs)
    assert err.value.field == field
    assert err.value.fix


def test_zero_total_steps_rejected():
    with pytest.raises(ConfigError):
        lr_curve("cosine", 0)


def test_schedule_free_optimizers_need_a_constant_schedule():
    from lorakit.train.optimizers import build_optimizer

    optimizer = build_optimizer("AdamWScheduleFree", [torch.nn.Parameter(torch.zeros(2))], 1e-3)
    assert build_scheduler("constant_with_warmup", optimizer, 100, warmup_steps=10).get_last_lr() == [0.0]
    with pytest.raises(ConfigError, match="constant"):
        build_scheduler("cosine", optimizer, 100)


def test_every_schedule_and_sampler_the_config_accepts_is_known():
    import typing

    from lorakit.config.sections import runtime, training
    from lorakit.train.samplers import SAMPLERS, canonical_sampler

    for name in typing.get_args(training.Scheduler):
        # constant refuses a warmup; adafactor and piecewise_constant (as diffusers') have none.
        warmup = 0 if name in ("constant", "adafactor", "piecewise_constant") else 10
        curve = lr_curve(name, 100, warmup)
        # The curve the UI draws is the one training follows, at every step, and stays within [0, 1].
        trained = lrs(build_scheduler(name, opt(), 100, warmup_steps=warmup), 100)
        drawn = [BASE * curve(step) for step in range(100)]
        assert trained == pytest.approx(drawn, abs=1e-12), name
        assert all(0.0 <= curve(step) <= 1.0 for step in range(101)), name
        assert curve(0) == (0.0 if warmup else 1.0), name  # warmups start from zero
    for name in typing.get_args(runtime.Sampler):
        assert canonical_sampler(name) in SAMPLERS, name
