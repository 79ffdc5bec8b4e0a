"""What this machine offers for training: Python, torch and its GPU, disk space, optional packages.

Each check gives a :class:`Check` (name, status ok/warn/fail, a plain-words detail, and a fix when it
is not ok). ``lorakit doctor`` shows them; the web app and the notebooks call :func:`run_checks` too.
torch is imported only by the torch check, so asking about the rest stays fast.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

OK, WARN, FAIL = "ok", "warn", "fail"
MIN_PYTHON = (3, 10)
# Free space below which a training run (latent caches, checkpoints, samples) is likely to fail.
MIN_FREE_GB, LOW_FREE_GB = 2.0, 20.0
# VRAM a LoRA run needs at the lowest settings; below this we say training will not fit.
MIN_VRAM_GB = {"SD1.5": 6, "SDXL": 10, "Flux": 16}

# Extras that only help with an NVIDIA (CUDA) GPU: on other machines their absence is no problem.
CUDA_ONLY_EXTRAS = {"gpu"}
# Optional parts: extra name -> (import name, distribution name, what it is for).
OPTIONAL: dict[str, list[tuple[str, str, str]]] = {
    "train": [
        ("diffusers", "diffusers", "model classes and schedulers"),
        ("transformers", "transformers", "text encoders"),
        ("peft", "peft", "LoRA layers"),
        ("accelerate", "accelerate", "devices, mixed precision, multi-GPU"),
        ("safetensors", "safetensors", "model files"),
        ("prodigyopt", "prodigyopt", "the Prodigy optimizer"),
        ("pytorch_optimizer", "pytorch_optimizer", "CAME, schedule-free and other optimizers"),
    ],
    "gpu": [("bitsandbytes", "bitsandbytes", "8-bit optimizers (AdamW8bit) for less VRAM")],
    "tag": [("onnxruntime", "onnxruntime", "WD14 auto-tagging")],
    "web": [
        ("fastapi", "fastapi", "the web app"),
        ("uvicorn", "uvicorn", "the web server"),
        ("multipart", "python-multipart", "uploads in the web app"),
    ],
    "notebook": [("ipywidgets", "ipywidgets", "notebook widgets"), ("matplotlib", "matplotlib", "charts")],
}


@dataclass
class Check:
    """One finding: ``status`` is "ok", "warn" or "fail"; ``fix`` says what to do when it is not ok."""

    name: str
    status: str
    detail: str
    fix: str | None = None
    group: str = "system"
    data: dict[str, Any] | None = None  # figures for front ends (versions, memory in GB, ...)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        return Check("Python", FAIL, f"Python {version} is too old.", f"Install Python {wanted} or newer.")
    return Check("Python", OK, f"Python {version}", data={"version": version, "executable": sys.executable})


def check_torch() -> list[Check]:
    """torch itself, and the accelerator it can use (CUDA, ROCm, Apple MPS), with each GPU's memory."""
    try:
        import torch
    except ImportError:
        return [
            Check(
                "torch",
                FAIL,
                "torch is not installed: training is not possible.",
                "Run `make setup` (it picks the right build), or `pip install 'lorakit[train]'`.",
                group="torch",
            )
        ]
    checks = [Check("torch", OK, f"torch {torch.__version__}", group="torch", data={"version": torch.__version__})]
    cuda = torch.cuda.is_available()
    rocm = getattr(torch.version, "hip", None)
    if cuda:
        backend = f"ROCm {rocm}" if rocm else f"CUDA {torch.version.cuda}"
        for index in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(index)
            gb = props.total_memory / 1024**3
            status, fix = OK, None
            if gb < MIN_VRAM_GB["SD1.5"]:
                status, fix = WARN, "Train SD1.5 with gradient checkpointing and batch 1, or use a bigger GPU."
            elif gb < MIN_VRAM_GB["SDXL"]:
                status, fix = WARN, "Enough for SD1.5; for SDXL use the 'SDXL low-VRAM' preset or a bigger GPU."
            checks.append(
                Check(
                    f"GPU {index}",
                    status,
                    f"{props.name}, {gb:.1f} GB ({backend})",
                    fix,
                    group="torch",
                    data={"name": props.name, "memory_gb": round(gb, 2), "backend": backend},
                )
            )
        return checks
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        checks.append(
            Check("GPU", OK, "Apple GPU (MPS): trains, but slower than CUDA", group="torch", data={"backend": "mps"})
        )
        return checks
    built = torch.version.cuda or rocm
    if built:
        fix = "This torch has GPU support but sees no GPU: check the driver (`nvidia-smi`)."
    elif shutil.which("nvidia-smi"):
        # The usual trap: an NVIDIA machine with the CPU wheel of torch.
        fix = "This machine has an NVIDIA tool but torch is the CPU build: remove .venv and run `make setup`."
    else:
        fix = "This is the CPU build of torch. On a machine with an NVIDIA GPU, `make setup` installs the CUDA one."
    checks.append(
        Check("GPU", WARN, "No GPU found: training runs on the CPU (fine for tests, very slow for real LoRAs).", fix,
              group="torch", data={"backend": "cpu"})
    )  # fmt: skip
    return checks


def check_disk(path: str | os.PathLike) -> Check:
    """Free space where training writes (the workspace): caches, checkpoints and samples need room."""
    target = Path(path).expanduser().absolute()
    probe = target
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    free_gb = usage.free / 1024**3
    data = {"path": str(target), "free_gb": round(free_gb, 2), "total_gb": round(usage.total / 1024**3, 2)}
    detail = f"{free_gb:.1f} GB free at {target}"
    if free_gb < MIN_FREE_GB:
        return Check("Disk", FAIL, detail, "Free some space: a training run needs a few GB.", data=data)
    if free_gb < LOW_FREE_GB:
        return Check(
            "Disk", WARN, detail, f"Under {LOW_FREE_GB:.0f} GB: base models are 2–24 GB each; free some space.",
            data=data,
        )  # fmt: skip
    return Check("Disk", OK, detail, data=data)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_optional(
    extras: dict[str, list[tuple[str, str, str]]] | None = None, *, cuda: bool | None = None
) -> list[Check]:
    """Each optional package: installed (and its version) or what installing it adds.

    Found from package metadata without importing (fast); onnxruntime is imported to list its providers.
    ``cuda``: whether this machine has an NVIDIA GPU (None: look for its driver); without one, a missing
    GPU-only extra is fine and no install is suggested.
    """
    if cuda is None:
        from lorakit.tagging.providers import gpu_present

        cuda = gpu_present() == "nvidia"
    checks = []
    for extra, packages in (extras or OPTIONAL).items():
        for module, distribution, purpose in packages:
            version = _version(distribution)
            if version is None and extra in CUDA_ONLY_EXTRAS and not cuda:
                detail = f"not installed; not needed here: {purpose} needs an NVIDIA GPU, and this machine has none"
                checks.append(Check(distribution, OK, detail, group=extra, data={"needed": False}))
                continue
            if version is None:
                checks.append(
                    Check(distribution, WARN, f"not installed: needed for {purpose}",
                          f"pip install 'lorakit[{extra}]'", group=extra)
                )  # fmt: skip
                continue
            detail = f"{version}: {purpose}"
            data: dict[str, Any] = {"version": version}
            if module == "onnxruntime":
                providers = _onnx_providers()
                data["providers"] = providers
                detail += f" (providers: {', '.join(providers) or 'none'})"
            checks.append(Check(distribution, OK, detail, group=extra, data=data))
    return checks


def _onnx_providers() -> list[str]:
    try:
        onnxruntime = importlib.import_module("onnxruntime")
        return list(onnxruntime.get_available_providers())
    except Exception:  # a broken install reports no providers rather than stopping the doctor
        return []


def check_workspace(path: str | os.PathLike, reason: str) -> Check:
    """Which workspace lorakit uses here, and why (the rule is in :func:`lorakit.workspace.locate_workspace`)."""
    folder = Path(path)
    made = folder.is_dir()
    detail = f"{folder} ({reason})" + ("" if made else "; created on first use")
    data = {"path": str(folder), "reason": reason, "exists": made}
    return Check("Workspace", OK, detail, group="workspace", data=data)


def run_checks(
    workspace: str | os.PathLike | None = None, *, include_torch: bool = True, workspace_reason: str | None = None
) -> list[Check]:
    """All checks, in display order, starting with which workspace is used and why.

    ``workspace``: the folder a front end uses (disk space is measured there); default: the one
    :func:`lorakit.workspace.locate_workspace` picks.
    """
    from lorakit.workspace import locate_workspace

    if workspace is None:
        workspace, workspace_reason = locate_workspace()
    where = check_workspace(workspace, workspace_reason or "given by the caller")
    steps: list[Callable[[], Check | list[Check]]] = [lambda: where, check_python]
    if include_torch:
        steps.append(check_torch)
    steps.append(lambda: check_disk(workspace))
    checks: list[Check] = []
    for step in steps:
        result = step()
        checks.extend(result if isinstance(result, list) else [result])
    # torch knows best whether CUDA works; without the torch check, the driver files tell.
    backends = [str((c.data or {}).get("backend", "")) for c in checks if c.group == "torch"]
    cuda = any(b.startswith("CUDA") for b in backends) if include_torch else None
    checks.extend(check_optional(cuda=cuda))
    return checks


def summary(checks: list[Check]) -> str:
    """The worst status among the checks: "fail", "warn" or "ok"."""
    statuses = {c.status for c in checks}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK
