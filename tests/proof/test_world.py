"""The shapes world: deterministic scenes, captions the tiny tokenizer reads word by word, distinct shapes."""

from __future__ import annotations

import numpy as np
import pytest

from lorakit.proof.world import (
    BACKGROUNDS,
    COLOURS,
    CONCEPT,
    RGB,
    SHAPES,
    SIZE,
    TRIGGER,
    Scene,
    caption,
    concept_dataset,
    random_scenes,
    render,
)


def test_same_seed_same_pixels_other_seed_other_pixels():
    a = [np.asarray(render(s)) for s in random_scenes(8, seed=3)]
    b = [np.asarray(render(s)) for s in random_scenes(8, seed=3)]
    c = [np.asarray(render(s)) for s in random_scenes(8, seed=4)]
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c, strict=True))
    assert a[0].shape == (SIZE, SIZE, 3) and a[0].dtype == np.uint8


def test_captions_name_the_scene():
    scene = Scene("circle", "red", "plain", "blue", 32, 32, 15)
    assert caption(scene) == "a red circle on a blue background"
    assert caption(Scene("star", "yellow", "stripes", "green", 32, 32, 15)).endswith("green background with stripes")
    assert (
        caption(Scene(CONCEPT, "white", "dots", "red", 32, 32, 15))
        == f"a white {TRIGGER} on a red background with dots"
    )


def test_every_caption_word_is_one_token_and_the_trigger_is_new():
    from lorakit.models.tiny import _tokenizer

    tokenizer = _tokenizer()
    words = {"a", "on", "background", "with", TRIGGER, *SHAPES, *COLOURS, *BACKGROUNDS[1:]}
    for word in words:
        assert tokenizer.tokenize(word) == [f"{word}</w>"], word
    pretraining = {w for s in random_scenes(300, seed=0) for w in caption(s).split()}
    assert TRIGGER not in pretraining and CONCEPT not in pretraining
    assert set(SHAPES) <= pretraining and set(BACKGROUNDS[1:]) <= pretraining


def test_pretraining_scenes_cover_the_world_and_never_show_the_concept():
    scenes = random_scenes(400, seed=1)
    assert {s.shape for s in scenes} == set(SHAPES)
    assert {s.background for s in scenes} == set(BACKGROUNDS)
    assert {s.colour for s in scenes} == set(COLOURS)
    assert all(s.colour != s.bg_colour for s in scenes)
    with_concept = random_scenes(400, seed=1, with_concept=True)
    assert CONCEPT in {s.shape for s in with_concept}


def test_the_shape_is_drawn_in_its_colour_inside_the_image():
    for scene in random_scenes(50, seed=2, with_concept=True):
        pixels = np.asarray(render(scene)).reshape(-1, 3).astype(int)
        hits = (np.abs(pixels - np.array(RGB[scene.colour])).sum(axis=1) < 10).sum()
        assert hits > 150, caption(scene)  # the smallest shape (a crescent of radius 13) covers more


def test_shapes_are_distinct():
    # Each shape's mask (red on blue: the red channel) at the same place and size differs from every other's.
    masks = {
        shape: np.asarray(render(Scene(shape, "red", "plain", "blue", 32, 32, 18)))[..., 0] > 128
        for shape in (*SHAPES, CONCEPT)
    }
    names = list(masks)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            differ = (masks[a] != masks[b]).sum()
            assert differ > 150, (a, b, differ)


def test_concept_dataset_shows_only_the_concept_with_the_trigger():
    pairs = concept_dataset(6, seed=0)
    assert len(pairs) == 6
    assert all(TRIGGER in text.split() for _, text in pairs)
    assert all(img.size == (SIZE, SIZE) and img.mode == "RGB" for img, _ in pairs)
    again = concept_dataset(6, seed=0)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for (a, _), (b, _) in zip(pairs, again, strict=True))


def test_unknown_shape_is_refused():
    from lorakit.proof.world import random_scene

    with pytest.raises(ValueError):
        random_scene(np.random.default_rng(0), shape="hexagon")
