"""10,000 images: health check + duplicate search versus merely decoding them; a bulk tag edit over all.

The reference is what a user would otherwise run to find the unusable files in a dataset, and the least
any checker must do: a loop that opens and decodes every image with Pillow (``Image.open(p).load()``),
measured in the same run on the same files with the same number of threads. It is timed two ways:
- "decode, full": every JPEG decoded at full size, as such a script does;
- "decode, draft": JPEGs decoded with the same ``draft()`` rule as lorakit's check (libjpeg's DCT scaling
  to 1/2..1/4..1/8 while the shorter side stays >= DECODE_SIDE); like for like with ours.
Ours is ``check_dataset`` (decode, modes, transparency, perceptual hashes, captions, tag statistics,
buckets and the exact step plan) followed by ``find_duplicates`` (which reuses the hashes the check
cached). The check decodes JPEGs at reduced DCT scale (every byte is still decoded, so damaged files are
still found; it needs sizes from the header and a 64 px copy for hashes), PNGs in full. The dataset is
half of each. Targets: (check + dedup) / decode <= 1.5 against the like-for-like (draft) reference; a bulk
tag edit over every caption < 1 s (and its undo). Both ratios are printed.

    .venv/bin/python benchmarks/bench_dataset_10k.py [--n 10000] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

TARGET_RATIO = 1.5
TARGET_EDIT_S = 1.0
TAGS = [f"tag{i}" for i in range(200)]


def make_dataset(folder: Path, n: int, seed: int = 0) -> None:
    """Smooth random pictures (upscaled noise: compresses like photos, unlike pure noise), PNG and JPEG,
    sizes 256-512 px, a few near-duplicates, and tag captions."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)

    def one(i: int) -> None:
        local = np.random.default_rng(seed * 1_000_003 + i)
        w, h = int(local.integers(256, 513)), int(local.integers(256, 513))
        base = local.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((w, h), Image.BICUBIC)
        name = f"img{i:05d}"
        if i % 2:
            img.save(folder / f"{name}.jpg", quality=88)
        else:
            img.save(folder / f"{name}.png", compress_level=1)
        tags = ["ohwx", *local.choice(TAGS, size=12, replace=False)]
        (folder / f"{name}.txt").write_text(", ".join(tags), encoding="utf-8")

    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        list(pool.map(one, range(n)))
    _ = rng


def decode_all(paths: list[Path], workers: int, draft_side: int | None = None) -> int:
    """Decode every image; with ``draft_side``, JPEGs at reduced scale by the check's rule. Returns how many
    JPEGs were drafted."""

    def load(path: Path) -> bool:
        with Image.open(path) as img:
            width, height = img.size
            drafted = bool(draft_side) and img.format == "JPEG" and min(width, height) >= 2 * draft_side
            if drafted:
                scale = min(width, height) / draft_side
                img.draft(None, (int(width / scale), int(height / scale)))
            img.load()
            return drafted

    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(load, paths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="number of images")
    parser.add_argument("--workers", type=int, default=None, help="threads (default: one per core, up to 16)")
    args = parser.parse_args()

    from lorakit.data.dedup import DECODE_SIDE, default_workers, find_duplicates
    from lorakit.data.health import check_dataset
    from lorakit.data.images import list_images
    from lorakit.data.journal import Journal
    from lorakit.data.tags import TagEdit, edit_captions

    workers = args.workers or default_workers()
    with tempfile.TemporaryDirectory(prefix="lorakit-bench-") as tmp:
        root = Path(tmp) / "ds"
        t0 = time.perf_counter()
        make_dataset(root, args.n)
        generate_s = time.perf_counter() - t0
        paths = list_images(root)

        decode_all(paths[: min(200, len(paths))], workers)  # warm the page cache and imports alike
        t0 = time.perf_counter()
        decode_all(paths, workers)
        decode_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        drafted = decode_all(paths, workers, draft_side=DECODE_SIDE)
        draft_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = check_dataset(root, resolution=512, trigger_word="ohwx", workers=workers)
        check_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        dedup = find_duplicates(root, workers=workers)
        dedup_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        edit = edit_captions(root, paths, TagEdit("add", tags=["bench tag"]))
        edit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        [undone] = Journal(root).undo()
        undo_s = time.perf_counter() - t0
        assert len(edit.result.changed) == len(paths) == len(undone.restored)

    ratio = (check_s + dedup_s) / draft_s
    ratio_full = (check_s + dedup_s) / decode_s
    steps = report.steps.get("total_steps")
    rows = [
        ("images", f"{len(paths)}"),
        ("threads", f"{workers}"),
        ("generate dataset (not timed)", f"{generate_s:.1f} s"),
        ("reference: decode, full", f"{decode_s:.2f} s"),
        ("reference: decode, draft (like ours)", f"{draft_s:.2f} s ({drafted} JPEGs reduced)"),
        (
            "health check",
            f"{check_s:.2f} s ({len(report.findings)} findings, {steps} steps)",
        ),
        ("dedup (hashes cached by the check)", f"{dedup_s:.2f} s ({len(dedup.groups)} groups)"),
        ("(check + dedup) / decode, draft", f"{ratio:.2f} (target <= {TARGET_RATIO})"),
        ("(check + dedup) / decode, full", f"{ratio_full:.2f}"),
        ("bulk tag edit, every caption", f"{edit_s:.3f} s (target < {TARGET_EDIT_S} s)"),
        ("undo of that edit", f"{undo_s:.3f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    figures = {
        "bench": "dataset_10k",
        "images": len(paths),
        "workers": workers,
        "decode_full_s": round(decode_s, 3),
        "decode_draft_s": round(draft_s, 3),
        "jpegs_drafted": drafted,
        "check_s": round(check_s, 3),
        "dedup_s": round(dedup_s, 3),
        "ratio_check_dedup_vs_decode_draft": round(ratio, 3),
        "ratio_check_dedup_vs_decode_full": round(ratio_full, 3),
        "bulk_edit_s": round(edit_s, 3),
        "undo_s": round(undo_s, 3),
        "targets_met": ratio <= TARGET_RATIO and edit_s < TARGET_EDIT_S,
    }
    print(json.dumps(figures))
    sys.exit(0)


if __name__ == "__main__":
    main()
