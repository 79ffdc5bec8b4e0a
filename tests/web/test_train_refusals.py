"""Training jobs that cannot start fail with the problem and fix, never as an "unexpected error"."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.slow
def test_pickled_diffusers_folder_fails_the_job_in_plain_words(client, workspace, runner, tiny_sd1):
    from diffusers import UNet2DConditionModel

    from lorakit.data.scan import sample_dataset_path

    model = workspace.models / "checkpoints" / "sd1-bin"
    shutil.copytree(tiny_sd1, model)
    unet = UNet2DConditionModel.from_pretrained(str(model / "unet"))
    for weights in (model / "unet").glob("*.safetensors"):
        weights.unlink()
    unet.save_pretrained(str(model / "unet"), safe_serialization=False)
    images = workspace.datasets / "pickled" / "1_kitbot"
    images.mkdir(parents=True)
    for source in sorted((sample_dataset_path() / "10_kitbot").iterdir())[:4]:
        shutil.copy(source, images)

    overrides = {"output.output_dir": "outputs", "output.output_name": "pickled"}
    config = client.post("/api/configs/new", json={"preset": "tiny-demo", "overrides": overrides}).json()["config"]
    config["model"]["pretrained_model_name_or_path"] = "models/checkpoints/sd1-bin"
    config["dataset"]["subsets"] = [{"image_dir": "datasets/pickled/1_kitbot", "num_repeats": 1}]
    job = client.post("/api/jobs", json={"kind": "train", "params": {"config": config}})
    assert job.status_code == 201, job.text
    done = runner.wait(job.json()["id"], 120)
    assert done.state == "failed"
    assert done.error["code"] != "internal", done.error
    assert "only as pickle files" in done.error["message"]
    assert ".safetensors" in (done.error["fix"] or "")
