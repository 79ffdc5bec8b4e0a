"""face_crop_aug_range: the face box comes from the file name and the crop is centred on it (sd-scripts)."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import lorakit
from lorakit.config.dataset import ResolvedSubset
from lorakit.data.buckets import BucketSet, BucketSettings
from lorakit.data.face_crop import FaceBox, face_box, face_crop
from lorakit.train.data import Example, load_example

SAMPLES = Path(lorakit.__file__).parent / "sample_data" / "10_kitbot"


@pytest.mark.parametrize(
    ("name", "box"),
    [
        ("kitbot_03_120_40_40_36.png", FaceBox(120, 40, 40, 36)),
        ("img_1_2_3_4.png", FaceBox(1, 2, 3, 4)),  # 5 tokens: the last 4 are the box
        ("kitbot_03.png", None),
        ("a_b_c_d_e.png", None),  # not numbers
        ("kitbot_0_10_20_20.png", None),  # cx 0: no face (sd-scripts' "face_cx > 0")
    ],
)
def test_face_box_from_the_file_name(name, box):
    assert face_box(name) == box


def test_crop_hand_worked():
    # 400x300, face 50 px at (100, 150), target 64², range (2, 2): the face must become 64/2 = 32 px, so
    # scale = 0.64 → 256x192, face centre (64, 96), crop starts at (64 - 32, 96 - 32) = (32, 64).
    crop = face_crop((400, 300), FaceBox(100, 150, 50, 50), (64, 64), (2.0, 2.0), random.Random(0))
    assert crop.resized == (256, 192) and crop.box == (32, 64, 96, 128)
    # A face near the edge: the crop is clamped inside the image.
    crop = face_crop((400, 300), FaceBox(390, 5, 50, 50), (64, 64), (2.0, 2.0), random.Random(0))
    assert crop.box == (256 - 64, 0, 256, 64)
    # A range: the face's size varies between 1/4 and 1/2 of the target's side (scale 0.32-0.64).
    sizes = {
        face_crop((400, 300), FaceBox(200, 150, 50, 50), (64, 64), (2.0, 4.0), random.Random(s)).resized
        for s in range(20)
    }
    assert len(sizes) > 5 and all(102 <= w <= 256 and 77 <= h <= 192 for w, h in sizes)


def _example(path: Path, **subset) -> Example:
    placement = BucketSet(BucketSettings.square(64, min_bucket_reso=32, bucket_reso_steps=32)).place(
        *Image.open(path).size
    )
    return Example(path, "kitbot", False, 1, ResolvedSubset(image_dir=path.parent, **subset), placement)


def test_sample_image_with_a_face_box_is_cropped_around_it(tmp_path):
    path = tmp_path / "kitbot_03_120_40_40_40.png"
    shutil.copy(SAMPLES / "kitbot_03.png", path)  # 160x96
    example = _example(path, face_crop_aug_range=(2.0, 2.0))
    assert not example.cacheable
    loaded = load_example(example, random.Random(0), flip=False)
    # Hand-worked: target 64², face 40 px → scale 64/(40·2) = 0.8 → 128x77; centre (96, 32) → box (64, 0, 128, 64).
    want = Image.open(SAMPLES / "kitbot_03.png").convert("RGB").resize((128, 77), Image.Resampling.BOX)
    want = want.crop((64, 0, 128, 64))
    pixels = torch.from_numpy(np.asarray(want, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0
    assert torch.allclose(loaded.pixels, pixels, atol=1e-6)
    assert loaded.sizes[2:4].tolist() == [0.0, 64.0]  # SDXL crop conditioning: top, left of the face crop
    plain = load_example(_example(path), random.Random(0), flip=False)  # no range: the usual centre crop
    assert not torch.allclose(plain.pixels, loaded.pixels)


def test_names_without_a_face_box_are_cropped_as_usual(tmp_path):
    path = tmp_path / "kitbot_03.png"
    shutil.copy(SAMPLES / "kitbot_03.png", path)
    with_range = load_example(_example(path, face_crop_aug_range=(2.0, 4.0)), random.Random(0), flip=False)
    without = load_example(_example(path), random.Random(0), flip=False)
    assert torch.equal(with_range.pixels, without.pixels)
    assert _example(path, face_crop_aug_range=(2.0, 4.0)).cacheable


def test_a_range_varies_the_crop_between_draws(tmp_path):
    path = tmp_path / "kitbot_01_64_50_30_30.png"
    shutil.copy(SAMPLES / "kitbot_01.png", path)  # 128x128
    example = _example(path, face_crop_aug_range=(1.5, 3.0))
    draws = [load_example(example, random.Random(s), flip=False).pixels for s in range(6)]
    assert all(d.shape == (3, 64, 64) for d in draws)
    assert any(not torch.equal(draws[0], d) for d in draws[1:])
