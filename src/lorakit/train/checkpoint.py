"""Resume state: everything needed to continue a run exactly where it stopped, without pickle.

Each save is a folder ``state/step-00000012/`` holding::

    network.safetensors    the adapter weights (kohya layout)
    optimizer.safetensors  every optimizer tensor      optimizer.json  the rest (param groups, scalars)
    rng.safetensors        torch (and CUDA) RNG states rng.json        python and numpy RNG states
    rng-rank1.safetensors  rng-rank1.json  ...          the same for each other process of a multi-process run
    progress.json          step, epoch, batch position in the epoch, scheduler state, loss history

``state/latest.json`` names the newest complete folder and is replaced atomically only after that
folder is fully written, so a crash or a full disk mid-save leaves the previous state usable. Older
folders beyond ``keep_last`` are removed.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lorakit.errors import TrainingError
from lorakit.fileio import atomic_write_bytes, atomic_write_text

LATEST = "latest.json"


def _split_tensors(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace tensors in a nested structure by ``{"__tensor__": key}`` and collect them in ``tensors``."""
    if isinstance(value, torch.Tensor):
        tensors[prefix] = value.detach().cpu().contiguous()
        return {"__tensor__": prefix}
    if isinstance(value, dict):
        return {str(k): _split_tensors(v, f"{prefix}/{k}", tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split_tensors(v, f"{prefix}/{i}", tensors) for i, v in enumerate(value)]
    return value


def _join_tensors(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            return tensors[value["__tensor__"]]
        return {k: _join_tensors(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_join_tensors(v, tensors) for v in value]
    return value


def _save_split(folder: Path, name: str, value: Any) -> None:
    from safetensors.torch import save

    tensors: dict[str, torch.Tensor] = {}
    plain = _split_tensors(value, name, tensors)
    atomic_write_bytes(folder / f"{name}.safetensors", save(tensors))
    atomic_write_text(folder / f"{name}.json", json.dumps(plain))


def _load_split(folder: Path, name: str) -> Any:
    from safetensors.torch import load_file

    tensors = load_file(str(folder / f"{name}.safetensors"))
    return _join_tensors(json.loads((folder / f"{name}.json").read_text()), tensors)


def rng_states() -> dict[str, Any]:
    """Python, numpy, torch and CUDA random states, in tensor/JSON form."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, torch.from_numpy(np.asarray(keys, dtype=np.int64)), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def set_rng_states(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def state_folder(state_dir: str | Path, step: int) -> Path:
    """The folder of the state saved at ``step``."""
    return Path(state_dir) / f"step-{int(step):08d}"


def save_rank_rng(state_dir: str | Path, step: int, rank: int) -> None:
    """Write this process's RNG states into the state of ``step`` (before the main process commits it)."""
    folder = state_folder(state_dir, step)
    folder.mkdir(parents=True, exist_ok=True)
    _save_split(folder, f"rng-rank{rank}", rng_states())


def _damaged(folder: Path, error: Exception) -> TrainingError:
    return TrainingError(
        f"The saved state {folder} is damaged ({error}).",
        "Resume from an earlier save: point state/latest.json at another step-* folder there, or delete"
        " state/ and start the run again.",
    )


def load_rank_rng(folder: str | Path, rank: int) -> dict[str, Any] | None:
    """The RNG states process ``rank`` saved in a state ``folder``; None when it has none (older states)."""
    folder = Path(folder)
    if not (folder / f"rng-rank{rank}.json").exists():
        return None
    try:
        return _load_split(folder, f"rng-rank{rank}")
    except (OSError, ValueError, KeyError) as error:
        raise _damaged(folder, error) from error


def _optimizer_json_safe(state: dict[str, Any]) -> dict[str, Any]:
    # Param groups hold tuples (betas) and sometimes None; JSON keeps both as lists/null, which torch accepts.
    return {"state": state["state"], "param_groups": state["param_groups"]}


@dataclass
class SavedState:
    folder: Path
    progress: dict[str, Any]
    network: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    rng: dict[str, Any]


def save_state(
    state_dir: str | Path,
    *,
    network_tensors: dict[str, torch.Tensor],
    optimizer: torch.optim.Optimizer,
    progress: dict[str, Any],
    keep_last: int = 1,
) -> Path:
    """Write a complete resume state for ``progress["step"]``; returns its folder."""
    from safetensors.torch import save

    state_dir = Path(state_dir)
    folder = state_folder(state_dir, progress["step"])
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(folder / "network.safetensors", save({k: v.contiguous() for k, v in network_tensors.items()}))
    _save_split(folder, "optimizer", _optimizer_json_safe(optimizer.state_dict()))
    _save_split(folder, "rng", rng_states())
    atomic_write_text(folder / "progress.json", json.dumps(progress, indent=1))
    # The commit point: only now does the new state replace the previous one.
    atomic_write_text(state_dir / LATEST, json.dumps({"folder": folder.name, "step": progress["step"]}))
    saved = sorted(p for p in state_dir.glob("step-*") if p.is_dir())
    for old in saved[: max(0, len(saved) - max(1, keep_last))]:
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)
    return folder


def load_state(state_dir: str | Path) -> SavedState:
    """The newest complete state in ``state_dir``."""
    from safetensors.torch import load_file

    state_dir = Path(state_dir)
    latest = state_dir / LATEST
    if not latest.exists():
        raise TrainingError(
            f"There is no saved state in {state_dir} to resume from.",
            "Resume needs a run that saved its state (it saves at every checkpoint); start a new run instead.",
        )
    folder = state_dir / json.loads(latest.read_text())["folder"]
    try:
        return SavedState(
            folder=folder,
            progress=json.loads((folder / "progress.json").read_text()),
            network=load_file(str(folder / "network.safetensors")),
            optimizer=_load_split(folder, "optimizer"),
            rng=_load_split(folder, "rng"),
        )
    except (OSError, ValueError, KeyError) as error:
        raise _damaged(folder, error) from error


def restore_optimizer(optimizer: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load a saved optimizer state (JSON turned ``state`` keys into strings; torch wants ints)."""
    state = {int(k): v for k, v in saved["state"].items()}
    groups = saved["param_groups"]
    for group in groups:
        for key, value in group.items():
            if key == "betas" and isinstance(value, list):
                group[key] = tuple(value)
    optimizer.load_state_dict({"state": state, "param_groups": groups})
