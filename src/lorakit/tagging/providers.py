"""Choosing where onnxruntime runs: the fastest execution provider this machine has, said out loud.

Order: CUDA, ROCm, CoreML (Apple), DirectML (Windows), CPU. When a GPU is present but the installed
onnxruntime cannot use it (the plain ``onnxruntime`` package is CPU-only), the note says which package
to install instead of silently tagging ten times slower.
"""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

PREFERENCE = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    "CPUExecutionProvider",
)


def gpu_present() -> str | None:
    """'nvidia', 'amd' or None, from device files and driver tools (no torch import)."""
    if Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi"):
        return "nvidia"
    if Path("/dev/kfd").exists() or shutil.which("rocm-smi"):
        return "amd"
    return None


def choose_providers(requested: list[str] | None = None) -> tuple[list[str], str]:
    """(providers for InferenceSession, a note for the user)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if requested:
        missing = [p for p in requested if p not in available]
        if missing:
            from lorakit.errors import ModelError

            raise ModelError(
                f"onnxruntime here cannot use {', '.join(missing)} (it has {', '.join(available)}).",
                "Leave the provider choice on automatic, or install the onnxruntime package for that device.",
            )
        return list(requested), ""
    chosen = [p for p in PREFERENCE if p in available] or ["CPUExecutionProvider"]
    note = ""
    gpu = gpu_present()
    if chosen[0] == "CPUExecutionProvider" and gpu and os.environ.get("LORAKIT_QUIET_GPU_NOTE") != "1":
        package = "onnxruntime-gpu" if gpu == "nvidia" else "onnxruntime-rocm"
        note = (
            f"An {'NVIDIA' if gpu == 'nvidia' else 'AMD'} GPU is present but the GPU runtime for onnxruntime is"
            f" missing, so tagging runs on the CPU. Install it: pip uninstall onnxruntime && pip install {package}"
        )
    elif chosen[0] == "CPUExecutionProvider" and platform.system() == "Darwin":
        note = "Running on the CPU: this onnxruntime build has no CoreML support."
    return chosen, note
