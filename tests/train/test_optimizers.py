"""Each optimizer builds and takes a step; arguments, LoRA+ groups and schedule-free modes."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from lorakit.errors import ConfigError, LorakitError
from lorakit.train.optimizers import (
    build_optimizer,
    is_schedule_free,
    loraplus_groups,
    optimizer_mode,
    parse_optimizer_args,
)

HAS_BNB_GPU = importlib.util.find_spec("bitsandbytes") is not None and torch.cuda.is_available()


class TinyLora(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lora_down = torch.nn.Linear(8, 2, bias=False)
        self.lora_up = torch.nn.Linear(2, 8, bias=False)
        torch.nn.init.normal_(self.lora_up.weight, std=0.1)  # non-zero so both matrices get gradients

    def forward(self, x):
        return self.lora_up(self.lora_down(x))


def one_step(optimizer, model, steps: int = 1) -> float:
    """The largest weight change after ``steps`` optimizer steps (in eval form for schedule-free ones)."""
    x = torch.randn(16, 8, generator=torch.Generator().manual_seed(1))
    before = [p.detach().clone() for p in model.parameters()]
    optimizer_mode(optimizer, training=True)
    for _ in range(steps):
        loss = (model(x) - x).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    optimizer_mode(optimizer, training=False)
    return max((p - b).abs().max().item() for p, b in zip(model.parameters(), before, strict=True))


# name, lr, extra args, the class it must be (module.Class, written out here, not read from the registry),
# and group settings the fixed arguments or the extra args must have set.
CPU_CASES = [
    ("AdamW", 1e-3, None, "torch.optim.AdamW", {}),
    ("adamw", 1e-3, ["weight_decay=0.01"], "torch.optim.AdamW", {"weight_decay": 0.01}),
    ("Lion", 1e-4, None, "pytorch_optimizer.Lion", {}),
    ("SGDNesterov", 1e-2, None, "torch.optim.SGD", {"nesterov": True, "momentum": 0.9}),
    ("Prodigy", 1.0, "d_coef=2 decouple=True", "prodigyopt.Prodigy", {"d_coef": 2, "decouple": True}),
    ("DAdaptAdam", 1.0, None, "pytorch_optimizer.DAdaptAdam", {}),
    ("DAdaptLion", 1.0, None, "pytorch_optimizer.DAdaptLion", {}),
    ("DAdaptAdaGrad", 1.0, None, "pytorch_optimizer.DAdaptAdaGrad", {}),
    ("DAdaptAdan", 1.0, None, "pytorch_optimizer.DAdaptAdan", {}),
    ("DAdaptSGD", 1.0, None, "pytorch_optimizer.DAdaptSGD", {}),
    ("dadaptation", 1.0, None, "pytorch_optimizer.DAdaptAdam", {}),
    (
        "Adafactor",
        1e-3,
        None,
        "transformers.optimization.Adafactor",
        {"relative_step": False, "scale_parameter": False, "warmup_init": False},
    ),
    (
        "Adafactor",
        1e-3,
        ["relative_step=True", "scale_parameter=True", "warmup_init=True"],
        "transformers.optimization.Adafactor",
        {"lr": None, "relative_step": True, "scale_parameter": True, "warmup_init": True},
    ),
    ("CAME", 1e-4, None, "pytorch_optimizer.CAME", {}),
    ("AdamWScheduleFree", 1e-3, None, "pytorch_optimizer.ScheduleFreeAdamW", {}),
    ("RAdamScheduleFree", 1e-3, None, "pytorch_optimizer.ScheduleFreeRAdam", {}),
    ("SGDScheduleFree", 1e-2, None, "pytorch_optimizer.ScheduleFreeSGD", {}),
    ("torch.optim.RMSprop", 1e-3, {"alpha": 0.9}, "torch.optim.RMSprop", {"alpha": 0.9}),
]


def _class(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("name", "lr", "args", "cls", "settings"), CPU_CASES)
def test_optimizer_builds_and_steps(name, lr, args, cls, settings):
    model = TinyLora()
    optimizer = build_optimizer(name, model.parameters(), lr, weight_decay=0.02, args=args)
    assert type(optimizer) is _class(cls)
    group = optimizer.param_groups[0]
    # lr and weight_decay as given, unless the extra args (which win) set them
    expected = {"lr": lr, "weight_decay": 0.02, **settings}
    assert {key: group[key] for key in expected} == expected
    # RAdam's rectification makes no update for its first steps; 6 steps move every optimizer.
    assert one_step(optimizer, model, steps=6) > 0


# name, the betas it takes (Adafactor: only beta1), an eps of its shape
BETAS_EPS_CASES = [
    ("AdamW", (0.8, 0.95), 1e-6),
    ("Lion", (0.85, 0.97), None),
    ("Prodigy", (0.8, 0.95), 1e-6),
    ("DAdaptAdam", (0.8, 0.95), 1e-6),
    ("DAdaptAdan", (0.9, 0.9, 0.95), 1e-6),
    ("CAME", (0.8, 0.95, 0.999), None),
    ("AdamWScheduleFree", (0.8, 0.95), 1e-6),
    ("RAdamScheduleFree", (0.8, 0.95), 1e-6),
]


@pytest.mark.parametrize(("name", "betas", "eps"), BETAS_EPS_CASES)
def test_betas_and_eps_reach_the_optimizer(name, betas, eps):
    optimizer = build_optimizer(name, TinyLora().parameters(), 1e-3, weight_decay=0.05, betas=betas, eps=eps)
    group = optimizer.param_groups[0]
    assert tuple(group["betas"]) == betas and group["weight_decay"] == 0.05 and group["lr"] == 1e-3
    if eps is not None:
        assert group["eps"] == eps


def test_adafactor_takes_the_first_beta_and_its_eps_pair():
    adafactor = build_optimizer("Adafactor", TinyLora().parameters(), 1e-3, betas=(0.7, 0.99), eps=(1e-29, 2e-3))
    group = adafactor.param_groups[0]
    assert group["beta1"] == 0.7 and tuple(group["eps"]) == (1e-29, 2e-3) and group["lr"] == 1e-3


def test_the_trainer_builds_the_configured_optimizer(tiny_config):
    """From a config through the trainer's setup: class, lr, betas, eps and weight decay as configured."""
    from types import SimpleNamespace

    from lorakit.train.setup import build_optimizer_and_schedule

    cfg = tiny_config(
        optimizer__optimizer_type="AdamW",
        optimizer__betas=[0.85, 0.98],
        optimizer__eps=1e-7,
        optimizer__weight_decay=0.03,
        learning__learning_rate=3e-4,
        learning__unet_lr=2e-4,
        learning__lr_scheduler="constant",
    )
    unet = TinyLora()
    # One group per block learning-rate weight: without down/mid/up_lr_weight every parameter weighs 1.0.
    network = SimpleNamespace(
        components={"unet": unet}, named_parameters_by_lr_weight=lambda _: {1.0: list(unet.named_parameters())}
    )
    optimizer, _ = build_optimizer_and_schedule(cfg, network, total_steps=10, warmup_steps=0)
    assert type(optimizer) is torch.optim.AdamW
    (group,) = optimizer.param_groups
    assert group["lr"] == 2e-4  # the UNet's own rate wins over learning_rate
    assert (group["betas"], group["eps"], group["weight_decay"]) == ((0.85, 0.98), 1e-7, 0.03)
    assert len(group["params"]) == 2


@pytest.mark.parametrize(
    "name",
    ["AdamW8bit", "PagedAdamW", "PagedAdamW8bit", "PagedAdamW32bit", "Lion8bit", "PagedLion8bit", "SGDNesterov8bit"],
)
def test_8bit_optimizers(name):
    if not HAS_BNB_GPU:
        # Without a CUDA GPU the 8-bit optimizers must refuse with a fix, not crash later.
        with pytest.raises(LorakitError) as err:
            build_optimizer(name, TinyLora().parameters(), 1e-3)
        assert "AdamW" in err.value.fix
        pytest.skip("bitsandbytes or a CUDA GPU is missing: only the refusal was checked")
    model = TinyLora().cuda()
    assert one_step(build_optimizer(name, model.parameters(), 1e-3), model) > 0


def test_fixed_arguments_and_overrides_reach_the_optimizer():
    sgd = build_optimizer("SGDNesterov", TinyLora().parameters(), 0.1, args="momentum=0.8")
    assert sgd.param_groups[0]["nesterov"] is True and sgd.param_groups[0]["momentum"] == 0.8
    adamw = build_optimizer("AdamW", TinyLora().parameters(), 1e-3, weight_decay=0.1, betas=(0.8, 0.9), eps=1e-6)
    group = adamw.param_groups[0]
    assert (group["weight_decay"], group["betas"], group["eps"]) == (0.1, (0.8, 0.9), 1e-6)
    ada = build_optimizer("Adafactor", TinyLora().parameters(), 2e-4)
    assert ada.param_groups[0]["lr"] == 2e-4 and ada.param_groups[0]["relative_step"] is False


def test_per_group_learning_rates_kept():
    model = TinyLora()
    groups = [
        {"params": list(model.lora_down.parameters()), "lr": 1e-4},
        {"params": list(model.lora_up.parameters()), "lr": 5e-4},
    ]
    optimizer = build_optimizer("AdamW", groups, 1e-3)
    assert [g["lr"] for g in optimizer.param_groups] == [1e-4, 5e-4]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {}),
        (["weight_decay=0.01", "betas=(0.9,0.99)"], {"weight_decay": 0.01, "betas": (0.9, 0.99)}),
        (
            "d_coef=2 decouple=True use_bias_correction=false",
            {"d_coef": 2, "decouple": True, "use_bias_correction": False},
        ),
        ("betas=(0.9, 0.99), eps=1e-8", {"betas": (0.9, 0.99), "eps": 1e-8}),
        ({"relative_step": "False", "lr": 0.5}, {"relative_step": False, "lr": 0.5}),
        (["mode=fast"], {"mode": "fast"}),
    ],
)
def test_parse_optimizer_args(raw, expected):
    assert parse_optimizer_args(raw) == expected


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("NoSuchOptimizer", {}),
        ("torch.optim.NoSuchThing", {}),
        ("no_such_package.Opt", {}),
        ("Lion", {"eps": 1e-8}),  # Lion has no eps
        ("AdamW", {"args": ["justaword"]}),
        ("AdamW", {"args": ["betas=(2.0,0.9)"]}),  # torch rejects beta1 >= 1
    ],
)
def test_bad_optimizer_settings_raise_config_error(name, kwargs):
    with pytest.raises(ConfigError) as err:
        build_optimizer(name, TinyLora().parameters(), 1e-3, **kwargs)
    assert err.value.fix


def test_loraplus_groups_split_up_matrices():
    model = TinyLora()
    groups = loraplus_groups(model.named_parameters(), 1e-4, loraplus_lr_ratio=16, name="unet")
    assert [(g["name"], g["lr"]) for g in groups] == [("unet", 1e-4), ("unet_plus", 16e-4)]
    assert groups[0]["params"][0] is model.lora_down.weight
    assert groups[1]["params"][0] is model.lora_up.weight
    # peft naming
    named = [("a.lora_A.default.weight", model.lora_down.weight), ("a.lora_B.default.weight", model.lora_up.weight)]
    assert [len(g["params"]) for g in loraplus_groups(named, 1e-4, 4)] == [1, 1]
    # no ratio: one group; frozen parameters are left out
    model.lora_down.weight.requires_grad_(False)
    only = loraplus_groups(model.named_parameters(), 1e-4)
    assert len(only) == 1 and only[0]["params"] == [model.lora_up.weight]
    with pytest.raises(ConfigError):
        loraplus_groups(TinyLora().named_parameters(), 1e-4, -1)


def test_loraplus_groups_step_with_their_rates():
    model = TinyLora()
    optimizer = build_optimizer("SGDNesterov", loraplus_groups(model.named_parameters(), 1e-2, 10), 1e-2)
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([1e-2, 1e-1])
    assert one_step(optimizer, model) > 0


def test_schedule_free_mode_switches_weights():
    model = TinyLora()
    optimizer = build_optimizer("AdamWScheduleFree", model.parameters(), 1e-2)
    assert is_schedule_free(optimizer)
    assert not is_schedule_free(build_optimizer("AdamW", TinyLora().parameters(), 1e-3))
    for _ in range(3):
        one_step(optimizer, model)  # leaves the optimizer in eval mode
    eval_weights = model.lora_up.weight.detach().clone()
    optimizer_mode(optimizer, training=True)
    train_weights = model.lora_up.weight.detach().clone()
    # The averaged (eval) weights differ from the gradient (train) weights; switching back restores them.
    assert (eval_weights - train_weights).abs().max() > 1e-4
    optimizer_mode(optimizer, training=False)
    # Back and forth is an interpolation and its inverse in fp32: equal up to rounding, far below the gap above.
    torch.testing.assert_close(model.lora_up.weight.detach(), eval_weights, rtol=1e-5, atol=1e-6)


def test_every_listed_optimizer_is_known():
    from lorakit.train.optimizers import _REGISTRY, OPTIMIZERS

    assert {name.lower() for name in OPTIMIZERS} <= set(_REGISTRY)


def test_every_optimizer_the_config_accepts_can_be_built():
    # The contract with the config schema: a name it validates must never fail here as "unknown".
    from lorakit.config.sections import training
    from lorakit.train.optimizers import _REGISTRY

    assert {name.lower() for name in training.OPTIMIZERS} <= set(_REGISTRY)
