"""Mixed precision and the speed paths that a CPU can run (their GPU counterparts: test_gpu_paths.py).

Each path trains the tiny SD1 model for a few steps and is compared with the plain fp32 run: the same LoRA
within the tolerance of its number format (different code paths never compare exactly).
"""

from __future__ import annotations

import pytest
import torch

from lorakit.errors import ConfigError
from lorakit.train import run as run_module
from lorakit.train.precision import FP8, LossScaler, input_dtype, precision_for, store_fp8

STEPS = {
    "schedule.max_train_epochs": None,
    "schedule.max_train_steps": 3,
    "schedule.seed": 42,
    "memory.cache_latents": False,
}


def _train(tiny_config, monkeypatch, **settings):
    """Train with ``settings``; returns (the Run, the LoRA's tensors as fp32)."""
    from lorakit.lora.kohya import load_lora_file

    captured = {}
    original = run_module.Run.setup

    def setup(run):
        captured["run"] = run
        return original(run)

    monkeypatch.setattr(run_module.Run, "setup", setup)
    # tiny_config's images are fp32_lora's (make_dataset is deterministic).
    cfg = tiny_config(**{k.replace(".", "__"): v for k, v in {**STEPS, **settings}.items()})
    result = run_module.train(cfg)
    tensors = {k: v.float() for k, v in load_lora_file(result["lora"]).tensors.items()}
    return captured["run"], tensors


def _max_relative(a: dict, b: dict) -> float:
    """The largest difference between two LoRAs, relative to the largest weight."""
    scale = max(float(t.abs().max()) for t in a.values())
    return max(float((a[k] - b[k]).abs().max()) for k in a) / scale


def reference_lora(root, tiny_sd1) -> dict:
    """The plain fp32 run's LoRA, on tiny_config's images (make_dataset is deterministic)."""
    from lorakit.config.presets import new_config
    from lorakit.lora.kohya import load_lora_file

    from .conftest import make_dataset

    values = {
        "model.pretrained_model_name_or_path": str(tiny_sd1),
        "dataset.train_data_dir": str(make_dataset(root / "data")),
        "output.output_dir": str(root / "out"),
        "output.output_name": "tiny",
        **STEPS,
    }
    result = run_module.train(new_config("tiny-demo", values))
    return {k: v.float() for k, v in load_lora_file(result["lora"]).tensors.items()}


@pytest.fixture(scope="module")
def fp32_lora(tmp_path_factory, tiny_sd1):
    """The reference, trained once for the module."""
    return reference_lora(tmp_path_factory.mktemp("fp32"), tiny_sd1)


def test_bf16_autocast_on_cpu_trains_the_fp32_lora_within_bf16_rounding(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16"})
    unet = run.family.components.unet
    assert unet.conv_in.weight.dtype == torch.bfloat16  # frozen weights stored in bf16
    assert all(p.dtype == torch.float32 for p in run.network.parameters())  # the LoRA stays fp32
    assert run.precision.compute == torch.bfloat16 and not run.scaler.enabled
    differs = _max_relative(fp32_lora, lora)
    assert 0 < differs < 0.1, differs  # bf16 has 8 bits of mantissa: close, never equal


def test_full_bf16_keeps_the_lora_in_bf16(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16", "memory.full_bf16": True})
    assert all(p.dtype == torch.bfloat16 for p in run.network.parameters())
    inner = run.optimizer.optimizer
    assert inner.defaults["fused"] is True  # fp32 arithmetic for bf16 weights (see optimizers._fusable)
    assert _max_relative(fp32_lora, lora) < 0.15


def test_fp16_trains_with_loss_scaling_on_cpu(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "fp16"})
    assert run.scaler.enabled and run.scaler.scale_value is not None
    assert run.family.components.unet.conv_in.weight.dtype == torch.float16
    assert 0 < _max_relative(fp32_lora, lora) < 0.1


def test_full_fp16_trains_finite_weights(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "fp16", "memory.full_fp16": True})
    assert all(p.dtype == torch.float16 for p in run.network.parameters())
    assert all(torch.isfinite(t).all() for t in lora.values())  # torch's unfused AdamW gives NaN here (0/0)
    ups = [t for k, t in lora.items() if "lora_up" in k]
    assert any(bool(t.abs().max() > 0) for t in ups)  # it trained (the up weights start at zero)
    # Not close to fp32: Adam's moments are fp16 too, where squared LoRA gradients underflow (documented).


def test_no_half_vae_keeps_the_vae_in_fp32(tiny_config, monkeypatch):
    run, _ = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16", "memory.no_half_vae": True})
    assert {p.dtype for p in run.family.components.vae.parameters()} == {torch.float32}
    assert run.family.components.unet.conv_in.weight.dtype == torch.bfloat16


def test_samples_render_with_a_half_unet_and_an_fp32_vae(tiny_config, monkeypatch):
    # diffusers' SD1 pipeline hands the VAE the UNet's bf16 latents as they are (precision.vae_in_own_format).
    settings = {
        "memory.mixed_precision": "bf16",
        "memory.no_half_vae": True,
        "samples.sample_prompts": ["kitbot --w 64 --h 64 --s 2"],
        "samples.sample_at_first": True,
        "schedule.max_train_steps": 1,
    }
    run, _ = _train(tiny_config, monkeypatch, **settings)
    assert len(list((run.run_dir / "samples").glob("*.png"))) == 1
    assert "decode" not in vars(run.family.components.vae)  # the VAE's own decode again


def test_loss_scaler_skips_an_overflowed_step_and_lowers_the_scale():
    weight = torch.nn.Parameter(torch.ones(3, dtype=torch.float16))
    optimizer = torch.optim.SGD([weight], lr=0.1)
    scaler = LossScaler("cpu", enabled=True)
    start = scaler.scale_value
    scaler.scale((weight.float() * torch.tensor([1.0, 1.0, float("inf")])).sum()).backward()
    scaler.unscale(optimizer)  # fp16 gradients: torch's own GradScaler refuses to unscale them
    assert scaler.step(optimizer) is False
    assert torch.equal(weight.data, torch.ones(3, dtype=torch.float16))  # not stepped
    assert scaler.scale_value == start / 2
    optimizer.zero_grad()
    scaler.scale(weight.float().sum()).backward()
    scaler.unscale(optimizer)
    assert torch.allclose(weight.grad.float(), torch.ones(3))  # divided back to the true gradient
    assert scaler.step(optimizer) is True
    assert torch.allclose(weight.data.float(), torch.full((3,), 0.9), atol=1e-3)


def test_a_step_without_gradients_passes_the_loss_scaler():
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    scaler = LossScaler("cpu", enabled=True)
    scaler.unscale(optimizer)  # torch's GradScaler.step would assert: no inf checks recorded
    assert scaler.step(optimizer) is True and torch.equal(weight.data, torch.ones(2))


def test_a_disabled_loss_scaler_is_transparent():
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.SGD([weight], lr=0.5)
    scaler = LossScaler("cpu", enabled=False)
    loss = weight.sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    scaler.unscale(optimizer)
    assert scaler.step(optimizer) is True and scaler.state_dict() == {}
    assert torch.allclose(weight.data, torch.full((2,), 0.5))


def test_fp8_base_is_refused_on_a_cpu(tiny_config, monkeypatch):
    with pytest.raises(ConfigError, match="fp8 base weights need an NVIDIA GPU"):
        _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16", "memory.fp8_base": True})


def test_config_validation_reports_fp8_without_an_fp8_gpu():
    from lorakit.config.presets import new_config
    from lorakit.config.validate import check_machine
    from lorakit.train.precision import fp8_refusal

    if torch.cuda.is_available() and fp8_refusal(torch.device("cuda")) is None:
        pytest.skip("this machine has an fp8-capable GPU")
    cfg = new_config("tiny-demo", {"memory.mixed_precision": "bf16", "memory.fp8_base": True})
    problems = check_machine(cfg).problems
    assert [p.field for p in problems] == ["memory.fp8_base"]
    assert "fp8" in problems[0].problem and "Turn off memory.fp8_base" in problems[0].fix
    assert check_machine(new_config("tiny-demo", {"memory.mixed_precision": "bf16"})).problems == []


def test_fp8_base_needs_mixed_precision(tiny_config, monkeypatch):
    with pytest.raises(ConfigError, match="needs mixed precision"):
        _train(tiny_config, monkeypatch, **{"memory.fp8_base": True})


def test_fp8_weights_under_autocast_compute_close_to_bf16(tiny_sd1):
    """The fp8 mechanism itself (stored in fp8, cast up by autocast op by op) runs on a CPU too."""
    from lorakit.models.loading import load_model

    family = load_model(tiny_sd1, family="sd1", dtype=torch.bfloat16, device=torch.device("cpu"))
    unet = family.components.unet
    generator = torch.Generator().manual_seed(0)
    noisy = torch.randn(1, unet.config.in_channels, 8, 8, generator=generator)
    with torch.no_grad():
        cond = family.encode_prompts(["a robot cat"], 1, 75)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            before = family.predict(noisy, torch.tensor([500]), cond, torch.zeros(1, 6)).float()
        converted = store_fp8(unet)
        assert converted > 0 and unet.conv_in.weight.dtype == FP8
        assert input_dtype(unet) == torch.bfloat16  # inputs are never given in fp8
        with torch.autocast("cpu", dtype=torch.bfloat16):
            after = family.predict(noisy, torch.tensor([500]), cond, torch.zeros(1, 6)).float()
    assert not torch.equal(before, after)  # the weights really lost precision
    relative = float((before - after).norm() / before.norm())
    assert relative < 0.25, relative  # e4m3 keeps 3 mantissa bits: close, far from bit-equal


def test_channels_last_trains_the_same_lora(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.channels_last": True})
    conv = run.family.components.unet.conv_in.weight
    assert conv.is_contiguous(memory_format=torch.channels_last) and not conv.is_contiguous()
    assert _max_relative(fp32_lora, lora) < 1e-4


def test_gradient_checkpointing_trains_the_same_lora(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.gradient_checkpointing": True})
    assert run.family.components.unet.is_gradient_checkpointing
    assert _max_relative(fp32_lora, lora) < 1e-4


@pytest.mark.slow
def test_torch_compile_trains_the_same_lora(tiny_config, monkeypatch, fp32_lora):
    # aot_eager traces forward and backward through dynamo and AOTAutograd without a C++ build.
    monkeypatch.setenv("LORAKIT_COMPILE_BACKEND", "aot_eager")
    run, lora = _train(tiny_config, monkeypatch, **{"memory.torch_compile": True})
    assert getattr(run.family.components.unet, "_compiled_call_impl", None) is not None
    assert _max_relative(fp32_lora, lora) < 1e-4


@pytest.mark.parametrize("key", ["foreach", "fused"])
def test_foreach_and_fused_adamw_train_the_same_lora(tiny_config, monkeypatch, fp32_lora, key):
    run, lora = _train(tiny_config, monkeypatch, **{"optimizer.optimizer_args": {key: True}})
    assert run.optimizer.optimizer.defaults[key] is True
    assert _max_relative(fp32_lora, lora) < 1e-4


def test_fused_is_chosen_only_where_it_helps():
    from lorakit.train.optimizers import build_optimizer

    fp32 = [torch.nn.Parameter(torch.zeros(2))]
    half = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float16))]
    assert not build_optimizer("AdamW", fp32, 1e-3).defaults["fused"]  # CPU fp32: torch's default
    assert build_optimizer("AdamW", half, 1e-3).defaults["fused"] is True
    explicit = build_optimizer("AdamW", half, 1e-3, args=["foreach=True"]).defaults
    assert explicit["foreach"] is True and not explicit["fused"]  # the user's choice wins
    assert "fused" not in build_optimizer("SGDNesterov", half, 1e-3).defaults or not build_optimizer(
        "SGDNesterov", half, 1e-3
    ).defaults.get("fused")


def test_precision_table():
    from lorakit.config.presets import new_config

    p = precision_for(new_config("tiny-demo", {"memory.mixed_precision": "fp16", "memory.full_fp16": True}))
    assert (p.base, p.vae, p.lora, p.compute, p.scaled) == (
        torch.float16,
        torch.float16,
        torch.float16,
        torch.float16,
        True,
    )
    p = precision_for(new_config("tiny-demo", {"memory.mixed_precision": "bf16", "memory.no_half_vae": True}))
    assert (p.base, p.vae, p.lora, p.compute, p.scaled) == (
        torch.bfloat16,
        torch.float32,
        torch.float32,
        torch.bfloat16,
        False,
    )
    p = precision_for(new_config("tiny-demo", {}))
    assert (p.base, p.lora, p.compute) == (torch.float32, torch.float32, None)


def test_fp16_stop_and_resume_trains_the_uninterrupted_lora(tiny_config, tmp_path):
    """The loss scale is part of the resume state, and a resumed fp16 run ends where the uninterrupted one does."""
    import json

    from lorakit.events import Commands, Emitter
    from lorakit.lora.kohya import load_lora_file
    from lorakit.train.run import resume, train

    fp16 = {**STEPS, "schedule.max_train_steps": 4, "memory.mixed_precision": "fp16"}
    cfg = tiny_config(**{k.replace(".", "__"): v for k, v in fp16.items()})
    whole = train(cfg, tmp_path / "whole")
    commands = Commands()

    def stop_at_2(event):
        if event.type == "step" and event.data["step"] == 2:
            commands.request("stop")

    stopped = train(cfg, tmp_path / "stopped", Emitter(callbacks=[stop_at_2]), commands)
    assert stopped["stopped"] and stopped["steps"] == 2
    saved = [json.loads(p.read_text()) for p in (tmp_path / "stopped" / "state").rglob("*.json")]
    scales = [s["loss_scaler"]["scale"] for s in saved if isinstance(s, dict) and "loss_scaler" in s]
    assert scales == [65536.0]
    resumed = resume(tmp_path / "stopped")
    a, b = load_lora_file(whole["lora"]).tensors, load_lora_file(resumed["lora"]).tensors
    assert all(torch.allclose(a[k].float(), b[k].float(), rtol=1e-5, atol=1e-7) for k in a)
