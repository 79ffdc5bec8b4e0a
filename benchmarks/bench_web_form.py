"""The Training page's schema form in Chromium: time to render every setting of the full schema (target < 200 ms).

Starts a real ``lorakit serve`` (the built web app, ``frontend/dist``: run ``npm run build`` in frontend/ first)
on a temporary workspace and runs ``benchmarks/web_form_probe.mjs``, which opens ``/training`` in Debian's
Chromium through playwright-core and, with the browser's Performance API, times "Open all sections": from the
click until every setting of ``/api/configs/schema`` is in the page and the next frame is painted. The
reference in the same run: as many plain labelled ``<input>`` elements written as HTML (what the machine
needs for that many controls at the least). Several runs; the median is compared with the target.

    .venv/bin/python benchmarks/bench_web_form.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 200


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(workspace: Path, port: int) -> subprocess.Popen:
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path}
    env["LORAKIT_HOME"] = str(workspace.parent / "home")
    command = [sys.executable, "-m", "lorakit.cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workspace", str(workspace), "--no-token"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"lorakit serve exited:\n{server.stderr.read()[-4000:] if server.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit("lorakit serve did not answer within 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    if not (REPO / "frontend" / "dist" / "index.html").is_file():
        sys.exit("Build the web app first: cd frontend && npm run build")
    if not shutil.which("node"):
        sys.exit("This benchmark needs Node (it drives Chromium with playwright-core).")

    from lorakit.config.schema_export import form_schema

    settings = sum(len(section["fields"]) for section in form_schema()["sections"])
    tmp = Path(tempfile.mkdtemp(prefix="lorakit-bench-form-"))
    port = _port()
    server = _serve(tmp / "ws", port)
    try:
        probe = subprocess.run(
            [
                "node",
                str(REPO / "benchmarks" / "web_form_probe.mjs"),
                f"http://127.0.0.1:{port}/training",
                str(settings),
                "--runs",
                str(args.runs),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        shutil.rmtree(tmp, ignore_errors=True)
    if probe.returncode != 0:
        sys.exit(f"The browser probe failed:\n{probe.stderr[-4000:]}")
    result = json.loads(probe.stdout.strip().splitlines()[-1])

    form, reference = result["form_ms"], result["reference_ms"]
    median, ref_median = statistics.median(form), statistics.median(reference)
    print(f"{settings} settings, {args.runs} runs (page ready {result['first_paint_ms']:.0f} ms after navigation)")
    print(f"  {'':<34}{'median':>10}{'best':>10}{'worst':>10}")
    rows = [
        ("schema form (all sections open)", form),
        *([("  of which React render + commit", result["react_ms"])] if result["react_ms"] else []),
        ("reference: plain <input>s as HTML", reference),
    ]
    for name, values in rows:
        print(f"  {name:<34}{statistics.median(values):>10.1f}{min(values):>10.1f}{max(values):>10.1f}  ms")
    print(f"  target {TARGET_MS} ms: median / target = {median / TARGET_MS:.2f}")
    summary = {
        "bench": "web_form",
        "settings": settings,
        "form_ms_median": median,
        "form_ms": form,
        "react_ms_median": statistics.median(result["react_ms"]) if result["react_ms"] else None,
        "reference_ms_median": ref_median,
        "ratio_to_reference": round(median / ref_median, 2) if ref_median else None,
        "target_ms": TARGET_MS,
        "ratio_to_target": round(median / TARGET_MS, 3),
        "meets_target": median < TARGET_MS,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
