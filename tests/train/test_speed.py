"""memory.attention, memory.torch_compile and memory.vae_batch_size reach the model and the latent cache."""

from __future__ import annotations

import importlib.util

import pytest
import torch


@pytest.mark.parametrize(
    ("kind", "processor"),
    [("sdpa", "AttnProcessor2_0"), ("none", "AttnProcessor"), ("mem_eff", "SlicedAttnProcessor")],
)
def test_attention_implementation_is_set_on_every_layer(tiny_config, kind, processor):
    from lorakit.train import setup as su

    family, _ = su.build_model_and_network(tiny_config(memory__attention=kind), torch.device("cpu"))
    assert {type(p).__name__ for p in family.components.unet.attn_processors.values()} == {processor}


@pytest.mark.skipif(importlib.util.find_spec("xformers") is not None, reason="xformers is installed here")
def test_xformers_without_the_package_is_refused(tiny_config):
    from lorakit.errors import ConfigError
    from lorakit.train.speed import check_speed_settings

    with pytest.raises(ConfigError, match="needs the xformers package"):
        check_speed_settings(tiny_config(memory__attention="xformers"))


def test_torch_compile_compiles_the_unet_in_place_and_it_is_used(tiny_config, monkeypatch):
    from lorakit.train import setup as su

    monkeypatch.setenv("LORAKIT_COMPILE_BACKEND", "eager")
    family, _ = su.build_model_and_network(tiny_config(memory__torch_compile=True), torch.device("cpu"))
    unet = family.components.unet
    assert unet._compiled_call_impl is not None
    calls = []
    original = unet._compiled_call_impl
    monkeypatch.setattr(unet, "_compiled_call_impl", lambda *a, **k: calls.append(1) or original(*a, **k))
    noisy = torch.randn(1, 4, 8, 8)
    cond = family.encode_prompts(["a cat"])
    family.predict(noisy, torch.tensor([10]), cond, torch.zeros(1, 6))
    assert calls  # the step goes through the compiled call


def test_vae_batch_size_encodes_images_together_with_the_same_latents(tiny_config):
    from lorakit.train.run import Run

    def cached(size):
        from lorakit import events as ev

        cfg = tiny_config(memory__cache_latents=True, memory__vae_batch_size=size)
        run = Run(cfg, cfg.output.output_dir / f"vae{size}", ev.Emitter(), None)
        torch.manual_seed(0)
        run.setup()
        cache = run.feed.latent_cache
        return run.feed.encoded_batches, [cache.get(cache.key(e, False))["latent"] for e in run.feed.examples]

    one, latents_one = cached(1)
    four, latents_four = cached(4)
    assert (one, four) == (4, 1)
    for a, b in zip(latents_one, latents_four, strict=True):
        # The VAE samples its latent: compare the means the samples are drawn around, loosely.
        assert a.shape == b.shape
        torch.testing.assert_close(a.mean(), b.mean(), rtol=0.2, atol=0.2)
