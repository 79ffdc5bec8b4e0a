from __future__ import annotations

import pytest
from safetensors import safe_open

from lorakit.jobs.runner import JobRunner
from lorakit.studio import feedback, train
from lorakit.studio.store import StudioError


def _approve(store, character, png, n):
    for i in range(n):
        feedback.approve(store, store.add_image(character.id, png(i), source="generated").id)


def test_nine_approved_images_are_refused_with_the_count(store, character, png):
    _approve(store, character, png, 9)
    feedback.reject(store, store.add_image(character.id, png(20), source="upload").id, ["wrong_pose"])
    with pytest.raises(StudioError, match="has 9 approved image\\(s\\); training needs at least 10") as caught:
        train.check_gate(store, character.id)
    assert caught.value.fix == "Approve 1 more."


def test_a_project_without_a_checkpoint_is_refused(store, png):
    store.create_project("Empty")
    character = store.create_character("Empty", "Kai")
    _approve(store, character, png, 10)
    with pytest.raises(StudioError, match="no checkpoint"):
        train.check_gate(store, character.id)


def test_the_dataset_holds_the_approved_images_with_captions(workspace, store, character, png):
    _approve(store, character, png, 10)
    feedback.reject(store, store.add_image(character.id, png(30), source="upload").id, ["wrong_pose"])
    images_dir = train.build_dataset(store, character.id, repeats=3)
    folder = workspace.root / images_dir
    assert folder.name == "3_mira"
    assert len(list(folder.glob("*.png"))) == 10
    captions = {p.read_text() for p in folder.glob("*.txt")}
    assert captions == {"mira, 1girl, red hair, green eyes\n"}
    config = train.training_config(store, character.id, images_dir, {"network.dim": 2}, 3)
    assert config["model"]["pretrained_model_name_or_path"] == "tiny:sd1"
    assert config["network"]["dim"] == 2
    assert config["dataset"]["subsets"] == [{"image_dir": images_dir, "num_repeats": 3}]


@pytest.mark.slow
def test_tiny_training_lands_its_lora_in_the_project_folder(workspace, store, png):
    store.create_project(
        "Tiny",
        checkpoint="tiny:sd1",
        lora_folder="comfy/loras",
        train_preset="tiny-demo",
        train_settings={"schedule.max_train_epochs": 1},
    )
    character = store.create_character("Tiny", "Mira", design_prompt="1girl, red hair")
    _approve(store, character, png, 10)
    with JobRunner(workspace, poll_s=0.05) as runner:
        started = train.start_training(store, runner, character.id, {"network.dim": 2, "network.alpha": 2})
        assert started.state == "queued"
        job = runner.wait(started.job_id, 600)
        assert job.state == "completed", job.error
        (done,) = train.collect(store, runner)
        assert train.collect(store, runner) == []  # settled once
    assert done.state == "copied" and done.lora_path == "comfy/loras/mira.safetensors"
    with safe_open(str(workspace.root / done.lora_path), "pt") as f:
        shapes = {tuple(f.get_slice(k).get_shape()) for k in f.keys() if "lora_down" in k}  # noqa: SIM118
    assert shapes and all(s[0] == 2 for s in shapes)  # the override reached the training
