"""Buckets must match sd-scripts exactly: the lists, the choice of bucket, the resize and the crop.

Expected values are worked out by hand from sd-scripts' rules (library/model_util.py
make_bucket_resolutions, library/train_util.py BucketManager.select_bucket / get_crop_ltrb); each case
shows the arithmetic.
"""

from __future__ import annotations

import pytest

from lorakit.data.buckets import BucketSet, BucketSettings, crop_box, make_bucket_resolutions
from lorakit.errors import ConfigError

# SD1.5 at 512, sd-scripts defaults (min 256, max 1024, step 64): area 262144.
# width 256: 262144//256 = 1024 → (256, 1024); 320: 819 → 768; 384: 682 → 640; 448: 585 → 576;
# 512: 512; 576: 455 → 448; 640: 409 → 384; 704: 372 → 320; 768: 341 → 320; 832: 315 → 256;
# 896: 292 → 256; 960: 273 → 256; 1024: 256. Each also transposed; sorted.
SD1_512 = [
    (256, 832), (256, 896), (256, 960), (256, 1024), (320, 704), (320, 768), (384, 640), (448, 576),
    (512, 512), (576, 448), (640, 384), (704, 320), (768, 320), (832, 256), (896, 256), (960, 256), (1024, 256),
]  # fmt: skip


def test_sd1_512_bucket_list_matches_sd_scripts():
    assert make_bucket_resolutions((512, 512), 256, 1024, 64) == SD1_512
    assert BucketSet(BucketSettings.square(512)).resolutions == SD1_512


def test_sdxl_1024_bucket_list_has_the_known_sizes():
    resos = BucketSet(BucketSettings.square(1024, max_bucket_reso=2048)).resolutions
    # The sizes SDXL was trained at (Stability's list), and their transposes.
    for w, h in [(1024, 1024), (1152, 896), (1216, 832), (1344, 768), (1536, 640)]:
        assert (w, h) in resos and (h, w) in resos
    # 1088 would need 1048576 // 1088 = 963 → 960: (1088, 960) is in, (1088, 1024) is not (too much area).
    assert (1088, 960) in resos and (1088, 1024) not in resos
    assert all(w * h <= 1024 * 1024 and w % 64 == 0 and h % 64 == 0 for w, h in resos)
    assert len(resos) == 41 and resos == sorted(set(resos))
    # Width 256 would allow a height of 4096: capped at max_bucket_reso.
    assert (256, 2048) in resos and all(max(r) <= 2048 for r in resos)


def test_sdxl_steps_of_32_add_in_between_sizes():
    resos = make_bucket_resolutions((1024, 1024), 256, 2048, 32)
    # width 1184: 1048576 // 1184 = 885 → 864 with step 32
    assert (1184, 864) in resos and (864, 1184) in resos
    assert (1184, 864) not in make_bucket_resolutions((1024, 1024), 256, 2048, 64)


@pytest.mark.parametrize(
    ("size", "bucket", "resized", "box"),
    [
        # 600×800 (ar 0.75): nearest ratio 448/576 = 0.778 (384/640 = 0.6 is further). 0.75 < 0.778 so width
        # fits: scale 448/600 → height int(800 × 0.7467 + 0.5) = 597; crop (597 − 576) // 2 = 10 from the top.
        ((600, 800), (448, 576), (448, 597), (0, 10, 448, 586)),
        # An exact bucket size stays as it is.
        ((512, 512), (512, 512), (512, 512), (0, 0, 512, 512)),
        # 800×600 (ar 1.333) → 576×448 (1.286); wider than the bucket so height fits: 448/600 → width 597.
        ((800, 600), (576, 448), (597, 448), (10, 0, 586, 448)),
        # 300×300 is upscaled into 512×512.
        ((300, 300), (512, 512), (512, 512), (0, 0, 512, 512)),
        # 2000×400 (ar 5) → the widest bucket 1024×256 (ar 4); height fits: 256/400 → width 1280; crop 128.
        ((2000, 400), (1024, 256), (1280, 256), (128, 0, 1152, 256)),
    ],
)
def test_sd1_selection_resize_and_crop(size, bucket, resized, box):
    placement = BucketSet(BucketSettings.square(512)).place(*size)
    assert placement.bucket == bucket
    assert placement.resized == resized
    assert placement.crop_box == box
    assert (box[2] - box[0], box[3] - box[1]) == bucket


def test_sdxl_photo_goes_to_1216x832_with_sd_scripts_crop_conditioning():
    placement = BucketSet(BucketSettings.square(1024, max_bucket_reso=2048)).place(3000, 2000)
    # ar 1.5: 1216/832 = 1.4615 (error 0.038) beats 1280/768 = 1.667; height fits: 832/2000 → 1248×832.
    assert placement.bucket == (1216, 832)
    assert placement.resized == (1248, 832)
    assert placement.crop_box == (16, 0, 1232, 832)
    assert placement.aspect_error == pytest.approx(1216 / 832 - 1.5)
    # get_crop_ltrb: bucket ar < image ar → fit width 1216, height 1216 / 1.5 = 810.67, top (832 − 810.67) // 2.
    assert placement.sdxl_crop_ltrb == pytest.approx((0, 10, 1216, 1216 / 1.5 + 10))
    assert not placement.upscaled and placement.scale == pytest.approx(0.416)


def test_bucketing_off_is_one_centre_cropped_size():
    buckets = BucketSet(BucketSettings(resolution=(512, 512), enable_bucket=False))
    placement = buckets.place(1000, 500)
    # Wider than the square: height fits, 512/500 → 1024×512, crop (1024 − 512) // 2 = 256 each side.
    assert (placement.bucket, placement.resized, placement.crop_box) == ((512, 512), (1024, 512), (256, 0, 768, 512))
    assert buckets.resolutions == [(512, 512)]


@pytest.mark.parametrize(
    ("size", "bucket", "resized"),
    [
        # Small enough: kept as is, bucket floored to the step: 300 → 256, 200 → 192.
        ((300, 200), (256, 192), (300, 200)),
        # Too large (area 1e6 > 262144): sqrt(262144 × 2) = 724.08 wide. Rounding the width: 704 and
        # 704 / 2 = 352 → 320 gives ar 2.2; rounding the height: 362 → 320, 640 → ar 2.0 exactly: that wins.
        ((2000, 1000), (640, 320), (640, 320)),
        # Square and too large: both roundings tie, sd-scripts takes the height branch: 512×512.
        ((1000, 1000), (512, 512), (512, 512)),
    ],
)
def test_no_upscale_gives_each_image_its_own_bucket(size, bucket, resized):
    buckets = BucketSet(BucketSettings.square(512, bucket_no_upscale=True))
    placement = buckets.place(*size)
    assert (placement.bucket, placement.resized) == (bucket, resized)
    assert not placement.upscaled
    assert placement.crop_box == crop_box(resized, bucket)
    assert buckets.resolutions == []


def test_no_upscale_refuses_an_image_smaller_than_one_step():
    with pytest.raises(ValueError, match="smaller than one bucket step"):
        BucketSet(BucketSettings.square(512, bucket_no_upscale=True)).place(50, 300)


def test_min_and_max_are_rounded_to_the_step_like_sd_scripts():
    buckets = BucketSet(BucketSettings.square(512, min_bucket_reso=250, max_bucket_reso=1000))
    assert (buckets.min_size, buckets.max_size) == (192, 1024)


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        (BucketSettings.square(512, min_bucket_reso=640), "min_bucket_reso"),
        (BucketSettings.square(1024, max_bucket_reso=768), "max_bucket_reso"),
        (BucketSettings.square(512, bucket_reso_steps=0), "bucket_reso_steps"),
    ],
)
def test_impossible_bucket_settings_name_the_field(settings, field):
    with pytest.raises(ConfigError) as caught:
        BucketSet(settings)
    assert caught.value.field == field and caught.value.fix


def test_random_crop_offset_keeps_the_bucket_size():
    assert crop_box((597, 448), (576, 448), offset=(21, 0)) == (21, 0, 597, 448)
