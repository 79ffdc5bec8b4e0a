"""memory.fused_backward_pass: Adafactor steps each parameter inside backward (lorakit.train.fused_backward).

Correctness: the fused step gives the weights of the plain (unfused) Adafactor step, within float tolerance,
on a small module and on the tiny SD model; gradients are freed as soon as each parameter is updated; the
optimizer state is Adafactor's own (a saved state resumes either way); what it cannot do is refused.
"""

from __future__ import annotations

import copy

import pytest
import torch

from lorakit.config.schema import TrainConfig
from lorakit.train.fused_backward import FusedBackward

from .effect_probe import Probes

transformers_optimization = pytest.importorskip("transformers.optimization")
Adafactor = transformers_optimization.Adafactor


def _model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    # 2-D weights (factored second moment) and 1-D biases (full second moment): both code paths.
    return torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))


def _adafactor(model, **kwargs) -> Adafactor:
    options = {"lr": 1e-2, "relative_step": False, "scale_parameter": False, "warmup_init": False}
    return Adafactor(model.parameters(), **{**options, **kwargs})


def _batches(n: int = 4):
    g = torch.Generator().manual_seed(1)
    return [(torch.randn(8, 6, generator=g), torch.randn(8, 3, generator=g)) for _ in range(n)]


def _loss(model, x, y):
    return torch.nn.functional.mse_loss(model(x), y)


def _plain(kwargs, max_grad_norm=0.0, per_parameter=True, steps=4):
    model = _model()
    opt = _adafactor(model, **kwargs)
    for x, y in _batches(steps):
        _loss(model, x, y).backward()
        if max_grad_norm and per_parameter:  # what sd-scripts' fused pass does: each parameter on its own
            for p in model.parameters():
                torch.nn.utils.clip_grad_norm_(p, max_grad_norm)
        elif max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        opt.zero_grad(set_to_none=True)
    return model, opt


def _fused(kwargs, max_grad_norm=0.0, steps=4):
    model = _model()
    opt = _adafactor(model, **kwargs)
    fused = FusedBackward(opt, max_grad_norm)
    for x, y in _batches(steps):
        _loss(model, x, y).backward()
        assert all(p.grad is None for p in model.parameters())  # freed as soon as each was stepped
    fused.remove()
    return model, opt, fused


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"beta1": 0.9}, {"weight_decay": 0.1}, {"relative_step": True, "lr": None, "scale_parameter": True}],
    ids=["plain", "beta1", "weight_decay", "relative_step"],
)
def test_fused_steps_give_the_weights_of_the_unfused_steps(kwargs):
    plain, _ = _plain(kwargs)
    fused, _, hooks = _fused(kwargs)
    assert hooks.param_steps == 4 * len(list(fused.parameters()))
    start = _model()
    for a, b, s in zip(plain.parameters(), fused.parameters(), start.parameters(), strict=True):
        assert not torch.equal(a, s)  # the steps moved the weights
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7)


def test_at_most_one_gradient_exists_at_a_time_during_a_fused_backward():
    model = _model()
    params = list(model.parameters())
    alive = []
    for p in params:  # registered first, so it runs just before the fused step of the same parameter
        p.register_post_accumulate_grad_hook(lambda _: alive.append(sum(q.grad is not None for q in params)))
    FusedBackward(_adafactor(model))
    x, y = _batches(1)[0]
    _loss(model, x, y).backward()
    assert alive == [1] * len(params)  # unfused, all of them would be held until the optimizer step


def test_gradient_clipping_is_per_parameter_as_in_sd_scripts():
    # A threshold small enough that every parameter's gradient is clipped.
    plain, _ = _plain({}, max_grad_norm=1e-3, per_parameter=True)
    whole, _ = _plain({}, max_grad_norm=1e-3, per_parameter=False)
    fused, _, _ = _fused({}, max_grad_norm=1e-3)
    for a, b in zip(plain.parameters(), fused.parameters(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7)
    # ...which is not the same as clipping the norm of all gradients together (the unfused trainer's way).
    assert any(not torch.allclose(a, b) for a, b in zip(whole.parameters(), fused.parameters(), strict=True))


def test_the_state_is_adafactors_so_a_saved_state_resumes_either_way():
    fused, opt, _ = _fused({"beta1": 0.9}, steps=2)
    saved = opt.state_dict()
    assert sorted(saved["state"][0]) == ["RMS", "exp_avg", "exp_avg_sq_col", "exp_avg_sq_row", "step"]
    assert saved["state"][0]["step"] == 2
    later = _batches(4)[2:]
    results = []
    for use_fused in (False, True):
        model = _model()
        model.load_state_dict(fused.state_dict())
        resumed = _adafactor(model, beta1=0.9)
        hooks = FusedBackward(resumed) if use_fused else None  # before the load, as a hook may be
        resumed.load_state_dict(copy.deepcopy(saved))  # (the optimizer updates loaded tensors in place)
        for x, y in later:
            _loss(model, x, y).backward()
            if hooks is None:
                resumed.step()
                resumed.zero_grad(set_to_none=True)
        results.append(model)
    reference, _ = _plain({"beta1": 0.9}, steps=4)  # four uninterrupted steps
    for a, b, c in zip(reference.parameters(), *(m.parameters() for m in results), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(c, a, rtol=1e-5, atol=1e-7)


def test_hooks_refuse_another_optimizer_and_come_off():
    from lorakit.errors import TrainingError

    model = _model()
    with pytest.raises(TrainingError, match="Adafactor"):
        FusedBackward(torch.optim.AdamW(model.parameters()))
    opt = _adafactor(model)
    hooks = FusedBackward(opt)
    hooks.remove()
    x, y = _batches(1)[0]
    _loss(model, x, y).backward()
    assert all(p.grad is not None for p in model.parameters()) and hooks.param_steps == 0


# -- refusals, before any model loads ------------------------------------------------------------------
def _cfg(**changes) -> TrainConfig:
    cfg = TrainConfig()
    cfg.memory.fused_backward_pass = True
    cfg.optimizer.optimizer_type = "Adafactor"
    for path, value in changes.items():
        section, name = path.split("__")
        setattr(getattr(cfg, section), name, value)
    return cfg


def _problems(cfg) -> list[str]:
    from lorakit.config.refused import trainer_refusals
    from lorakit.config.validate import validate

    report = validate(cfg, check_files=False)
    trainer_refusals(cfg, report)
    return [f"{p.field}: {p.problem} {p.fix}" for p in report.problems if p.field == "memory.fused_backward_pass"]


def test_adafactor_with_one_process_and_no_accumulation_is_accepted():
    assert _problems(_cfg()) == []
    assert _problems(_cfg(optimizer__optimizer_type="adafactor")) == []


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"optimizer__optimizer_type": "AdamW"}, ["Adafactor", "AdamW"]),
        ({"schedule__gradient_accumulation_steps": 2}, ["gradient_accumulation_steps = 1"]),
        ({"multigpu__num_processes": 2}, ["one process", "num_processes = 1"]),
        ({"memory__mixed_precision": "fp16"}, ["fp16", "bf16"]),
    ],
    ids=["optimizer", "accumulation", "processes", "fp16"],
)
def test_what_the_fused_pass_cannot_do_is_refused(changes, words):
    found = _problems(_cfg(**changes))
    assert len(found) == 1, found
    for word in words:
        assert word in found[0]


def test_training_refuses_before_the_model_loads(tiny_config, tmp_path, monkeypatch):
    from lorakit.errors import ConfigError
    from lorakit.train import setup as su
    from lorakit.train.run import train

    def never(*args, **kwargs):
        raise AssertionError("the model was loaded before the refusal")

    monkeypatch.setattr(su, "build_model_and_network", never)
    cfg = tiny_config(
        memory__fused_backward_pass=True,
        optimizer__optimizer_type="Adafactor",
        schedule__gradient_accumulation_steps=2,
    )
    with pytest.raises(ConfigError, match="fused_backward_pass"):
        train(cfg, tmp_path / "run")


# -- the tiny model, end to end -------------------------------------------------------------------------
ADAFACTOR = {
    "optimizer.optimizer_type": "Adafactor",
    "optimizer.max_grad_norm": 0.0,  # clipping differs by design (per parameter); compared above
    "schedule.max_train_steps": 3,
}


def test_fused_training_gives_the_weights_of_unfused_training(tmp_path, tiny_sd1, tiny_sdxl):
    probes = Probes(tmp_path, tiny_sd1, tiny_sdxl)
    plain = probes.probe(ADAFACTOR)
    fused = probes.probe({**ADAFACTOR, "memory.fused_backward_pass": True})
    hooks = fused.run.fused_backward
    trained = [p for g in fused.run.optimizer.param_groups for p in g["params"] if p.requires_grad]
    assert hooks.param_steps == 3 * len(trained)  # every parameter, every step, inside backward
    assert all(p.grad is None for p in trained)
    assert getattr(plain.run, "fused_backward", None) is None
    assert plain.tensors.keys() == fused.tensors.keys()
    moved = 0
    for name, a in plain.tensors.items():
        torch.testing.assert_close(fused.tensors[name].float(), a.float(), rtol=1e-4, atol=1e-6)
        moved += "lora_up" in name and bool(a.abs().max() > 0)  # lora_up starts at zero: it trained
    assert moved
    assert plain.lrs() == fused.lrs()  # the schedule is stepped per optimizer step either way


def test_a_fused_run_stopped_and_resumed_ends_with_the_unfused_runs_weights(tmp_path, tiny_config):
    from lorakit.events import Commands, Emitter
    from lorakit.lora.kohya import load_lora_file
    from lorakit.train.run import resume, train

    settings = {"optimizer__optimizer_type": "Adafactor", "optimizer__max_grad_norm": 0.0}
    commands = Commands()

    def stop_at_two(event):
        if event.type == "step" and event.data["step"] == 2:
            commands.request("stop")

    cfg = tiny_config(memory__fused_backward_pass=True, **settings)
    stopped = train(cfg, tmp_path / "fused", Emitter(callbacks=[stop_at_two]), commands)
    assert stopped["stopped"] and stopped["steps"] == 2
    fused = resume(tmp_path / "fused")  # continues with Adafactor's saved state, fused again
    plain = train(tiny_config(**settings), tmp_path / "plain")
    assert fused["steps"] == plain["steps"] > 2
    a, b = load_lora_file(plain["lora"]).tensors, load_lora_file(fused["lora"]).tensors
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(b[name].float(), a[name].float(), rtol=1e-4, atol=1e-6)
