"""A page of 200 images with their captions from a 10,000-image dataset, through the real server.

uvicorn serves the app on loopback; an HTTP client asks for random pages of
``/api/datasets/<name>/images`` and for the thumbnails of the pages it looked at (after they are
cached). The reference, measured in the same run, is the least any server must do: ``os.scandir`` of
the folder and reading the 200 captions of a page. Target: page p95 < 50 ms.

    .venv/bin/python benchmarks/bench_api_page.py [--images 10000] [--pages 60]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

TARGET_MS = 50.0
PAGE = 200


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def _make_dataset(folder: Path, count: int) -> None:
    from PIL import Image

    folder.mkdir(parents=True)
    # One small PNG written once and copied: the page reads names and captions, never pixels.
    Image.new("RGB", (96, 64), (120, 80, 200)).save(folder / "img00000.png")
    blob = (folder / "img00000.png").read_bytes()
    for i in range(count):
        if i:
            (folder / f"img{i:05d}.png").write_bytes(blob)
        (folder / f"img{i:05d}.txt").write_text(f"mytrigger, 1girl, solo, tag{i % 97}, tag{i % 13}, smile")


def _reference(folder: Path, offsets: list[int]) -> list[float]:
    times = []
    for offset in offsets:
        start = time.perf_counter()
        names = sorted(e.name for e in os.scandir(folder) if e.name.endswith(".png"))
        for name in names[offset : offset + PAGE]:
            with open(folder / (name[:-4] + ".txt"), "rb") as f:
                f.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--thumb-pages", type=int, default=2, help="pages whose thumbnails are cached and fetched")
    args = parser.parse_args()

    import httpx
    import uvicorn

    from lorakit.jobs.runner import JobRunner
    from lorakit.web.app import create_app
    from lorakit.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="lorakit-bench-page-"))
    ws = Workspace(tmp / "ws")
    folder = ws.datasets / "big" / "10_char"
    t0 = time.perf_counter()
    _make_dataset(folder, args.images)
    made_s = time.perf_counter() - t0

    app = create_app(ws, runner=JobRunner(ws, start=False, paused=True))
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)

    rng = random.Random(7)
    offsets = [rng.randrange(0, args.images - PAGE) for _ in range(args.pages)]
    page_ms, thumb_ms = [], []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        first = time.perf_counter()
        client.get("/api/datasets/big/images", params={"offset": 0, "limit": PAGE}).raise_for_status()
        cold_ms = (time.perf_counter() - first) * 1000  # includes listing the 10,000 files once
        thumbs = []
        for offset in offsets[: args.thumb_pages]:
            items = client.get("/api/datasets/big/images", params={"offset": offset, "limit": PAGE}).json()["items"]
            thumbs += [item["path"] for item in items]
        t0 = time.perf_counter()
        for path in thumbs:  # fill the thumbnail cache
            client.get("/api/datasets/big/thumbnail", params={"path": path}).raise_for_status()
        fill_s = time.perf_counter() - t0
        for offset in offsets:
            start = time.perf_counter()
            r = client.get("/api/datasets/big/images", params={"offset": offset, "limit": PAGE})
            page_ms.append((time.perf_counter() - start) * 1000)
            assert r.status_code == 200 and len(r.json()["items"]) == PAGE and r.json()["total"] == args.images
        for path in thumbs:
            start = time.perf_counter()
            client.get("/api/datasets/big/thumbnail", params={"path": path}).raise_for_status()
            thumb_ms.append((time.perf_counter() - start) * 1000)
    server.should_exit = True
    ref_ms = _reference(folder, offsets)

    figures = {
        "images": args.images,
        "page_size": PAGE,
        "page_p50_ms": round(statistics.median(page_ms), 2),
        "page_p95_ms": round(_p95(page_ms), 2),
        "first_page_cold_ms": round(cold_ms, 1),
        "reference_scandir_read_p50_ms": round(statistics.median(ref_ms), 2),
        "reference_scandir_read_p95_ms": round(_p95(ref_ms), 2),
        "page_vs_reference_p95": round(_p95(page_ms) / _p95(ref_ms), 2),
        "thumbnail_cached_p50_ms": round(statistics.median(thumb_ms), 2),
        "thumbnail_cached_p95_ms": round(_p95(thumb_ms), 2),
        "thumbnail_page_cached_ms": round(statistics.median(thumb_ms) * PAGE, 1),
        "thumbnail_make_ms_each": round(fill_s * 1000 / max(1, len(thumbs)), 2),
        "dataset_write_s": round(made_s, 1),
        "target_page_p95_ms": TARGET_MS,
        "meets_target": _p95(page_ms) < TARGET_MS,
    }
    print(f"{'measure':<36}{'value':>12}")
    for key, value in figures.items():
        print(f"{key:<36}{value!s:>12}")
    print(json.dumps({"bench": "api_page", **figures}))
    sys.exit(0)


if __name__ == "__main__":
    main()
