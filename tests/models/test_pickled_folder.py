"""A diffusers folder whose weights are pickled ``.bin`` files is refused in plain words: by validation, by the
loader, and through the web API (a failed job naming the problem, not an internal error)."""

from __future__ import annotations

import shutil

import pytest

from lorakit.errors import ModelError


@pytest.fixture(scope="module")
def pickled_sd1(tiny_sd1, tmp_path_factory):
    from diffusers import UNet2DConditionModel

    folder = tmp_path_factory.mktemp("pickled") / "sd1-bin"
    shutil.copytree(tiny_sd1, folder)
    unet = UNet2DConditionModel.from_pretrained(str(folder / "unet"))
    for weights in (folder / "unet").glob("*.safetensors"):
        weights.unlink()
    unet.save_pretrained(str(folder / "unet"), safe_serialization=False)
    assert [p.suffix for p in (folder / "unet").iterdir() if p.suffix != ".json"] == [".bin"]
    return folder


def test_pickle_only_parts_names_them(pickled_sd1, tiny_sd1):
    from lorakit.models.loading import pickle_only_parts

    assert pickle_only_parts(pickled_sd1) == ["unet"]
    assert pickle_only_parts(tiny_sd1) == []


def test_loader_refuses_the_pickled_folder(pickled_sd1):
    from lorakit.models.loading import load_model

    with pytest.raises(ModelError, match=r"weights of unet only as pickle files") as caught:
        load_model(pickled_sd1)
    assert ".safetensors" in caught.value.fix


def test_validation_reports_it_before_training(pickled_sd1, tmp_path):
    from lorakit.config.presets import new_config
    from lorakit.config.validate import validate
    from lorakit.data.scan import sample_dataset_path

    base = {"model.pretrained_model_name_or_path": str(pickled_sd1)}
    cfg = new_config("tiny-demo", {**base, "dataset.train_data_dir": str(sample_dataset_path())})
    problems = validate(cfg).problems
    assert [p.field for p in problems] == ["model.pretrained_model_name_or_path"]
    assert "only as pickle files" in problems[0].problem
