"""Training and measuring the judge (:mod:`lorakit.proof.judge`) on the shapes world's own generator.

Every epoch draws fresh scenes (the concept crescent among the shapes, one in five) plus "no shape"
images: an empty patterned background, or smooth random noise, the kind of picture a broken model
draws. Each batch is degraded at random (blur, noise, colour and brightness shifts, a low-resolution
round trip) so the judge also reads the imperfect samples of a tiny diffusion model. Everything is drawn
from ``seed``: the same seed gives the same judge on the same machine and library versions.

:func:`measure` scores a judge on fresh scenes from a seed training never used, clean and degraded.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F

from lorakit import events as ev
from lorakit.proof.judge import HEADS, NONE, Judge, concept_probability
from lorakit.proof.world import CONCEPT, SIZE, random_scenes, render

IGNORE = -100  # a head with nothing to say about an image (the colour of an absent shape)
# Fresh evaluation scenes are drawn from seeds this far from the training seeds.
EVAL_SEED_OFFSET = 1_000_003


def _labels(scene) -> dict[str, int]:
    return {
        "shape": HEADS["shape"].index(scene.shape),
        "colour": HEADS["colour"].index(scene.colour),
        "bg_colour": HEADS["bg_colour"].index(scene.bg_colour),
        "background": HEADS["background"].index(scene.background),
    }


def _noise_image(rng: np.random.Generator) -> np.ndarray:
    """Smooth random colour noise: random values at 2 to 32 px, enlarged to 64, sometimes tinted."""
    from PIL import Image

    side = int(rng.choice([2, 4, 8, 16, 32]))
    small = rng.uniform(0, 255, size=(side, side, 3))
    if rng.random() < 0.5:
        tint = rng.uniform(0, 255, size=3)
        small = 0.5 * small + 0.5 * tint
    image = Image.fromarray(small.astype(np.uint8)).resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(image)


def make_batch(n: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``n`` clean images drawn from ``seed`` and their labels: six in seven are scenes, the rest show no
    shape (half an empty background, half noise)."""
    rng = np.random.default_rng(seed)
    scenes = random_scenes(n, seed, with_concept=True)
    images, labels = [], {name: [] for name in HEADS}
    for scene in scenes:
        kind = rng.random()
        if kind < 6 / 7:
            images.append(np.asarray(render(scene)))
            for name, value in _labels(scene).items():
                labels[name].append(value)
        elif kind < 13 / 14:
            empty = dataclasses.replace(scene, x=-10 * SIZE, y=-10 * SIZE)  # the shape is drawn off the canvas
            images.append(np.asarray(render(empty)))
            found = _labels(scene)
            for name in HEADS:
                labels[name].append(found[name] if name in ("bg_colour", "background") else IGNORE)
            labels["shape"][-1] = HEADS["shape"].index(NONE)
        else:
            images.append(_noise_image(rng))
            for name in HEADS:
                labels[name].append(HEADS["shape"].index(NONE) if name == "shape" else IGNORE)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255.0
    return x, {name: torch.tensor(values) for name, values in labels.items()}


def _blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """A Gaussian blur with a standard deviation per image (0 leaves the image as it is)."""
    radius = 3
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    s = sigma.clamp(min=1e-3).view(-1, 1)
    kernel = torch.exp(-(offsets.view(1, -1) ** 2) / (2 * s**2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (B, 7)
    b, c, h, w = x.shape
    k = kernel.repeat_interleave(c, dim=0)  # one kernel per image and channel
    flat = F.pad(x.reshape(1, b * c, h, w), (radius, radius, radius, radius), mode="replicate")
    flat = F.conv2d(flat, k.view(b * c, 1, 1, -1), groups=b * c)
    flat = F.conv2d(flat, k.view(b * c, 1, -1, 1), groups=b * c)
    return flat.view(b, c, h, w)


def degrade(x: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """Blur, a low-resolution round trip, colour and brightness shifts and noise, each image its own amount."""
    b = x.shape[0]

    def draw(*shape):
        return torch.rand(*shape, generator=generator)

    x = _blur(x, draw(b) * 1.6 * strength)
    low = F.interpolate(F.interpolate(x, size=SIZE // 4, mode="bilinear", antialias=True), size=SIZE, mode="bilinear")
    mix = (draw(b, 1, 1, 1) < 0.3 * strength).float() * draw(b, 1, 1, 1)
    x = x + mix * (low - x)
    gain = 1 + (draw(b, 3, 1, 1) - 0.5) * 0.3 * strength
    shift = (draw(b, 3, 1, 1) - 0.5) * 0.12 * strength
    x = x * gain + shift
    noise = torch.randn(x.shape, generator=generator) * draw(b, 1, 1, 1) * 0.08 * strength
    return (x + noise).clamp(0, 1)


def train_judge(
    seed: int = 0,
    epochs: int = 8,
    images_per_epoch: int = 6000,
    batch_size: int = 64,
    emitter: ev.Emitter | None = None,
) -> Judge:
    """A judge trained from ``seed``: ``epochs`` epochs of fresh scenes, degraded at random, AdamW with a
    cosine learning rate. Progress goes to ``emitter`` (one ``progress`` event per epoch)."""
    emitter = emitter or ev.Emitter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        judge = Judge()
        generator = torch.Generator().manual_seed(seed)
        steps_per_epoch = math.ceil(images_per_epoch / batch_size)
        optimizer = torch.optim.AdamW(judge.parameters(), lr=3e-3, weight_decay=1e-4)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=3e-3, total_steps=epochs * steps_per_epoch, pct_start=0.15
        )
        judge.train()
        for epoch in range(epochs):
            x, labels = make_batch(images_per_epoch, seed * 1000 + epoch)
            order = torch.randperm(len(x), generator=generator)
            total = 0.0
            for start in range(0, len(x), batch_size):
                idx = order[start : start + batch_size]
                logits = judge(degrade(x[idx], generator))
                loss = sum(F.cross_entropy(logits[h], labels[h][idx], ignore_index=IGNORE) for h in HEADS)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total += float(loss.detach())
            emitter.emit(ev.PROGRESS, done=epoch + 1, total=epochs, unit="epoch", loss=total / steps_per_epoch)
    judge.eval()
    judge.info = {"seed": seed, "epochs": epochs, "images_per_epoch": images_per_epoch}
    return judge


@torch.no_grad()
def measure(judge: Judge, seed: int = 0, n: int = 2000) -> dict[str, float]:
    """The judge's accuracy on ``n`` fresh images (seeds training never drew), clean and degraded.

    Per head: the share of images whose label it names right (scenes for the colour heads, every image for
    the shape). ``concept_*``: the share of concept images it calls the concept (``concept_found``) and of
    other images it calls the concept (``concept_false``), the two errors the proof of learning counts.
    """
    from lorakit.proof.judge import CONCEPT_THRESHOLD

    x, labels = make_batch(n, seed + EVAL_SEED_OFFSET)
    generator = torch.Generator().manual_seed(seed + EVAL_SEED_OFFSET)
    results: dict[str, float] = {}
    is_concept = labels["shape"] == HEADS["shape"].index(CONCEPT)
    for kind, images in (("clean", x), ("degraded", degrade(x, generator))):
        judge.eval()
        logits = judge(images)
        for name in HEADS:
            known = labels[name] != IGNORE
            right = logits[name].argmax(dim=1)[known] == labels[name][known]
            results[f"{kind}_{name}"] = round(float(right.float().mean()), 4)
        called = concept_probability(judge, images) >= CONCEPT_THRESHOLD
        results[f"{kind}_concept_found"] = round(float(called[is_concept].float().mean()), 4)
        results[f"{kind}_concept_false"] = round(float(called[~is_concept].float().mean()), 4)
    results["images"] = n
    return results
