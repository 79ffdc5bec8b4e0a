"""Pretraining the shapes-world base model: the same bits on every run, a folder lorakit loads as SD1, and (for
the shipped model) samples that draw what the prompt says."""

from __future__ import annotations

import hashlib

import pytest

from lorakit.proof import base_model_path
from lorakit.proof.pretrain import Recipe, build_base_model

pytestmark = pytest.mark.slow

TINY = Recipe(vae_steps=3, vae_batch=4, scenes=64, unet_steps=3, unet_batch=4)


def _digests(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*.safetensors")
    }


def test_a_build_gives_the_same_bits_twice_and_loads_as_sd1(tmp_path):
    import torch

    threads = torch.get_num_threads()
    try:
        a = build_base_model(tmp_path / "a", tmp_path / "work-a", TINY, say=lambda _: None)
        b = build_base_model(tmp_path / "b", tmp_path / "work-b", TINY, say=lambda _: None)
    finally:
        torch.set_num_threads(threads)
    assert _digests(a) == _digests(b) and len(_digests(a)) == 3  # unet, vae, text encoder
    other = build_base_model(
        tmp_path / "c", tmp_path / "work-c", Recipe(**{**TINY.__dict__, "seed": 1}), lambda _: None
    )
    assert (
        _digests(other)["unet/diffusion_pytorch_model.safetensors"]
        != _digests(a)["unet/diffusion_pytorch_model.safetensors"]
    )

    from lorakit.models.loading import load_model

    family = load_model(a)
    assert family.name == "sd1"
    assert family.components.vae.config.scaling_factor != 0.18215  # set from the world's latents


def test_the_shipped_model_is_an_sd1_folder_within_budget():
    folder = base_model_path()
    assert (folder / "model_index.json").exists() and (folder / "tokenizer" / "tokenizer.json").exists()
    assert sum(p.stat().st_size for p in folder.rglob("*.safetensors")) <= 20 * 1024 * 1024


def test_the_shipped_model_draws_the_colours_asked_more_often_than_chance():
    from lorakit.proof.measure import match_rate

    rates, _ = match_rate(base_model_path(), n=48, seed=0)
    # Chance: 1/6 per colour, 1/4 for the shape. Measured when shipped (4250 UNet steps): shape 44 %, colour 48 %,
    # background colour 50 %, pattern 31 %, all four 10 %: learnt, but far from always right.
    assert rates["colour"] >= 0.35 and rates["bg_colour"] >= 0.35 and rates["shape"] >= 0.33, rates


def test_a_longer_run_continues_a_shorter_one_to_the_same_bits(tmp_path):
    import torch

    threads = torch.get_num_threads()
    steps = [(2, 2), (4, 2), (4, 4)]  # the VAE continues, then the UNet (a longer VAE restarts the UNet)
    said = []
    try:
        for vae_steps, unet_steps in steps:
            recipe = Recipe(**{**TINY.__dict__, "vae_steps": vae_steps, "unet_steps": unet_steps})
            continued = build_base_model(tmp_path / "continued", tmp_path / "work", recipe, say=said.append)
        straight = build_base_model(tmp_path / "straight", tmp_path / "work-2", recipe, say=lambda _: None)
    finally:
        torch.set_num_threads(threads)
    assert "vae: continuing from step 2" in said and "unet: continuing from step 2" in said
    assert _digests(continued) == _digests(straight)
