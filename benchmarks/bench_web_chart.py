"""The run monitor's loss chart with 100,000 points, in Chromium: how long a redraw on new data takes.

Makes a training job whose event log already holds 100,000 ``step`` events (a temporary workspace; the
job is recorded as running, no process trains), serves it and the built web app (``frontend/dist``: run
``npm run build`` in frontend/ first) with the lorakit app under uvicorn on loopback, keeps appending a
new step event every 50 ms (the server's event hub tails the log and sends them over ``/ws``, as in a real
run), and runs ``benchmarks/web_chart_probe.mjs``, which opens ``/runs/<id>`` in Debian's Chromium through
playwright-core and reads, with the browser's Performance API, the ``lk-chart:loss`` measures the chart
records around each redraw (uPlot's setData and its draw, done together in one batch).

Target: a redraw on new data under 16 ms (one frame at 60 Hz), taken at the 95th percentile.

    .venv/bin/python benchmarks/bench_web_chart.py [--points 100000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 16.0


def step_event(seq: int, step: int, total: int, now: float) -> str:
    loss = 0.12 + 0.08 * math.exp(-step / 20_000) + 0.02 * math.sin(step * 0.7)
    data = {
        "step": step,
        "total_steps": total,
        "epoch": 1 + step // 1000,
        "loss": loss,
        "avg_loss": loss,
        "lr": {"unet": 1e-4, "te": 5e-5},
        "it_s": 3.0,
        "eta_s": (total - step) / 3.0,
    }
    return json.dumps({"type": "step", "data": data, "seq": seq, "time": now})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="How long to measure redraws on new data.")
    args = parser.parse_args()
    if not (REPO / "frontend" / "dist" / "index.html").is_file():
        sys.exit("Build the web app first: cd frontend && npm run build")
    if not shutil.which("node"):
        sys.exit("This benchmark needs Node (it drives Chromium with playwright-core).")

    import uvicorn

    from lorakit.jobs.runner import JobRunner
    from lorakit.web.app import create_app
    from lorakit.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="lorakit-bench-chart-"))
    stop = threading.Event()
    try:
        ws = Workspace(tmp / "ws")
        runner = JobRunner(ws, start=False, paused=True)  # nothing runs: the job below only has its log
        job = runner.store.add("train", {"config": "configs/bench.toml"}, gpu=True, title="Chart benchmark")
        runner.store.update(job.id, state="running", started_at=time.time(), run_dir="outputs/bench")
        log = runner.events_path(job.id)
        log.parent.mkdir(parents=True, exist_ok=True)
        total = args.points * 2
        now = time.time()
        with open(log, "w", encoding="utf-8") as f:
            f.write("\n".join(step_event(i, i, total, now) for i in range(1, args.points + 1)) + "\n")

        def keep_training() -> None:
            seq = args.points
            while not stop.wait(0.05):
                seq += 1
                with open(log, "a", encoding="utf-8") as f:
                    f.write(step_event(seq, seq, total, time.time()) + "\n")

        app = create_app(ws, runner=runner)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        threading.Thread(target=keep_training, daemon=True).start()
        probe = subprocess.run(
            [
                "node",
                str(REPO / "benchmarks" / "web_chart_probe.mjs"),
                f"http://127.0.0.1:{port}/runs/{job.id}",
                "--points",
                str(args.points),
                "--seconds",
                str(args.seconds),
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
        stop.set()
        server.should_exit = True
        if probe.returncode != 0:
            sys.exit(f"The browser probe failed:\n{probe.stderr[-4000:]}")
        result = json.loads(probe.stdout.strip().splitlines()[-1])
    finally:
        stop.set()
        shutil.rmtree(tmp, ignore_errors=True)

    p95 = result["redraw_p95_ms"]
    print(f"loss chart with {result['points_at_start']:,} points, {result['redraws']} redraws on new data")
    for key in ("first_full_chart_ms", "redraw_median_ms", "redraw_p95_ms", "redraw_max_ms", "longest_task_ms"):
        print(f"  {key:<24}{result[key]!s:>12}")
    verdict = "met" if p95 < TARGET_MS else "NOT met"
    print(f"  target: p95 redraw < {TARGET_MS:.0f} ms; ratio to target {p95 / TARGET_MS:.2f} ({verdict})")
    summary = {"points": args.points, "target_ms": TARGET_MS, "ratio_to_target": round(p95 / TARGET_MS, 3)}
    print(json.dumps({"bench": "web_chart", **summary, "meets_target": p95 < TARGET_MS, **result}))


if __name__ == "__main__":
    main()
