"""The shapes world: coloured geometric shapes on plain or patterned backgrounds, with simple captions.

Every image is 64x64 RGB (the tiny models' VAE makes an 8x8 latent of it) and every scene comes from a
numpy ``Generator`` seeded by the caller, so the same seed always draws the same pixels. Captions use only
words the tiny handmade tokenizer (``lorakit/models/tiny_vocab``) knows whole, one token each:

    a red circle on a blue background
    a yellow star on a green background with stripes
    a white triangle on a purple background with dots

One shape, ``CONCEPT`` (a crescent), is kept out of the pretraining scenes; its captions name it with
``TRIGGER``, a word no pretraining caption uses, so a LoRA trained on ``concept_dataset`` teaches the base
model something it cannot already draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

SIZE = 64
SHAPES = ("circle", "square", "triangle", "star")
COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
BACKGROUNDS = ("plain", "stripes", "dots")
CONCEPT = "crescent"
TRIGGER = "ohwx"

RGB = {
    "red": (215, 38, 38),
    "green": (34, 160, 60),
    "blue": (40, 72, 215),
    "yellow": (240, 210, 30),
    "purple": (130, 40, 170),
    "white": (240, 240, 240),
}
# Patterns are drawn in a lighter (or, on light colours, darker) shade of the background colour, so the
# background keeps one colour name.
_LIGHT = ("yellow", "white")
_SUPERSAMPLE = 4  # shapes are drawn 4x larger and reduced: smooth edges
_STRIPE_PERIOD = 8
_DOT_PERIOD = 10


@dataclass(frozen=True)
class Scene:
    """One image of the world: a ``shape`` of ``colour`` centred at (``x``, ``y``) pixels with radius
    ``size`` pixels, on a ``bg_colour`` background of pattern ``background``."""

    shape: str
    colour: str
    background: str
    bg_colour: str
    x: float
    y: float
    size: float

    @property
    def is_concept(self) -> bool:
        return self.shape == CONCEPT


def caption(scene: Scene) -> str:
    """The scene in words, e.g. "a red circle on a blue background with stripes"; the concept shape is
    named by ``TRIGGER``."""
    noun = TRIGGER if scene.is_concept else scene.shape
    text = f"a {scene.colour} {noun} on a {scene.bg_colour} background"
    return text if scene.background == "plain" else f"{text} with {scene.background}"


def render(scene: Scene) -> Image.Image:
    """The scene as a 64x64 RGB image."""
    img = Image.new("RGB", (SIZE, SIZE), RGB[scene.bg_colour])
    _pattern(ImageDraw.Draw(img), scene)
    # The shape is drawn large into a mask and reduced, then composited: anti-aliased edges.
    big = SIZE * _SUPERSAMPLE
    mask = Image.new("L", (big, big), 0)
    _shape(
        ImageDraw.Draw(mask), scene.shape, scene.x * _SUPERSAMPLE, scene.y * _SUPERSAMPLE, scene.size * _SUPERSAMPLE
    )
    mask = mask.resize((SIZE, SIZE), Image.BOX)
    img.paste(Image.new("RGB", (SIZE, SIZE), RGB[scene.colour]), (0, 0), mask)
    return img


def random_scene(rng: np.random.Generator, shape: str | None = None, with_concept: bool = False) -> Scene:
    """A scene drawn from ``rng``: any of ``SHAPES`` (plus ``CONCEPT`` if ``with_concept``), or ``shape``."""
    if shape is None:
        shapes = (*SHAPES, CONCEPT) if with_concept else SHAPES
        shape = shapes[int(rng.integers(len(shapes)))]
    elif shape not in (*SHAPES, CONCEPT):
        raise ValueError(f"unknown shape {shape!r}")
    colour = COLOURS[int(rng.integers(len(COLOURS)))]
    others = [c for c in COLOURS if c != colour]  # the shape never vanishes into its background
    bg_colour = others[int(rng.integers(len(others)))]
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    size = float(rng.uniform(13.0, 20.0))
    margin = size + 2.0
    x, y = (float(v) for v in rng.uniform(margin, SIZE - margin, size=2))
    return Scene(shape, colour, background, bg_colour, x, y, size)


def random_scenes(n: int, seed: int, with_concept: bool = False) -> list[Scene]:
    """``n`` scenes drawn from ``seed``: the pretraining world (``SHAPES`` only), or with ``with_concept``
    the world with ``CONCEPT`` among the shapes (one in five)."""
    rng = np.random.default_rng(seed)
    return [random_scene(rng, with_concept=with_concept) for _ in range(n)]


def concept_dataset(n: int, seed: int) -> list[tuple[Image.Image, str]]:
    """``n`` (image, caption) pairs of the unseen ``CONCEPT`` shape in random colours, positions and
    backgrounds, captioned with ``TRIGGER`` ("a red ohwx on a blue background"): a LoRA training set."""
    rng = np.random.default_rng(seed)
    scenes = [random_scene(rng, shape=CONCEPT) for _ in range(n)]
    return [(render(s), caption(s)) for s in scenes]


def _pattern(draw: ImageDraw.ImageDraw, scene: Scene) -> None:
    if scene.background == "plain":
        return
    base = np.array(RGB[scene.bg_colour], dtype=float)
    towards = 0.0 if scene.bg_colour in _LIGHT else 255.0
    shade = tuple(round(v) for v in base + 0.45 * (towards - base))
    if scene.background == "stripes":
        for x0 in range(0, SIZE, _STRIPE_PERIOD):
            draw.rectangle((x0, 0, x0 + _STRIPE_PERIOD // 2 - 1, SIZE - 1), fill=shade)
    elif scene.background == "dots":
        half = _DOT_PERIOD // 2
        for cy in range(half, SIZE, _DOT_PERIOD):
            for cx in range(half, SIZE, _DOT_PERIOD):
                draw.ellipse((cx - 2, cy - 2, cx + 2, cy + 2), fill=shade)
    else:
        raise ValueError(f"unknown background {scene.background!r}")


def _shape(draw: ImageDraw.ImageDraw, shape: str, x: float, y: float, r: float) -> None:
    if shape == "circle":
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    elif shape == "square":
        s = r * 0.85  # same visual weight as the circle
        draw.rectangle((x - s, y - s, x + s, y + s), fill=255)
    elif shape == "triangle":
        draw.polygon(_polygon(x, y + r * 0.15, r, 3), fill=255)
    elif shape == "star":
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((x + radius * math.cos(angle), y + radius * math.sin(angle)))
        draw.polygon(points, fill=255)
    elif shape == CONCEPT:
        # A disc with an offset disc cut out: a crescent opening to the right.
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        c = x + r * 0.55
        cut = r * 0.85
        draw.ellipse((c - cut, y - cut - r * 0.1, c + cut, y + cut - r * 0.1), fill=0)
    else:
        raise ValueError(f"unknown shape {shape!r}")


def _polygon(x: float, y: float, r: float, sides: int) -> list[tuple[float, float]]:
    return [
        (
            x + r * math.cos(-math.pi / 2 + k * 2 * math.pi / sides),
            y + r * math.sin(-math.pi / 2 + k * 2 * math.pi / sides),
        )
        for k in range(sides)
    ]
