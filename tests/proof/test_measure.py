"""The rule-based reader of shapes-world images: right on clean renders, and it notices a wrong image."""

from __future__ import annotations

from PIL import Image

from lorakit.proof import world
from lorakit.proof.measure import read


def test_reads_every_clean_render_right():
    scenes = world.random_scenes(150, seed=7, with_concept=True)
    wrong = [world.caption(s) for s in scenes if not all(read(world.render(s)).agrees(s).values())]
    assert not wrong


def test_reads_a_blurred_render_right():
    # Samples are softer than renders: a blur the size of a VAE's smear must not change the reading.
    from PIL import ImageFilter

    scenes = world.random_scenes(40, seed=8)
    wrong = [
        world.caption(s)
        for s in scenes
        if not all(read(world.render(s).filter(ImageFilter.GaussianBlur(1.0))).agrees(s).values())
    ]
    assert len(wrong) <= 2, wrong


def test_a_different_image_disagrees():
    scene = world.Scene("circle", "red", "plain", "blue", 32, 32, 16)
    assert read(world.render(world.Scene("star", "red", "plain", "blue", 32, 32, 16))).agrees(scene)["shape"] is False
    blank = Image.new("RGB", (64, 64), world.RGB["green"])
    reading = read(blank)
    assert reading.shape == "none" and reading.bg_colour == "green" and reading.background == "plain"
