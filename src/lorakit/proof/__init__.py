"""Proof of learning: a synthetic world of coloured shapes, a tiny base model pretrained on it, and the
concept it never saw (for a LoRA to learn).

``world`` draws the images and writes their captions; ``pretrain`` (heavy imports, used by
``scripts/build_shapes_world.py``) trains the base model that ships in ``base_model/``.
"""

from __future__ import annotations

from pathlib import Path

BASE_MODEL_DIR = Path(__file__).parent / "base_model"


def base_model_path() -> Path:
    """The shipped pretrained tiny SD1-shaped model (a diffusers folder) that draws the shapes world."""
    return BASE_MODEL_DIR
