"""`lorakit --help` must start fast: no torch (or other heavy library) imported on the way."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("torch", "diffusers", "transformers", "onnxruntime", "fastapi", "accelerate", "peft")

PROBE = """
import sys
sys.argv = ["lorakit"] + sys.argv[1:]
from lorakit.cli.main import run
try:
    run()
except SystemExit:
    pass
print("LOADED:" + ",".join(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def _loaded(*args: str) -> tuple[list[str], str]:
    code = PROBE.format(heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("LOADED:")][-1]
    return [m for m in line.removeprefix("LOADED:").split(",") if m], out


def test_help_does_not_import_torch_or_other_heavy_libraries():
    loaded, out = _loaded("--help")
    assert "plan" in out and "doctor" in out  # the help really ran
    assert loaded == []


def test_plan_help_does_not_import_torch():
    loaded, out = _loaded("plan", "--help")
    assert "--sample" in out
    assert "torch" not in loaded
