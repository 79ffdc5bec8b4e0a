"""The precision and speed paths only a CUDA GPU runs (their CPU counterparts: test_precision.py).

Marked ``gpu`` and skipped with a reason where ``torch.cuda.is_available()`` is false. On a CUDA machine:
``pytest -m gpu tests/train/test_gpu_paths.py``.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch

from .test_precision import _max_relative, _train, reference_lora

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is false)"),
]


@pytest.fixture(scope="module")
def fp32_lora(tmp_path_factory, tiny_sd1):
    return reference_lora(tmp_path_factory.mktemp("fp32"), tiny_sd1)


def test_runs_on_the_gpu(tiny_config, monkeypatch):
    run, _ = _train(tiny_config, monkeypatch)
    assert run.family.components.unet.device.type == "cuda"


def test_fp16_with_grad_scaler(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "fp16"})
    assert run.scaler.enabled and run.scaler.scaler.is_enabled()
    assert run.family.components.unet.conv_in.weight.dtype == torch.float16
    assert 0 < _max_relative(fp32_lora, lora) < 0.1


def test_full_fp16_and_full_bf16(tiny_config, monkeypatch):
    for mixed, dtype in (("fp16", torch.float16), ("bf16", torch.bfloat16)):
        settings = {"memory.mixed_precision": mixed, f"memory.full_{mixed}": True}
        run, lora = _train(tiny_config, monkeypatch, **settings)
        assert all(p.dtype == dtype for p in run.network.parameters())
        assert all(torch.isfinite(t).all() for t in lora.values())


def test_bf16_channels_last_and_compiled(tiny_config, monkeypatch, fp32_lora):
    settings = {"memory.mixed_precision": "bf16", "memory.channels_last": True, "memory.torch_compile": True}
    run, lora = _train(tiny_config, monkeypatch, **settings)
    assert getattr(run.family.components.unet, "_compiled_call_impl", None) is not None
    assert 0 < _max_relative(fp32_lora, lora) < 0.1


def test_fused_adamw_is_the_default_on_cuda(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch)
    assert run.optimizer.optimizer.defaults["fused"] is True
    _, unfused = _train(tiny_config, monkeypatch, **{"optimizer.optimizer_args": {"fused": False}})
    assert _max_relative(unfused, lora) < 1e-3


def test_fp8_base(tiny_config, monkeypatch, fp32_lora):
    from lorakit.train.precision import FP8, fp8_refusal

    why = fp8_refusal(torch.device("cuda"))
    if why:
        pytest.skip(why)
    run, lora = _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16", "memory.fp8_base": True})
    unet = run.family.components.unet
    assert unet.conv_in.weight.dtype == FP8
    assert all(p.dtype == torch.float32 for p in run.network.parameters())
    assert all(torch.isfinite(t).all() for t in lora.values())
    assert _max_relative(fp32_lora, lora) < 0.5


def test_fp8_base_refused_on_a_gpu_without_fp8(tiny_config, monkeypatch):
    from lorakit.errors import ConfigError
    from lorakit.train.precision import fp8_refusal

    if fp8_refusal(torch.device("cuda")) is None:
        pytest.skip("this GPU supports fp8 (test_fp8_base runs instead)")
    with pytest.raises(ConfigError, match=r"compute capability 8\.9"):
        _train(tiny_config, monkeypatch, **{"memory.mixed_precision": "bf16", "memory.fp8_base": True})


@pytest.mark.parametrize("name", ["AdamW8bit", "Lion8bit", "PagedAdamW8bit"])
def test_bitsandbytes_optimizers(tiny_config, monkeypatch, name):
    pytest.importorskip("bitsandbytes")
    run, lora = _train(tiny_config, monkeypatch, **{"optimizer.optimizer_type": name, "learning.learning_rate": 1e-3})
    assert type(run.optimizer.optimizer).__module__.startswith("bitsandbytes")
    ups = [t for k, t in lora.items() if "lora_up" in k]
    assert any(bool(t.abs().max() > 0) for t in ups)


@pytest.mark.skipif(importlib.util.find_spec("xformers") is None, reason="xformers is not installed")
def test_xformers_attention(tiny_config, monkeypatch, fp32_lora):
    run, lora = _train(tiny_config, monkeypatch, **{"memory.attention": "xformers"})
    names = {type(p).__name__ for p in run.family.components.unet.attn_processors.values()}
    assert any("XFormers" in n for n in names), names
    assert _max_relative(fp32_lora, lora) < 1e-2
