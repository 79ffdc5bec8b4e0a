"""The shapes judge: the shipped file loads, reads fresh images of the world (clean and degraded) as its
metadata says, tells the concept crescent from the circle, and refuses files that are not a judge."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from lorakit.errors import ModelError
from lorakit.proof.judge import (
    CONCEPT_THRESHOLD,
    HEADS,
    JUDGE_FILE,
    NONE,
    Judge,
    concept_share,
    load_judge,
    predict,
    save_judge,
)
from lorakit.proof.judge_training import degrade, make_batch, measure
from lorakit.proof.world import CONCEPT, SHAPES, random_scene, render


@pytest.fixture(scope="module")
def judge():
    return load_judge()


def test_the_shipped_judge_is_small_and_says_how_it_was_built(judge):
    assert JUDGE_FILE.stat().st_size < 1024 * 1024
    assert judge.heads == HEADS
    assert {"seed", "epochs", "accuracy"} <= set(judge.info)


def test_the_judge_reads_fresh_images_as_well_as_its_file_says(judge):
    # Fresh images from another seed than the build measured on: the figures are the judge's, not a fluke.
    figures = measure(judge, seed=7, n=400)
    print("judge accuracy on 400 fresh images:", figures)
    assert figures["clean_shape"] >= 0.95 and figures["degraded_shape"] >= 0.9
    assert figures["clean_colour"] >= 0.95 and figures["clean_bg_colour"] >= 0.95
    assert figures["clean_concept_found"] >= 0.95 and figures["clean_concept_false"] <= 0.02
    shipped = judge.info["accuracy"]
    assert abs(figures["clean_shape"] - shipped["clean_shape"]) < 0.05


def test_the_concept_is_told_from_its_nearest_shape(judge):
    import numpy as np

    rng = np.random.default_rng(11)
    crescents = [render(random_scene(rng, shape=CONCEPT)) for _ in range(40)]
    circles = [render(dataclasses.replace(random_scene(rng, shape="circle"))) for _ in range(40)]
    assert concept_share(judge, crescents) >= 0.95
    assert concept_share(judge, circles) <= 0.05
    seen = predict(judge, circles[:10])
    assert sum(p["shape"] == "circle" for p in seen) >= 9


def test_noise_and_empty_backgrounds_are_no_shape(judge):
    images, labels = make_batch(700, seed=5)
    none = labels["shape"] == HEADS["shape"].index(NONE)
    assert int(none.sum()) > 50
    blurred = degrade(images[none], torch.Generator().manual_seed(0))
    picks = [p["shape"] for p in predict(judge, blurred)]
    assert picks.count(NONE) / len(picks) >= 0.9
    assert concept_share(judge, blurred) <= 0.05


def test_any_image_size_is_read(judge):
    scene = random_scene(__import__("numpy").random.default_rng(3), shape=SHAPES[0])
    big = render(scene).resize((128, 128))
    assert predict(judge, [big])[0]["shape"] == SHAPES[0]


def test_a_saved_judge_loads_back_the_same(tmp_path):
    torch.manual_seed(0)
    made = Judge()
    made.info = {"seed": 3}
    path = save_judge(made, tmp_path / "judge.safetensors")
    loaded = load_judge(path)
    x = torch.rand(2, 3, 64, 64)
    assert loaded.info == {"seed": 3}
    for name, logits in made.eval()(x).items():
        assert torch.allclose(logits, loaded(x)[name], atol=1e-6)
    assert 0 < CONCEPT_THRESHOLD < 1


def test_a_file_that_is_not_a_judge_is_refused(tmp_path):
    from safetensors.torch import save_file

    missing = tmp_path / "none.safetensors"
    with pytest.raises(ModelError, match="missing"):
        load_judge(missing)
    other = tmp_path / "lora.safetensors"
    save_file({"x": torch.zeros(2)}, str(other))
    with pytest.raises(ModelError, match="not a shapes judge") as caught:
        load_judge(other)
    assert "build_shapes_world.py judge" in caught.value.fix
