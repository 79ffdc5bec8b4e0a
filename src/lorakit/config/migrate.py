"""Upgrading config files written for an older ``config_version``.

Each migration turns the raw TOML dict of version N into version N+1; :func:`migrate` chains them, so a
file from any older version reaches :data:`CONFIG_VERSION`. Register a new one with
``@migration(from_version=N, what="...")`` when a field is renamed, moved or changes meaning, and bump
``CONFIG_VERSION`` in ``schema.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from lorakit.config.schema import CONFIG_VERSION
from lorakit.errors import ConfigError

RawConfig = dict[str, Any]
Migration = Callable[[RawConfig], RawConfig]

# from_version -> (what it changes, in plain words; the function)
MIGRATIONS: dict[int, tuple[str, Migration]] = {}


def migration(from_version: int, what: str) -> Callable[[Migration], Migration]:
    """Register ``func`` as the step from ``from_version`` to ``from_version + 1``."""

    def register(func: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise RuntimeError(f"two migrations from config_version {from_version}")
        MIGRATIONS[from_version] = (what, func)
        return func

    return register


def rename(data: RawConfig, old: str, new: str) -> bool:
    """Move the value at dotted path ``old`` to ``new`` (creating tables on the way); True if it was there."""
    *old_parents, old_key = old.split(".")
    table: Any = data
    for part in old_parents:
        table = table.get(part) if isinstance(table, dict) else None
    if not isinstance(table, dict) or old_key not in table:
        return False
    value = table.pop(old_key)
    *new_parents, new_key = new.split(".")
    target = data
    for part in new_parents:
        target = target.setdefault(part, {})
    target[new_key] = value
    return True


def migrate(data: RawConfig, *, source: str = "this config") -> tuple[RawConfig, list[str]]:
    """Bring a raw config dict up to :data:`CONFIG_VERSION`; returns it and notes of what changed.

    A file without ``config_version`` is taken as current (hand-written files usually leave it out).
    """
    version = data.get("config_version", CONFIG_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ConfigError(
            f"config_version = {version!r} in {source} is not a version number.",
            f"Set config_version = {CONFIG_VERSION}, or remove the line.",
            field="config_version",
        )
    if version > CONFIG_VERSION:
        raise ConfigError(
            f"{source} was written by a newer lorakit (config_version {version}; this one reads up to"
            f" {CONFIG_VERSION}).",
            "Update lorakit (pip install -U lorakit), or use the lorakit version that wrote it.",
            field="config_version",
        )
    notes = []
    if version < CONFIG_VERSION:
        data = copy.deepcopy(data)  # migrations edit in place; the caller's dict stays as it was
    else:
        data = dict(data)
    while version < CONFIG_VERSION:
        what, step = MIGRATIONS[version]
        data = step(data)
        notes.append(f"Upgraded from config_version {version} to {version + 1}: {what}")
        version += 1
    data["config_version"] = CONFIG_VERSION
    return data, notes


@migration(from_version=0, what="network.network_dim/network_alpha/network_module became network.dim/alpha/type")
def _v0_short_network_names(data: RawConfig) -> RawConfig:
    # Early drafts (version 0) spelled the network fields like sd-scripts' arguments.
    rename(data, "network.network_dim", "network.dim")
    rename(data, "network.network_alpha", "network.alpha")
    rename(data, "network.network_module", "network.type")
    return data
