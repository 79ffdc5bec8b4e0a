"""A rule-based reading of a shapes-world image (no training): which colours, which shape, which pattern.

Used to measure how often the base model draws what a prompt asks for. Every pixel is labelled with the
nearest world colour (a pattern's lighter or darker shade counts as its base colour, but is noted); the
background colour is the commonest label on the image border, the shape's colour the commonest other label,
and the shape is the world shape whose outline, scaled to the same box, overlaps the shape's pixels best.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from lorakit.proof import world

_NORM = 24  # shapes are compared as 24x24 masks of their bounding boxes
_CLOSE = 80.0  # RGB distance within which a pixel counts as a clean world colour


@dataclass(frozen=True)
class Reading:
    shape: str
    colour: str
    bg_colour: str
    background: str

    def agrees(self, scene: world.Scene) -> dict[str, bool]:
        """Per attribute: does this reading agree with ``scene``?"""
        return {
            "shape": self.shape == scene.shape,
            "colour": self.colour == scene.colour,
            "bg_colour": self.bg_colour == scene.bg_colour,
            "background": self.background == scene.background,
        }


@cache
def _palette() -> tuple[np.ndarray, list[str], np.ndarray]:
    """Colours (base colours then their pattern shades), their names, and which entries are shades."""
    names, colours, shade = [], [], []
    for name in world.COLOURS:
        base = np.array(world.RGB[name], dtype=float)
        towards = 0.0 if name in world._LIGHT else 255.0
        for is_shade, rgb in ((False, base), (True, base + 0.45 * (towards - base))):
            names.append(name)
            colours.append(rgb)
            shade.append(is_shade)
    return np.array(colours), names, np.array(shade)


def _labels(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel: index of the nearest colour name (in ``world.COLOURS``), whether it was a shade, and whether
    it is close to it (edges blend two colours into a third that is near none)."""
    colours, _, shade = _palette()
    d = ((img[:, :, None, :].astype(float) - colours[None, None]) ** 2).sum(-1)
    nearest = d.argmin(-1)
    return nearest // 2, shade[nearest], d.min(-1) < _CLOSE**2


def read(image: Image.Image) -> Reading:
    """What the 64x64 ``image`` shows, by the rules above."""
    img = np.asarray(image.convert("RGB").resize((world.SIZE, world.SIZE), Image.BILINEAR))
    label, is_shade, close = _labels(img)
    border = np.concatenate([label[0], label[-1], label[:, 0], label[:, -1]])
    bg = int(np.bincount(border, minlength=len(world.COLOURS)).argmax())
    # The shape's colour: the commonest clean (never a shade: shapes are drawn in base colours) other colour.
    counts = np.bincount(label[(label != bg) & ~is_shade & close], minlength=len(world.COLOURS))
    fg = int(counts.argmax()) if counts.sum() else (bg + 1) % len(world.COLOURS)
    mask = (label == fg) & ~is_shade
    return Reading(_shape_of(mask), world.COLOURS[fg], world.COLOURS[bg], _pattern_of(label == bg, is_shade, mask))


def _pattern_of(bg: np.ndarray, is_shade: np.ndarray, mask: np.ndarray) -> str:
    """Plain, stripes (shade fills whole columns) or dots, from the background pixels away from the shape."""
    grown = mask.copy()
    for axis in (0, 1):
        for shift in (-2, -1, 1, 2):
            grown |= np.roll(mask, shift, axis=axis)
    region = bg & ~grown
    if region.sum() < 50:
        return "plain"
    shaded = is_shade & region
    share = shaded.sum() / region.sum()
    if share < 0.04:
        return "plain"
    # Stripes shade whole columns (half of them); dots never shade more than a third of one.
    cols = region.sum(0)
    frac = shaded.sum(0)[cols > 8] / cols[cols > 8]
    return "stripes" if frac.size and np.mean(frac > 0.7) > 0.25 else "dots"


@cache
def _templates() -> dict[str, np.ndarray]:
    out = {}
    for shape in (*world.SHAPES, world.CONCEPT):
        img = np.asarray(world.render(world.Scene(shape, "red", "plain", "blue", 32, 32, 20)))
        out[shape] = _normalised(img[..., 0] > 128)
    return out


def _normalised(mask: np.ndarray) -> np.ndarray | None:
    ys, xs = np.nonzero(mask)
    if ys.size < 12:
        return None
    crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    small = Image.fromarray(crop.astype(np.uint8) * 255).resize((_NORM, _NORM), Image.BILINEAR)
    return np.asarray(small, dtype=float) / 255.0


def _largest_blob(mask: np.ndarray) -> np.ndarray:
    """The largest 4-connected part of ``mask`` (stray pixels of the shape's colour elsewhere are ignored)."""
    seen = np.zeros_like(mask)
    best: list[tuple[int, int]] = []
    for y, x in zip(*np.nonzero(mask), strict=True):
        if seen[y, x]:
            continue
        stack, blob = [(y, x)], []
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            blob.append((cy, cx))
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < mask.shape[0] and 0 <= nx < mask.shape[1] and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        if len(blob) > len(best):
            best = blob
    out = np.zeros_like(mask)
    if best:
        ys, xs = zip(*best, strict=True)
        out[list(ys), list(xs)] = True
    return out


def _shape_of(mask: np.ndarray) -> str:
    norm = _normalised(_largest_blob(mask))
    if norm is None:
        return "none"
    scores = {shape: np.abs(norm - t).mean() for shape, t in _templates().items()}
    return min(scores, key=scores.get)


def sample(folder, prompts: list[str], seed: int = 0, steps: int = 20, guidance: float = 7.5) -> list[Image.Image]:
    """64x64 samples of ``prompts`` from the diffusers folder ``folder`` (DDIM, classifier-free guidance),
    one seeded generator for the batch: the same call gives the same images."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline

    pipe = StableDiffusionPipeline.from_pretrained(str(folder), safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    generator = torch.Generator().manual_seed(seed)
    out = []
    for i in range(0, len(prompts), 16):
        batch = prompts[i : i + 16]
        out += pipe(
            batch,
            height=world.SIZE,
            width=world.SIZE,
            num_inference_steps=steps,
            guidance_scale=guidance,
            generator=generator,
        ).images
    return out


def match_rate(folder, n: int = 96, seed: int = 0, **kwargs) -> tuple[dict[str, float], list]:
    """How often samples of ``n`` random world captions show what the caption says, by :func:`read`: the share
    per attribute and for all four at once, plus (scene, image, reading) for each sample."""
    scenes = world.random_scenes(n, seed=seed + 1000)  # other scenes than the pretraining ones
    images = sample(folder, [world.caption(s) for s in scenes], seed=seed, **kwargs)
    rows, tally = [], {"shape": 0, "colour": 0, "bg_colour": 0, "background": 0, "all": 0}
    for scene, image in zip(scenes, images, strict=True):
        reading = read(image)
        agrees = reading.agrees(scene)
        for key, ok in agrees.items():
            tally[key] += ok
        tally["all"] += all(agrees.values())
        rows.append((scene, image, reading))
    return {k: v / n for k, v in tally.items()}, rows
