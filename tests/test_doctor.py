"""lorakit doctor: each check is a record with a status and, when not ok, a fix."""

from __future__ import annotations

import json
import shutil
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from lorakit import environment
from lorakit.environment import FAIL, OK, WARN, Check, check_disk, check_optional, check_python, run_checks, summary


def test_python_check_reports_this_interpreter():
    check = check_python()
    assert check.status == OK and check.data["version"].startswith("3.")


def _disk(monkeypatch, free_gb: float, total_gb: float = 1000.0) -> None:
    """Make the disk check see ``free_gb`` free, whatever this machine has."""
    gib = 1024**3
    usage = SimpleNamespace(total=int(total_gb * gib), used=int((total_gb - free_gb) * gib), free=int(free_gb * gib))
    monkeypatch.setattr(environment.shutil, "disk_usage", lambda path: usage)


def test_disk_check_measures_free_space_even_for_a_folder_not_made_yet(tmp_path, monkeypatch):
    measured = []
    real = shutil.disk_usage
    monkeypatch.setattr(environment.shutil, "disk_usage", lambda path: measured.append(path) or real(path))
    check = check_disk(tmp_path / "workspace" / "not" / "yet")
    assert measured == [tmp_path]  # the nearest folder that exists
    assert check.data["free_gb"] == pytest.approx(real(tmp_path).free / 1024**3, abs=0.5)
    assert check.data["path"].endswith("yet")


@pytest.mark.parametrize(
    ("free_gb", "status"),
    [(500.0, OK), (environment.LOW_FREE_GB + 0.5, OK), (environment.LOW_FREE_GB - 0.5, WARN), (1.0, FAIL)],
)
def test_disk_check_status_follows_free_space(tmp_path, monkeypatch, free_gb, status):
    _disk(monkeypatch, free_gb)
    check = check_disk(tmp_path)
    assert check.status == status and check.data["free_gb"] == pytest.approx(free_gb, abs=0.01)
    assert (check.fix is None) == (status == OK)


def test_disk_check_fails_with_a_fix_when_space_is_short(tmp_path, monkeypatch):
    monkeypatch.setattr(environment, "MIN_FREE_GB", 1e9)  # more than any disk has
    check = check_disk(tmp_path)
    assert check.status == FAIL and "space" in check.fix


def test_optional_packages_say_which_extra_installs_them():
    extras = {
        "train": [("json", "pydantic", "settings")],  # installed: its version is reported
        "tag": [("nope", "lorakit-no-such-package", "something")],
    }
    installed, missing = check_optional(extras)
    assert installed.status == OK and installed.data["version"]
    assert missing.status == WARN and missing.fix == "pip install 'lorakit[tag]'"


def test_torch_check_on_this_machine():
    import torch

    checks = environment.check_torch()
    assert checks[0].name == "torch" and checks[0].status == OK and checks[0].data["version"] == torch.__version__
    assert all(c.group == "torch" for c in checks)
    mps = getattr(torch.backends, "mps", None)
    if torch.cuda.is_available():
        assert [c.name for c in checks[1:]] == [f"GPU {i}" for i in range(torch.cuda.device_count())]
    elif mps is not None and mps.is_available():
        assert [(c.name, c.status) for c in checks[1:]] == [("GPU", OK)]
    else:  # no GPU: the one GPU line warns that training runs on the CPU, and says what to do
        (gpu,) = checks[1:]
        assert (gpu.name, gpu.status, gpu.data["backend"]) == ("GPU", WARN, "cpu") and gpu.fix


class _Props:
    def __init__(self, name: str, gb: float):
        self.name, self.total_memory = name, int(gb * 1024**3)


def _machine(monkeypatch, *, gpus=(), mps=False, built_cuda=None, nvidia_smi=None):
    """Make torch see these GPUs (name, GB), MPS or not, a CUDA build or not, and nvidia-smi on PATH or not."""
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: bool(gpus))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: len(gpus))
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda i: _Props(*gpus[i]))
    monkeypatch.setattr(torch.version, "cuda", built_cuda)
    monkeypatch.setattr(torch.version, "hip", None)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(environment.shutil, "which", lambda name: nvidia_smi if name == "nvidia-smi" else None)


def test_gpu_check_without_a_gpu_warns_and_names_the_cause(monkeypatch):
    _machine(monkeypatch)
    gpu = environment.check_torch()[1]
    assert (gpu.name, gpu.status, gpu.data["backend"]) == ("GPU", WARN, "cpu") and "CPU build" in gpu.fix
    _machine(monkeypatch, nvidia_smi="/usr/bin/nvidia-smi")  # the CPU wheel on an NVIDIA machine
    assert "remove .venv" in environment.check_torch()[1].fix
    _machine(monkeypatch, built_cuda="12.4")  # a CUDA build that sees no GPU: the driver
    assert "driver" in environment.check_torch()[1].fix


@pytest.mark.parametrize(
    ("gb", "status", "fix"), [(4.0, WARN, "gradient checkpointing"), (8.0, WARN, "SDXL"), (24.0, OK, None)]
)
def test_gpu_check_status_follows_its_memory(monkeypatch, gb, status, fix):
    _machine(monkeypatch, gpus=[("Test GPU", gb)], built_cuda="12.4")
    (gpu,) = environment.check_torch()[1:]
    assert (gpu.name, gpu.status, gpu.data["memory_gb"], gpu.data["backend"]) == ("GPU 0", status, gb, "CUDA 12.4")
    assert (gpu.fix is None) if fix is None else (fix in gpu.fix)


def test_apple_gpu_is_ok(monkeypatch):
    _machine(monkeypatch, mps=True)
    assert [(c.name, c.status, c.data["backend"]) for c in environment.check_torch()[1:]] == [("GPU", OK, "mps")]


def test_summary_is_the_worst_status():
    assert summary([Check("a", OK, ""), Check("b", WARN, "", "x")]) == WARN
    assert summary([Check("a", FAIL, "", "x"), Check("b", WARN, "", "x")]) == FAIL
    assert summary([Check("a", OK, "")]) == OK


def test_run_checks_without_torch_does_not_import_it(tmp_path):
    import subprocess
    import sys

    code = (
        "import sys; from lorakit.environment import run_checks; "
        f"checks = run_checks({str(tmp_path)!r}, include_torch=False); "
        "print(len(checks), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 3 and out[1] == "False"


@pytest.mark.parametrize(("free_gb", "status", "exit_code"), [(500.0, OK, 0), (10.0, WARN, 0), (1.0, FAIL, 1)])
def test_doctor_cli_json(tmp_path, monkeypatch, free_gb, status, exit_code):
    from lorakit.cli.main import app

    _disk(monkeypatch, free_gb)
    monkeypatch.setattr(environment, "_version", lambda distribution: "1.0")  # every optional package present
    monkeypatch.setattr(environment, "_onnx_providers", lambda: ["CPUExecutionProvider"])
    result = CliRunner().invoke(app, ["doctor", "--json", "--no-torch", "--workspace", str(tmp_path)])
    assert result.exit_code == exit_code, result.output
    report = json.loads(result.output)
    names = [c["name"] for c in report["checks"]]
    assert names[:3] == ["Workspace", "Python", "Disk"] and report["status"] == status
    assert [c["status"] for c in report["checks"] if c["name"] != "Disk"] == [OK] * (len(names) - 1)


def test_doctor_cli_table_shows_fixes_with_brackets_intact(tmp_path):
    from lorakit.cli.main import app

    checks = run_checks(tmp_path, include_torch=False)
    result = CliRunner().invoke(app, ["doctor", "--no-torch", "--workspace", str(tmp_path)])
    assert "lorakit doctor" in result.output
    for check in checks:
        if check.fix and "lorakit[" in check.fix:
            assert "lorakit[" in result.output  # rich markup must not swallow "[tag]"
