"""`lorakit doctor` on a machine without an NVIDIA GPU does not suggest the GPU extra."""

from __future__ import annotations

from lorakit import environment
from lorakit.environment import OK, WARN, check_optional

MISSING_GPU_EXTRA = {"gpu": [("nope", "lorakit-no-such-gpu-package", "8-bit optimizers")]}


def test_a_missing_gpu_extra_is_fine_without_a_cuda_gpu():
    [check] = check_optional(MISSING_GPU_EXTRA, cuda=False)
    assert check.status == OK and check.fix is None and "not needed here" in check.detail


def test_a_missing_gpu_extra_is_suggested_with_a_cuda_gpu():
    [check] = check_optional(MISSING_GPU_EXTRA, cuda=True)
    assert check.status == WARN and check.fix == "pip install 'lorakit[gpu]'"


def test_run_checks_takes_the_answer_from_torch(tmp_path, monkeypatch):
    monkeypatch.setattr(environment, "OPTIONAL", MISSING_GPU_EXTRA)
    cpu = [environment.Check("GPU", WARN, "No GPU found", "x", group="torch", data={"backend": "cpu"})]
    monkeypatch.setattr(environment, "check_torch", lambda: cpu)
    [extra] = [c for c in environment.run_checks(tmp_path) if c.group == "gpu"]
    assert extra.status == OK and extra.fix is None
    cuda = [environment.Check("GPU 0", OK, "A GPU", group="torch", data={"backend": "CUDA 12.4"})]
    monkeypatch.setattr(environment, "check_torch", lambda: cuda)
    [extra] = [c for c in environment.run_checks(tmp_path) if c.group == "gpu"]
    assert extra.status == WARN and "lorakit[gpu]" in extra.fix
