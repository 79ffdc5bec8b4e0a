"""Save and resume a pretraining stage exactly: weights, optimizer moments, the torch and numpy RNG states.

With a constant learning rate after warmup, a stage run to step N, saved, and resumed to step M gives the same
bits as one run straight to M, so a longer recipe can continue a shorter one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lorakit.fileio import atomic_write_text

_TENSORS = "state.safetensors"
_META = "state.json"


def save_stage(folder: Path, stamp: str, step: int, models: dict, opt, rng: np.random.Generator) -> None:
    """Write the stage's state after ``step`` steps into ``folder`` (``stamp`` names the recipe it follows)."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {
        f"model.{name}.{k}": v.detach().contiguous() for name, m in models.items() for k, v in m.state_dict().items()
    }
    saved = opt.state_dict()
    for index, entry in saved["state"].items():
        for key, value in entry.items():
            tensors[f"opt.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    tensors["torch_rng"] = torch.get_rng_state()
    save_file(tensors, str(folder / (_TENSORS + ".tmp")))
    (folder / (_TENSORS + ".tmp")).replace(folder / _TENSORS)
    meta = {"stamp": stamp, "step": step, "numpy": rng.bit_generator.state, "param_groups": saved["param_groups"]}
    atomic_write_text(folder / _META, json.dumps(meta))  # written last: it names the tensors as complete


def load_stage(folder: Path, stamp: str, upto: int, models: dict, opt, rng: np.random.Generator) -> int:
    """Restore a state saved under the same ``stamp`` at a step not past ``upto``; return that step (0: none)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    try:
        meta = json.loads((folder / _META).read_text())
    except (OSError, ValueError):
        return 0
    if meta.get("stamp") != stamp or not 0 < meta.get("step", 0) <= upto:
        return 0
    tensors = load_file(str(folder / _TENSORS))
    for name, m in models.items():
        prefix = f"model.{name}."
        m.load_state_dict({k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)})
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["torch_rng"])
    rng.bit_generator.state = meta["numpy"]
    return int(meta["step"])
