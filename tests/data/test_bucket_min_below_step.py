"""min_bucket_reso below one bucket step: validation refuses it with a fix, and buckets never divide by zero."""

from __future__ import annotations

from lorakit.config.presets import new_config
from lorakit.config.validate import validate
from lorakit.data.buckets import BucketSet, BucketSettings
from lorakit.data.plan import plan_for_config
from lorakit.data.scan import sample_dataset_path

SMALL_MIN = {"dataset.enable_bucket": True, "dataset.min_bucket_reso": 32, "dataset.bucket_reso_steps": 64}


def _config(**extra):
    return new_config(
        "tiny-demo",
        {"dataset.train_data_dir": str(sample_dataset_path()), "dataset.resolution": 128, **SMALL_MIN, **extra},
    )


def test_validation_refuses_a_min_below_one_step():
    report = validate(_config())
    found = [p for p in report.problems if p.field == "dataset.min_bucket_reso"]
    assert len(found) == 1, [p.problem for p in report.problems]
    assert "smaller than one bucket step" in found[0].problem
    assert "Use 64 or more" in found[0].fix
    assert not any(w.field == "dataset.min_bucket_reso" for w in report.warnings)  # said once, as a problem


def test_rounding_warnings_say_which_way():
    report = validate(_config(**{"dataset.min_bucket_reso": 100, "dataset.max_bucket_reso": 300}))
    words = {w.field: w.problem for w in report.warnings}
    assert "rounded down to 64" in words["dataset.min_bucket_reso"]
    assert "rounded up to 320" in words["dataset.max_bucket_reso"]


def test_buckets_use_one_step_as_the_least_side():
    buckets = BucketSet(BucketSettings((128, 128), min_bucket_reso=32, max_bucket_reso=256, bucket_reso_steps=64))
    assert buckets.min_size == 64
    assert min(min(r) for r in buckets.resolutions) == 64
    assert buckets.bucket_for(300, 100) in buckets.resolutions


def test_plan_of_such_a_config_does_not_crash():
    plan = plan_for_config(_config())
    assert plan.total_steps > 0
