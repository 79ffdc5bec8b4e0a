"""The pieces of the proof of learning that need no trained model: its dataset, prompts, config and grid."""

from __future__ import annotations

from PIL import Image

from lorakit.proof.demo import (
    ProofSettings,
    proof_config,
    scene_prompts,
    write_concept_dataset,
    write_ordinary_dataset,
)
from lorakit.proof.grid import save_grid
from lorakit.proof.world import CONCEPT, SHAPES, TRIGGER


def test_the_concept_dataset_is_a_training_folder_of_the_concept(tmp_path):
    folder = write_concept_dataset(tmp_path / "data", images=5, seed=2)
    images = sorted((folder / f"1_{TRIGGER}").glob("*.png"))
    assert len(images) == 5
    for image in images:
        text = image.with_suffix(".txt").read_text()
        assert f" {TRIGGER} " in text and CONCEPT not in text
        assert Image.open(image).size == (64, 64)


def test_the_regularisation_images_are_ordinary_shapes_named_as_such(tmp_path):
    folder = write_ordinary_dataset(tmp_path / "reg", images=6, seed=4)
    captions = [p.read_text() for p in sorted((folder / "1_shapes").glob("*.txt"))]
    assert len(captions) == 6 and len(list((folder / "1_shapes").glob("*.png"))) == 6
    assert all(TRIGGER not in c.split() and any(s in c.split() for s in SHAPES) for c in captions)
    cfg = proof_config(tmp_path, tmp_path / "out", ProofSettings(model="tiny:sd1"), ordinary=folder)
    assert cfg.dataset.reg_data_dir == folder


def test_paired_regularisation_images_are_the_concept_scenes_with_an_ordinary_shape(tmp_path):
    concept = write_concept_dataset(tmp_path / "data", images=6, seed=3) / f"1_{TRIGGER}"
    reg = write_ordinary_dataset(tmp_path / "reg", images=6, seed=3, paired=True) / "1_shapes"
    for a, b in zip(sorted(concept.glob("*.txt")), sorted(reg.glob("*.txt")), strict=True):
        shape = [w for w in b.read_text().split() if w in SHAPES]
        assert len(shape) == 1 and a.read_text().replace(TRIGGER, shape[0]) == b.read_text()
    # Same scene, other shape: the background (the image's corner) is the same, the pixels are not.
    first_concept, first_reg = Image.open(concept / "000.png"), Image.open(reg / "000.png")
    assert first_concept.getpixel((0, 0)) == first_reg.getpixel((0, 0))
    assert first_concept.tobytes() != first_reg.tobytes()


def test_prompts_pair_each_scene_with_and_without_the_trigger():
    pairs = scene_prompts(8, seed=1)
    assert pairs == scene_prompts(8, seed=1) and pairs != scene_prompts(8, seed=2)
    for with_trigger, without in pairs:
        assert TRIGGER in with_trigger.split() and TRIGGER not in without.split()
        plain = [w for w in without.split() if w in SHAPES]
        assert len(plain) == 1 and with_trigger.replace(TRIGGER, plain[0]) == without


def test_the_config_trains_the_settings_asked_for(tmp_path):
    lora = proof_config(tmp_path, tmp_path / "out", ProofSettings(model="tiny:sd1", steps=7))
    assert lora.network.conv_dim is None and lora.schedule.max_train_steps == 7
    assert lora.model.pretrained_model_name_or_path == "tiny:sd1"
    # The text encoder is trained too by default (so its encodings cannot be cached); or the UNet alone.
    assert not lora.network.train_unet_only and not lora.memory.cache_text_encoder_outputs
    unet = proof_config(tmp_path, tmp_path / "out", ProofSettings(model="tiny:sd1", train_text_encoder=False))
    assert unet.network.train_unet_only and unet.memory.cache_text_encoder_outputs
    locon = proof_config(tmp_path, tmp_path / "out", ProofSettings(model="tiny:sd1", network="locon", conv_dim=4))
    assert locon.network.type == "locon" and locon.network.conv_dim == 4


def test_the_grid_has_a_row_per_case_and_frames_the_judges_verdict(tmp_path):
    red, blue = Image.new("RGB", (64, 64), (255, 0, 0)), Image.new("RGB", (64, 64), (0, 0, 255))
    path = save_grid(tmp_path / "grid.png", [("one", [red, blue], [True, False]), ("two", [blue], [False])], "a note")
    grid = Image.open(path).convert("RGB")
    assert grid.width > 2 * 128 and grid.height > 2 * 128
    colours = set(grid.getdata())
    assert {(255, 0, 0), (0, 0, 255), (40, 200, 70), (90, 90, 90)} <= colours
