"""Presets: partial configs for common goals, merged over the defaults.

Built-in presets are TOML files in ``lorakit/config/presets/``; users keep their own in a folder of
their choosing (the workspace's ``presets/``). Each file has a ``[preset]`` note (title, for whom, what
it is for, family) that is not a config field, and then only the settings that differ from the defaults.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from lorakit.config.io import config_from_dict, config_to_dict, read_toml
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError
from lorakit.fileio import atomic_write_text, is_inside

BUILTIN_DIR = Path(__file__).parent / "presets"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class PresetInfo:
    """What a preset is for, as its ``[preset]`` table says."""

    name: str
    title: str
    for_whom: str
    what: str
    family: str
    path: Path
    builtin: bool

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in self.__dict__.items()}


def _info(path: Path, builtin: bool) -> PresetInfo:
    note = read_toml(path).get("preset", {})
    return PresetInfo(
        name=path.stem,
        title=str(note.get("title", path.stem)),
        for_whom=str(note.get("for_whom", "")),
        what=str(note.get("what", "")),
        family=str(note.get("family", "auto")),
        path=path,
        builtin=builtin,
    )


def list_presets(user_folder: str | os.PathLike | None = None) -> list[PresetInfo]:
    """Built-in presets, then the user's own from ``user_folder`` (if given and present).

    A user preset must be a regular file in that folder: a link leading elsewhere (or a fifo) is skipped.
    """
    found = [_info(p, True) for p in sorted(BUILTIN_DIR.glob("*.toml"))]
    if user_folder is not None and Path(user_folder).is_dir():
        base = os.path.realpath(user_folder)
        for p in sorted(Path(user_folder).glob("*.toml")):
            if p.is_file() and is_inside(os.path.realpath(p), base):
                found.append(_info(p, False))
    return found


def _find(name: str, user_folder: str | os.PathLike | None) -> Path:
    presets = list_presets(user_folder)
    for info in presets:
        if info.name == name:
            return info.path
    import difflib

    names = [p.name for p in presets]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    raise ConfigError(
        f"There is no preset named {name!r}.",
        f"{hint}Choose one of: {', '.join(names)} (`lorakit config presets` describes them).",
        field="preset",
    )


def preset_data(name: str, user_folder: str | os.PathLike | None = None) -> dict[str, Any]:
    """The raw settings of a preset (without its ``[preset]`` note)."""
    data = read_toml(_find(name, user_folder))
    data.pop("preset", None)
    return data


def load_preset(name: str, user_folder: str | os.PathLike | None = None) -> TrainConfig:
    """A full config: the preset's settings over the defaults."""
    return config_from_dict(preset_data(name, user_folder), source=f"Preset {name!r}")


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``: tables merge key by key, anything else is replaced."""
    merged = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def overrides_to_tree(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``{"network.dim": 32}`` -> ``{"network": {"dim": 32}}``; nested dicts pass through."""
    tree: dict[str, Any] = {}
    for key, value in overrides.items():
        *parents, last = key.split(".")
        table = tree
        for part in parents:
            table = table.setdefault(part, {})
        if isinstance(value, Mapping) and isinstance(table.get(last), dict):
            table[last] = deep_merge(table[last], value)
        else:
            table[last] = value
    return tree


def new_config(
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    user_folder: str | os.PathLike | None = None,
    **sections: Mapping[str, Any],
) -> TrainConfig:
    """A config from a preset (or the defaults) with overrides applied.

    ``overrides`` takes dotted keys (``{"network.dim": 32}``); keyword sections take tables
    (``network={"dim": 32}``). Bad values raise one ConfigError naming each field.
    """
    data = preset_data(preset, user_folder) if preset else {}
    data = deep_merge(data, overrides_to_tree(dict(overrides or {})))
    data = deep_merge(data, sections)
    return config_from_dict(data, source=f"Preset {preset!r} with your changes" if preset else "The config")


def save_user_preset(
    cfg: TrainConfig,
    name: str,
    folder: str | os.PathLike,
    *,
    title: str | None = None,
    for_whom: str = "",
    what: str = "",
) -> Path:
    """Save ``cfg`` as the user's own preset ``<folder>/<name>.toml`` (only settings that differ from the
    defaults; never secrets or dataset folders, which belong to one project)."""
    if not _NAME.match(name):
        raise ConfigError(
            f"{name!r} cannot be a preset name.",
            "Use lower-case letters, digits, '-' and '_' only (e.g. 'my-sdxl-style').",
            field="preset",
        )
    if (BUILTIN_DIR / f"{name}.toml").exists():
        raise ConfigError(
            f"{name!r} is a built-in preset.", "Choose another name for your own preset.", field="preset"
        )
    data = config_to_dict(cfg, only_changed=True)
    data.pop("config_version", None)
    dataset = data.get("dataset", {})
    for key in ("subsets", "train_data_dir", "reg_data_dir"):
        dataset.pop(key, None)
    if not dataset:
        data.pop("dataset", None)
    note = {"title": title or name, "for_whom": for_whom, "what": what, "family": cfg.model.family}
    target = Path(folder).expanduser() / f"{name}.toml"
    atomic_write_text(target, tomli_w.dumps({"preset": note, **data}))
    return target
