"""Cold start of `lorakit --help`, against a bare `python -c pass` measured in the same run.

Each run is a fresh process (nothing cached in memory between them), timed from spawn to exit; we report
the median of N. Target: `lorakit --help` under 0.3 s, i.e. the CLI adds well under 0.3 s on top of the
interpreter. Also reports which heavy libraries (torch, ...) the help imported: it should be none.

    .venv/bin/python benchmarks/bench_cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3
HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "fastapi", "accelerate", "peft")


def _time(cmd: list[str], runs: int) -> list[float]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        times.append(time.perf_counter() - start)
    return times


def _heavy_imports() -> list[str]:
    code = (
        "import sys; sys.argv=['lorakit','--help']\nfrom lorakit.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"print('LOADED:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("LOADED:")][-1]
    return [m for m in line.removeprefix("LOADED:").split(",") if m]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per command (median is reported)")
    args = parser.parse_args()

    script = Path(sys.executable).parent / "lorakit"
    lorakit = [str(script)] if script.exists() else [shutil.which("lorakit") or "lorakit"]
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "lorakit --help": [*lorakit, "--help"],
        "lorakit plan --help": [*lorakit, "plan", "--help"],
    }
    for cmd in commands.values():  # warm the OS file cache once, as a user's second run would be
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    medians = {name: statistics.median(_time(cmd, args.runs)) for name, cmd in commands.items()}
    base = medians["python -c pass"]
    heavy = _heavy_imports()

    print(f"{'command':<24}{'median s':>10}{'over python':>14}")
    for name, median in medians.items():
        print(f"{name:<24}{median:>10.3f}{median - base:>14.3f}")
    help_s = medians["lorakit --help"]
    verdict = "PASS" if help_s < TARGET_S and not heavy else "FAIL"
    print(f"target: lorakit --help < {TARGET_S} s → {verdict}; heavy imports during --help: {heavy or 'none'}")
    figures = {
        "bench": "cli_startup",
        "runs": args.runs,
        "python_pass_s": round(base, 4),
        "help_s": round(help_s, 4),
        "plan_help_s": round(medians["lorakit plan --help"], 4),
        "help_over_python_s": round(help_s - base, 4),
        "help_vs_python_ratio": round(help_s / base, 2),
        "target_s": TARGET_S,
        "heavy_imports": heavy,
        "pass": verdict == "PASS",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
