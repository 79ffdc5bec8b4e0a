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
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.3
HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "fastapi", "accelerate", "peft")


def _time(cmd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (user + system) seconds of each fresh process.

    CPU time hardly changes when other work shares the machine; wall time does. Both are reported.
    """
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return walls, cpus


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
    measured = {name: _time(cmd, args.runs) for name, cmd in commands.items()}
    medians = {name: statistics.median(walls) for name, (walls, _) in measured.items()}
    cpu = {name: statistics.median(cpus) for name, (_, cpus) in measured.items()}
    base = medians["python -c pass"]
    heavy = _heavy_imports()
    load = os.getloadavg()[0] / (os.cpu_count() or 1)

    print(f"{'command':<24}{'wall s':>9}{'over python':>13}{'cpu s':>9}")
    for name, median in medians.items():
        print(f"{name:<24}{median:>9.3f}{median - base:>13.3f}{cpu[name]:>9.3f}")
    help_s = medians["lorakit --help"]
    verdict = "PASS" if help_s < TARGET_S and not heavy else "FAIL"
    print(f"target: lorakit --help < {TARGET_S} s → {verdict}; heavy imports during --help: {heavy or 'none'}")
    if load > 0.5:
        print(f"note: the machine is busy (load {load:.1f} per core): wall times are inflated, CPU times less so")
    figures = {
        "bench": "cli_startup",
        "runs": args.runs,
        "python_pass_s": round(base, 4),
        "help_s": round(help_s, 4),
        "plan_help_s": round(medians["lorakit plan --help"], 4),
        "help_over_python_s": round(help_s - base, 4),
        "help_vs_python_ratio": round(help_s / base, 2),
        "help_cpu_s": round(cpu["lorakit --help"], 4),
        "python_pass_cpu_s": round(cpu["python -c pass"], 4),
        "load_per_core": round(load, 2),
        "target_s": TARGET_S,
        "heavy_imports": heavy,
        "pass": verdict == "PASS",
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
