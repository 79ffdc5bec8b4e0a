"""Check lorakit against sd-scripts' own code: buckets, validation split, and the sd-scripts export.

lorakit does not ship or copy sd-scripts; this script imports it from a checkout you point it at and
runs it side by side with ours, on many cases:

- buckets: ``library/model_util.py`` make_bucket_resolutions, ``library/train_util.py`` BucketManager;
- validation split: ``train_util.split_train_val``;
- export (``--only export``): every preset and a many-option config per family (plus variants) are
  exported with lorakit, then read by sd-scripts exactly as its training scripts do: the script's own
  ``setup_parser()`` and ``read_config_from_file`` (config.toml), ``verify_training_args`` and the
  trainer's ``assert_extra_args``, ``config_util`` (ConfigSanitizer, BlueprintGenerator,
  ``generate_dataset_group_by_blueprint`` over real image folders, buckets made), ``get_optimizer`` and
  ``get_scheduler_fix``. What sd-scripts would use is compared with what the lorakit config means
  (the plan's batches and steps, every subset option, every argument, the optimizer's settings and the
  learning rate at every step).

Run it after changing ``data/buckets.py`` or ``config/kohya*.py``, or when sd-scripts changes:

    git clone https://github.com/kohya-ss/sd-scripts /tmp/sd-scripts
    PYTHONPATH=src .venv/bin/python scripts/verify_against_sd_scripts.py /tmp/sd-scripts

Requirements (a dev tool: not in pyproject): sd-scripts' imports need torch, transformers, diffusers,
accelerate, safetensors (lorakit's own) and ``voluptuous toml einops opencv-python-headless imagesize``
(``.venv/bin/pip install ...``). torchvision is replaced by a stand-in when it is missing (sd-scripts imports
it for image transforms that these checks never call), and transformers 5's missing ``CLIPFeatureExtractor``
is aliased to ``CLIPImageProcessor``. Without a checkout the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import sys
import types
import typing
from pathlib import Path

import numpy as np

from lorakit.data.buckets import BucketSet, BucketSettings
from lorakit.data.scan import split_for_validation

SETTINGS = [  # (resolution, min, max, step, no_upscale)
    ((512, 512), 256, 1024, 64, False),
    ((1024, 1024), 256, 2048, 64, False),
    ((1024, 1024), 256, 2048, 32, False),
    ((768, 768), 320, 1536, 64, False),
    ((768, 512), 256, 1024, 64, False),
    ((512, 512), 256, 1024, 64, True),
    ((1024, 1024), 256, 2048, 32, True),
]


def _block(source: str, start: str) -> str:
    """One top-level definition: from ``start`` to the next line that is not indented."""
    lines = source[source.index(start) :].splitlines()
    end = next(
        (i for i, line in enumerate(lines[1:], 1) if line and not line[0].isspace() and line[0] not in "#)"),
        len(lines),
    )
    return "\n".join(lines[:end])


def load_sd_scripts(root: Path) -> dict[str, typing.Any]:
    model_util = (root / "library" / "model_util.py").read_text(encoding="utf-8")
    train_util = (root / "library" / "train_util.py").read_text(encoding="utf-8")
    names: dict[str, typing.Any] = {"math": math, "np": np, "random": random, "logging": logging}
    names.update(Tuple=tuple, List=list, Optional=typing.Optional)
    exec(_block(model_util, "def make_bucket_resolutions"), names)
    names["model_util"] = types.SimpleNamespace(make_bucket_resolutions=names["make_bucket_resolutions"])
    exec(_block(train_util, "class BucketManager"), names)
    exec(_block(train_util, "def split_train_val("), names)
    return names


def check_buckets(sd: dict[str, typing.Any], cases: int, rng: random.Random) -> int:
    checked = 0
    for resolution, low, high, step, no_upscale in SETTINGS:
        theirs = sd["BucketManager"](no_upscale, resolution, low, high, step)
        if not no_upscale:
            theirs.make_buckets()
        ours = BucketSet(BucketSettings(resolution, True, low, high, step, no_upscale))
        if not no_upscale:
            assert ours.resolutions == theirs.predefined_resos, f"bucket list differs for {resolution}"
        for _ in range(cases):
            w, h = rng.randint(64, 5000), rng.randint(64, 5000)
            if ours.resolutions and rng.random() < 0.1:
                w, h = rng.choice(ours.resolutions)
            try:
                bucket, resized, error = theirs.select_bucket(w, h)
            except ZeroDivisionError:
                continue  # very thin images with no_upscale: sd-scripts crashes; lorakit places or reports them
            if min(bucket) <= 0:
                continue  # sd-scripts would fail later; lorakit reports such images instead
            placed = ours.place(w, h)
            assert placed.bucket == tuple(bucket) and placed.resized == tuple(resized), (w, h, bucket, resized, placed)
            assert abs(placed.aspect_error - error) < 1e-12
            assert placed.sdxl_crop_ltrb == theirs.get_crop_ltrb(bucket, (w, h))
            checked += 1
    return checked


def check_split(sd: dict[str, typing.Any]) -> int:
    checked = 0
    for n in range(1, 60):
        paths = [f"/d/{i:03d}.png" for i in range(n)]
        for share in (0.05, 0.1, 0.15, 0.2, 0.25, 0.33, 0.5):
            for seed in (0, 1, 42, 1234):
                train, _ = sd["split_train_val"](paths, [None] * n, True, share, seed)
                held, _ = sd["split_train_val"](paths, [None] * n, False, share, seed)
                ours_train, ours_held = split_for_validation([Path(p) for p in paths], share, seed)
                assert [str(p) for p in ours_train] == train and [str(p) for p in ours_held] == held
                checked += 1
    return checked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sd_scripts", type=Path, nargs="?", help="an sd-scripts checkout (the folder with library/)")
    parser.add_argument("--cases", type=int, default=20000, help="random image sizes per bucket setting")
    parser.add_argument("--only", choices=("buckets", "export", "all"), default="all")
    parser.add_argument(
        "--write-names",
        type=Path,
        help="write sd-scripts' argument and dataset key names as JSON (tests/config/golden/sd_scripts_names.json)",
    )
    args = parser.parse_args()
    if args.sd_scripts is None or not (args.sd_scripts / "library" / "train_util.py").is_file():
        print(
            "skipped: no sd-scripts checkout given (git clone https://github.com/kohya-ss/sd-scripts /tmp/sd-scripts;"
            " then pass /tmp/sd-scripts)."
        )
        return 0
    if args.write_names is not None:
        import json

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from sd_scripts_export_check import argument_names

        args.write_names.write_text(json.dumps(argument_names(args.sd_scripts), indent=1) + "\n")
        print(f"wrote {args.write_names}")
        return 0
    if args.only in ("buckets", "all"):
        sd = load_sd_scripts(args.sd_scripts)
        buckets = check_buckets(sd, args.cases, random.Random(0))
        splits = check_split(sd)
        print(f"identical: {buckets} bucket placements over {len(SETTINGS)} settings, {splits} validation splits")
    if args.only in ("export", "all"):
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from sd_scripts_export_check import check_exports

        differences = check_exports(args.sd_scripts)
        if differences:
            print(f"DIFFERENCES ({len(differences)}):")
            for line in differences:
                print("  " + line)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
