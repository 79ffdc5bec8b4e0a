"""model.family that contradicts the base model's files is refused by validation, with the fix."""

from __future__ import annotations

import pytest

from lorakit.config.presets import new_config
from lorakit.config.validate import validate
from lorakit.data.scan import sample_dataset_path


def _config(model: str, family: str):
    values = {"model.pretrained_model_name_or_path": model, "model.family": family}
    return new_config("tiny-demo", {**values, "dataset.train_data_dir": str(sample_dataset_path())})


@pytest.mark.parametrize("source", ["folder", "tiny"])
def test_sdxl_family_on_an_sd1_model_is_a_problem(tiny_sd1, source):
    model = str(tiny_sd1) if source == "folder" else "tiny:sd1"
    report = validate(_config(model, "sdxl"))
    assert [p.field for p in report.problems] == ["model.family"]
    problem = report.problems[0]
    assert "model.family = 'sdxl'" in problem.problem and "is an SD1" in problem.problem
    assert "Set model.family = 'sd1'" in problem.fix and "'auto'" in problem.fix


@pytest.mark.parametrize("family", ["sd1", "auto", "sd2", "sd2-v"])
def test_matching_or_auto_family_passes(tiny_sd1, family):
    # The tiny model's text width is neither SD1's 768 nor SD2's 1024: only its layout (one text encoder) is
    # known, and SD1 and SD2 share it.
    assert validate(_config(str(tiny_sd1), family)).ok


def test_built_in_tiny_sd1_is_sd1():
    assert [p.field for p in validate(_config("tiny:sd1", "sd2")).problems] == ["model.family"]


def test_sd1_family_on_an_sdxl_model_is_a_problem(tiny_sdxl):
    report = validate(_config(str(tiny_sdxl), "sd1"))
    assert [p.field for p in report.problems] == ["model.family"]
    assert "is an SDXL model" in report.problems[0].problem


def test_family_check_needs_the_files():
    # Without looking at files (a config checked on another machine), nothing can be said about the model.
    assert validate(_config("org/some-model", "sdxl"), check_files=False).ok
