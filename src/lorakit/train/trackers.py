"""Training curves to TensorBoard or Weights & Biases through accelerate's trackers (``logging.*``).

lorakit's own live charts read the event stream and need none of this; these fields add the usual
external tools, the way sd-scripts does:

- ``log_with``: "tensorboard" (needs the ``tensorboard`` package, in the train extra), "wandb" (needs
  ``wandb``; refused with a clear message when missing) or "all" (every tracker accelerate finds).
- ``logging_dir``: where the logs go (empty = ``<run folder>/logs``); each run writes into
  ``<logging_dir>/<log_prefix><run folder name>/<log_tracker_name or "lorakit">/``.
- ``wandb_run_name`` / ``wandb_api_key``: the W&B run's name, and the key (never written anywhere).

Logged: ``loss/current``, ``loss/average``, ``lr/<group>`` every step, ``loss/validation`` with each
validation check, and ``max_norm/*`` with scale_weight_norms.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

from lorakit.errors import ConfigError

DEFAULT_TRACKER_NAME = "lorakit"


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def check_trackers(cfg) -> None:
    """Refuse a tracker whose package is missing, before anything loads."""
    log_with = cfg.logging.log_with
    wanted = {"tensorboard": ["tensorboard"], "wandb": ["wandb"], "all": []}.get(str(log_with), [])
    for name in wanted:
        if not _installed(name):
            raise ConfigError(
                f"logging.log_with = {log_with!r} needs the {name} package, which is not installed.",
                f"Install it (`pip install {name}`), or remove logging.log_with (lorakit's own charts work without).",
                field="logging.log_with",
            )


def log_dir(cfg, run_dir: Path) -> Path:
    """The folder this run's tracker logs go into."""
    lg = cfg.logging
    root = Path(lg.logging_dir).expanduser() if lg.logging_dir else run_dir / "logs"
    return root / f"{lg.log_prefix or ''}{run_dir.name}"


def accelerator_kwargs(cfg, run_dir: Path) -> dict[str, Any]:
    """The Accelerator arguments for ``logging.log_with`` (none when it is empty)."""
    if not cfg.logging.log_with:
        return {}
    return {"log_with": str(cfg.logging.log_with), "project_dir": str(log_dir(cfg, run_dir))}


def start_trackers(accelerator, cfg) -> None:
    """Start the trackers on the main process, with the run's settings as their config."""
    lg = cfg.logging
    if not lg.log_with:
        return
    if lg.wandb_api_key:
        os.environ["WANDB_API_KEY"] = lg.wandb_api_key  # read by wandb; never written to a file
    init_kwargs = {"wandb": {"name": lg.wandb_run_name}} if lg.wandb_run_name else {}
    settings = {}
    for key, value in cfg.model_dump(mode="json", exclude={"logging"}).items():
        if isinstance(value, dict):
            for name, inner in value.items():
                if isinstance(inner, (int, float, str, bool)):
                    settings[f"{key}.{name}"] = inner
    accelerator.init_trackers(lg.log_tracker_name or DEFAULT_TRACKER_NAME, config=settings, init_kwargs=init_kwargs)
