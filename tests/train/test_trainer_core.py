"""Trainer-core defects of issue #11: exact gradient accumulation, determinism across fresh workspaces,
clip skip with the final layer norm, the optimizer's own weight decay, save precision, max-norm, resume."""

from __future__ import annotations

import dataclasses
import zlib
from types import SimpleNamespace

import pytest
import torch

from lorakit.lora.kohya import load_lora_file


def _train(cfg, monkeypatch=None, batches=None, grads=None):
    """Train ``cfg``; ``batches`` fixes each epoch's batches, ``grads`` collects the gradients of every update."""
    from lorakit.train import run as run_module

    with pytest.MonkeyPatch.context() as patch:
        return _patched_train(run_module, cfg, patch, batches, grads)


def _patched_train(run_module, cfg, monkeypatch, batches, grads):
    if batches is not None:
        monkeypatch.setattr(run_module.Run, "batches_for", lambda self, epoch: [list(b) for b in batches])
    if grads is not None:
        original = run_module.Run.setup

        def setup(run):
            original(run)
            step = run.optimizer.step

            def record(*args, **kwargs):
                grads.append([p.grad.detach().clone() for p in run.network.parameters()])
                return step(*args, **kwargs)

            run.optimizer.step = record

        monkeypatch.setattr(run_module.Run, "setup", setup)
    return run_module.train(cfg)


def _per_sample_noise(monkeypatch):
    """Make each image's noise depend on the image only (not on how images are grouped into batches), so
    a batch of 2 and two accumulated batches of 1 see exactly the same noise and timesteps."""
    from lorakit.train import step as step_module
    from lorakit.train import trainer as trainer_module

    real = step_module.training_step

    def one(batch, i):
        def cut(value):
            if isinstance(value, list):
                return [value[i]]
            if isinstance(value, torch.Tensor):
                return value[i : i + 1]
            if isinstance(value, dict):
                return {k: (v[i : i + 1] if isinstance(v, torch.Tensor) else v) for k, v in value.items()}
            return value

        return dataclasses.replace(batch, **{f.name: cut(getattr(batch, f.name)) for f in dataclasses.fields(batch)})

    def per_sample(family, batch, opts, generator, backward):
        n = len(batch.captions)
        total = 0.0
        for i in range(n):
            g = torch.Generator().manual_seed(zlib.crc32(batch.captions[i].encode()))
            total += float(real(family, one(batch, i), opts, g, lambda loss: backward(loss / n)))
        return torch.tensor(total / n)

    monkeypatch.setattr(trainer_module, "training_step", per_sample)


def test_batch_2_equals_batch_1_with_accumulation_2(tiny_config, monkeypatch):
    _per_sample_noise(monkeypatch)
    common = {"schedule__max_train_epochs": None, "schedule__max_train_steps": 2, "output__save_precision": "float"}
    grads_a: list = []
    a = _train(
        tiny_config(**common, schedule__train_batch_size=2, output__output_name="a"),
        monkeypatch,
        batches=[[0, 1], [2, 3]],
        grads=grads_a,
    )
    grads_b: list = []
    b = _train(
        tiny_config(**common, schedule__train_batch_size=1, schedule__gradient_accumulation_steps=2),
        monkeypatch,
        batches=[[0], [1], [2], [3]],
        grads=grads_b,
    )
    assert len(grads_a) == len(grads_b) == 2
    for step_a, step_b in zip(grads_a, grads_b, strict=True):
        for x, y in zip(step_a, step_b, strict=True):
            torch.testing.assert_close(y, x, rtol=1e-5, atol=1e-9)
    assert any(float(g.abs().max()) > 0 for g in grads_a[0])  # the comparison is not between zeros
    wa, wb = load_lora_file(a["lora"]).tensors, load_lora_file(b["lora"]).tensors
    for key in wa:
        torch.testing.assert_close(wb[key], wa[key], rtol=1e-5, atol=1e-7)


def test_two_fresh_workspaces_train_the_same_lora(tiny_config, tmp_path, monkeypatch):
    from lorakit.train.run import train

    loras = []
    for name in ("ws1", "ws2", "ws1"):  # the third finds the tiny model already built in ws1
        monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / name))
        cfg = tiny_config(model__pretrained_model_name_or_path="tiny:sd1", output__output_dir=str(tmp_path / name))
        loras.append(load_lora_file(train(cfg)["lora"]).tensors)
    for other in loras[1:]:
        assert other.keys() == loras[0].keys()
        for key, value in loras[0].items():
            torch.testing.assert_close(other[key], value, rtol=0, atol=0)


def test_building_the_tiny_model_leaves_the_global_rng_alone(tmp_path):
    from lorakit.models.tiny import build_tiny_model

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model("sd1", tmp_path / "tiny")
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)


@pytest.mark.parametrize("clip_skip", [1, 2, 3])
def test_clip_skip_is_hidden_state_minus_n_then_the_final_layer_norm(tiny_sd1, clip_skip):
    from transformers import CLIPTextModel

    from lorakit.models.loading import load_model

    family = load_model(tiny_sd1, family="sd1", dtype=torch.float32, device=torch.device("cpu"))
    captions = ["kitbot, robot cat, red background", "a cat"]
    ids = family.tokenize(family.components.tokenizers[0], captions, 75)  # (batch, chunks, 77)
    got = family.encode_prompts(captions, clip_skip=clip_skip)["encoder_hidden_states"]
    # Independently, with transformers only (A1111/sd-scripts): N = 1 is last_hidden_state, else
    # final_layer_norm(hidden_states[-N]).
    encoder = CLIPTextModel.from_pretrained(tiny_sd1 / "text_encoder").eval()
    with torch.no_grad():
        out = encoder(ids[:, 0], output_hidden_states=True)
        want = (
            out.last_hidden_state
            if clip_skip == 1
            else getattr(encoder, "text_model", encoder).final_layer_norm(out.hidden_states[-clip_skip])
        )
    torch.testing.assert_close(got.detach(), want, rtol=1e-5, atol=1e-5)


def test_unset_weight_decay_is_the_optimizers_default():
    from lorakit.train.optimizers import build_optimizer

    param = torch.nn.Parameter(torch.zeros(2))
    assert build_optimizer("AdamW", [param], 1e-3).param_groups[0]["weight_decay"] == pytest.approx(0.01)
    assert build_optimizer("AdamW", [param], 1e-3, weight_decay=0.0).param_groups[0]["weight_decay"] == 0.0


def test_unset_weight_decay_reaches_the_run_as_the_default(tiny_config):
    from lorakit.train import setup as su

    cfg = tiny_config()
    assert cfg.optimizer.weight_decay is None and cfg.optimizer.optimizer_type == "AdamW"
    _, network = su.build_model_and_network(cfg, torch.device("cpu"))
    optimizer, _ = su.build_optimizer_and_schedule(cfg, network, total_steps=10, warmup_steps=0)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [pytest.approx(0.01)] * len(optimizer.param_groups)


def test_empty_save_precision_is_the_training_precision(tiny_config):
    from lorakit.train.outputs import save_precision
    from lorakit.train.run import train

    cfg = tiny_config(output__save_precision=None)
    assert save_precision(cfg, SimpleNamespace(mixed_precision="bf16")) == "bf16"
    assert save_precision(cfg, SimpleNamespace(mixed_precision="fp16")) == "fp16"
    assert save_precision(cfg, SimpleNamespace(mixed_precision="no")) == "float"
    assert save_precision(tiny_config(output__save_precision="fp16"), SimpleNamespace(mixed_precision="no")) == "fp16"
    tensors = load_lora_file(train(cfg)["lora"]).tensors  # on this CPU run: trained in float32
    assert {t.dtype for t in tensors.values()} == {torch.float32}


def _sd_scripts_max_norm(state: dict[str, torch.Tensor], max_norm_value: float):
    """sd-scripts' networks/lora.py apply_max_norm_regularization, on a kohya state dict (the reference)."""
    state = {k: v.clone() for k, v in state.items()}
    keys_scaled, norms = 0, []
    for down_key in [k for k in state if "lora_down" in k and "weight" in k]:
        up_key, alpha_key = down_key.replace("lora_down", "lora_up"), down_key.replace("lora_down.weight", "alpha")
        down, up, alpha = state[down_key], state[up_key], state[alpha_key]
        scale = alpha / down.shape[0]
        if up.shape[2:] == (1, 1) and down.shape[2:] == (1, 1):
            updown = (up.squeeze(2).squeeze(2) @ down.squeeze(2).squeeze(2)).unsqueeze(2).unsqueeze(3)
        elif up.shape[2:] == (3, 3) or down.shape[2:] == (3, 3):
            updown = torch.nn.functional.conv2d(down.permute(1, 0, 2, 3), up).permute(1, 0, 2, 3)
        else:
            updown = up @ down
        updown *= scale
        norm = updown.norm().clamp(min=max_norm_value / 2)
        desired = torch.clamp(norm, max=max_norm_value)
        ratio = desired / norm
        if ratio != 1:
            keys_scaled += 1
            state[up_key] *= ratio**0.5
            state[down_key] *= ratio**0.5
        norms.append(float(updown.norm() * ratio))
    return state, keys_scaled, sum(norms) / len(norms), max(norms)


def test_max_norm_matches_sd_scripts(tiny_config):
    from lorakit.train import setup as su
    from lorakit.train.max_norm import apply_max_norm

    cfg = tiny_config(network__conv_dim=2, network__conv_alpha=1)  # linear, 1x1 and 3x3 convolution modules
    _, network = su.build_model_and_network(cfg, torch.device("cpu"))
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in network.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
    before = network.kohya_state_dict(torch.float32)
    assert any(v.dim() == 4 and v.shape[2:] == (3, 3) for v in before.values())
    want, keys, mean, top = _sd_scripts_max_norm(before, 0.5)
    report = apply_max_norm(network, 0.5)
    assert 0 < report.keys_scaled == keys
    assert report.mean_norm == pytest.approx(mean, rel=1e-5) and report.max_norm == pytest.approx(top, rel=1e-5)
    after = network.kohya_state_dict(torch.float32)
    for key, value in want.items():
        torch.testing.assert_close(after[key], value, rtol=1e-5, atol=1e-6)


def test_scale_weight_norms_is_reported_with_each_step(tiny_config):
    from lorakit import events as ev
    from lorakit.train.run import train

    seen: list = []
    train(tiny_config(network__scale_weight_norms=1e-3), emitter=ev.Emitter(callbacks=[seen.append]))
    steps = [e.data for e in seen if e.type == "step"]
    assert steps and all(s["keys_scaled"] > 0 and s["max_key_norm"] <= 1e-3 + 1e-9 for s in steps)


def test_save_state_keeps_the_final_state_and_resume_continues_from_it(tiny_config, tmp_path):
    from lorakit import events as ev
    from lorakit.train.run import train

    steps = {"schedule__max_train_epochs": None}
    first = train(tiny_config(**steps, schedule__max_train_steps=2, output__save_state=True))
    assert (tmp_path / "out" / "tiny" / "state" / "latest.json").exists()
    plain = train(tiny_config(**steps, schedule__max_train_steps=2, output__output_name="plain"))
    assert not (tmp_path / "out" / "plain" / "state").exists()  # no checkpoint, no save_state: no state
    seen: list = []
    cfg = tiny_config(**steps, schedule__max_train_steps=4, output__resume=first["run_dir"], output__output_name="b")
    second = train(cfg, emitter=ev.Emitter(callbacks=[seen.append]))
    assert [e.data["step"] for e in seen if e.type == "step"] == [3, 4]  # continued after the 2 saved steps
    assert second["steps"] == 4 and plain["steps"] == 2


def test_lorakit_train_launches_the_configured_number_of_processes(tiny_config, tmp_path, monkeypatch):
    from lorakit.cli import train as cli_train
    from lorakit.config.io import save_config

    launched = []
    monkeypatch.setattr(cli_train, "_launch", lambda gpus, *args: launched.append(gpus))
    path = save_config(tiny_config(multigpu__num_processes=3), tmp_path / "three.toml")
    cli_train.train(config=path, resume=None, output=None, gpus=None)
    assert launched == [3]
