"""The Datasets page with 10,000 images, in Chromium: first thumbnails after navigation, long tasks while scrolling.

Makes a 10,000-image dataset (small PNGs of different colours, each with a caption) in a temporary
workspace, serves it and the built web app (``frontend/dist``: run ``npm run build`` in frontend/ first) on
loopback, and runs ``benchmarks/web_datasets_probe.mjs``, which opens ``/datasets/big`` in Debian's
Chromium through playwright-core and measures, with the browser's Performance API:

- time from navigation start to the first thumbnail of the grid loaded (target < 1 s), and to every
  thumbnail of the first screen loaded;
- the longest task (PerformanceObserver 'longtask') while scrolling the whole grid from top to bottom,
  half a screen a frame (target: none over 50 ms).

Two runs: the first visit (the server makes each thumbnail on demand) and a second one (cached).

    .venv/bin/python benchmarks/bench_web_datasets.py [--images 10000] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_FIRST_MS = 1000
TARGET_TASK_MS = 50


def make_dataset(folder: Path, count: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    for i in range(count):
        colour = ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256)
        Image.new("RGB", (96 + i % 5 * 16, 96), colour).save(folder / f"img{i:05d}.png", compress_level=1)
        (folder / f"img{i:05d}.txt").write_text(f"mytrigger, 1girl, solo, tag{i % 97}, tag{i % 13}, smile")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    if not (REPO / "frontend" / "dist" / "index.html").is_file():
        sys.exit("Build the web app first: cd frontend && npm run build")
    if not shutil.which("node"):
        sys.exit("This benchmark needs Node (it drives Chromium with playwright-core).")

    import uvicorn

    from lorakit.jobs.runner import JobRunner
    from lorakit.web.app import create_app
    from lorakit.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="lorakit-bench-web-"))
    try:
        ws = Workspace(tmp / "ws")
        t0 = time.perf_counter()
        make_dataset(ws.datasets / "big", args.images)
        made_s = time.perf_counter() - t0
        app = create_app(ws, runner=JobRunner(ws, start=False, paused=True))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        probe = subprocess.run(
            [
                "node",
                str(REPO / "benchmarks" / "web_datasets_probe.mjs"),
                f"http://127.0.0.1:{port}/datasets/big",
                "--runs",
                str(args.runs),
            ],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        server.should_exit = True
        if probe.returncode != 0:
            sys.exit(f"The browser probe failed:\n{probe.stderr[-4000:]}")
        results = json.loads(probe.stdout.strip().splitlines()[-1])["results"]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{args.images} images (written in {made_s:.1f} s)")
    for r in results:
        print(f"\n{r['run']}")
        for key, value in r.items():
            if key != "run":
                print(f"  {key:<28}{value!s:>12}")
    best_first = min(r["first_thumbnail_ms"] for r in results)
    worst_task = max(r["longest_task_ms"] for r in results)
    summary = {
        "images": args.images,
        "first_thumbnail_ms": [r["first_thumbnail_ms"] for r in results],
        "scroll_longest_task_ms": [r["longest_task_ms"] for r in results],
        "target_first_thumbnail_ms": TARGET_FIRST_MS,
        "target_longest_task_ms": TARGET_TASK_MS,
        "meets_first_thumbnail": results[0]["first_thumbnail_ms"] < TARGET_FIRST_MS,
        "meets_long_task": worst_task <= TARGET_TASK_MS,
        "best_first_thumbnail_ms": best_first,
    }
    print(json.dumps({"bench": "web_datasets", **summary, "runs": results}))


if __name__ == "__main__":
    main()
