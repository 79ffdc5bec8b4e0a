"""How fast the step plan scans a big dataset: first scan, re-plan with the size cache, against a plain loop.

Writes N small PNGs with captions into a temporary folder, then times:
  reference   a plain loop: Image.open(path).size for each file, one thread (what a simple script does)
  scan cold   lorakit's scan (header reads in threads, captions) with an empty cache
  scan cached the same scan in a "new process": the size cache loaded from its JSON file
  plan cached the whole plan (scan + buckets + steps + advice) with the cache
The OS file cache is warm for all of them (the files were just written), so this measures our work, not
the disk; on a slow or network disk the threads help the cold scan more.

    .venv/bin/python benchmarks/bench_plan_scan.py [--images 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from PIL import Image

from lorakit.config.dataset import AugmentOptions, CaptionOptions, SubsetConfig, resolve_subset
from lorakit.data.buckets import BucketSettings
from lorakit.data.plan import Schedule, make_plan
from lorakit.data.scan import SizeCache, list_images, scan_subsets


def _make(folder: Path, count: int) -> None:
    rng = random.Random(0)
    folder.mkdir(parents=True)
    for i in range(count):
        size = (rng.choice((48, 64, 80, 96)), rng.choice((48, 64, 80, 96)))
        Image.new("RGB", size, (i % 256, 80, 160)).save(folder / f"img_{i:05d}.png", compress_level=1)
        (folder / f"img_{i:05d}.txt").write_text("ohwx, cat, sitting, indoors\n", encoding="utf-8")


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "10_cat"
        made_s, _ = _timed(lambda: _make(folder, args.images))
        subset = resolve_subset(SubsetConfig(image_dir=folder, num_repeats=10), CaptionOptions(), AugmentOptions())
        cache_file = Path(tmp) / "sizes.json"

        def reference():
            sizes = []
            for path in list_images(folder):
                with Image.open(path) as image:
                    sizes.append(image.size)
            return sizes

        ref_s, sizes = _timed(reference)
        cold_s, scans = _timed(lambda: scan_subsets([subset], cache=SizeCache(cache_file)))
        warm_s, warm = _timed(lambda: scan_subsets([subset], cache=SizeCache(cache_file)))
        settings = BucketSettings.square(64, min_bucket_reso=32, bucket_reso_steps=16)
        plan_s, plan = _timed(lambda: make_plan([subset], settings, Schedule(epochs=1), cache=SizeCache(cache_file)))
        assert [(i.width, i.height) for i in scans[0].images] == sizes == [(i.width, i.height) for i in warm[0].images]
        assert plan.train_images == args.images

    rows = [
        ("reference (1 thread, size only)", ref_s),
        ("scan cold (sizes + captions)", cold_s),
        ("scan with size cache", warm_s),
        ("plan with size cache", plan_s),
    ]
    print(f"{args.images} images (written in {made_s:.1f} s)")
    print(f"{'what':<34}{'seconds':>9}{'images/s':>11}{'vs reference':>14}")
    for name, seconds in rows:
        print(f"{name:<34}{seconds:>9.3f}{args.images / seconds:>11.0f}{ref_s / seconds:>13.2f}x")
    print(
        json.dumps(
            {
                "bench": "plan_scan",
                "images": args.images,
                "reference_s": round(ref_s, 3),
                "scan_cold_s": round(cold_s, 3),
                "scan_cached_s": round(warm_s, 3),
                "plan_cached_s": round(plan_s, 3),
                "cold_vs_reference": round(ref_s / cold_s, 2),
                "cached_vs_reference": round(ref_s / warm_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
