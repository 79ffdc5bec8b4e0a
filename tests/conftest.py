"""Shared fixtures: the tiny SD1 and SDXL models, built once per test session, never downloaded.

``tiny_sd1`` / ``tiny_sdxl`` are paths to diffusers folders (real classes, random seeded weights);
treat them as read-only. ``tiny_model(family)`` returns the same folders by name for parametrized tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tiny_models")


def _build(root: Path, family: str) -> Path:
    from lorakit.models.tiny import build_tiny_model

    return build_tiny_model(family, root / family)


@pytest.fixture(scope="session")
def tiny_sd1(tiny_models_dir) -> Path:
    """A tiny SD1-style diffusers folder (UNet, VAE, CLIP text encoder and tokenizer, DDPM scheduler)."""
    return _build(tiny_models_dir, "sd1")


@pytest.fixture(scope="session")
def tiny_sdxl(tiny_models_dir) -> Path:
    """A tiny SDXL-style diffusers folder (two text encoders, text_time conditioning)."""
    return _build(tiny_models_dir, "sdxl")


@pytest.fixture(scope="session")
def tiny_model(tiny_models_dir):
    """``tiny_model("sd1")`` / ``tiny_model("sdxl")``: the folder of that tiny model."""
    return lambda family: _build(tiny_models_dir, family)
