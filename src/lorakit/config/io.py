"""Reading and writing lorakit config files (TOML).

:func:`load_config` turns every way a file can be wrong (missing, not TOML, unknown keys, wrong types,
out of range) into one :class:`ConfigError` with an issue per problem; :func:`save_config` writes
atomically, leaves out empty values and never writes secrets.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from lorakit.config.catalog import SUBSET_PREFIX, all_fields
from lorakit.config.errors import raise_invalid
from lorakit.config.migrate import migrate
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError, PathError
from lorakit.fileio import atomic_write_text

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as the tomli package
    import tomli as tomllib  # type: ignore[no-redef]

log = logging.getLogger(__name__)

HEADER = (
    "# lorakit training config. Explain any setting: lorakit config explain NAME\n"
    "# Check it before a run: lorakit config validate THIS_FILE\n\n"
)


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """A TOML file as a dict; a missing file or a syntax error is a ConfigError that says where and how to fix."""
    p = Path(path).expanduser()
    if not p.is_file():
        what = "is a folder, not a file" if p.is_dir() else "does not exist"
        raise ConfigError(
            f"The config file {p} {what}.",
            "Check the path, or make one with `lorakit config new --preset sdxl-character -o my_lora.toml`.",
        )
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p} is not a text file.", "Give a .toml config file.") from None
    return parse_toml(text, str(p))


def parse_toml(text: str | bytes, source: str = "The config") -> dict[str, Any]:
    """TOML text (or UTF-8 bytes, as read by a confined open) as a dict; a ConfigError saying how to fix it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{source} is not a text file.", "Give a .toml config file.") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(
            f"{source} is not valid TOML: {error}.",
            'Fix that line: text needs quotes (name = "x"), true/false are lower case, and each [table]'
            " is on its own line.",
        ) from None
    except RecursionError:
        # A config is a few tables deep; thousands of nested arrays or tables would only exhaust the stack.
        raise ConfigError(
            f"{source} nests arrays or tables thousands of levels deep, more than any lorakit config can use.",
            "Check the file is the config you meant; make a new one with `lorakit config new --preset tiny-demo`.",
        ) from None


def config_from_dict(data: dict[str, Any], *, source: str = "The config") -> TrainConfig:
    """Validate a raw dict (from TOML, JSON or a web form) into a TrainConfig, upgrading old versions."""
    data = {k: v for k, v in data.items() if k != "preset"}  # a preset's note is not a setting
    data, notes = migrate(data, source=source)
    for note in notes:
        log.info("%s: %s", source, note)
    try:
        return TrainConfig.model_validate(data)
    except ValidationError as error:
        raise_invalid(error, source)


# Text fields that name a file, or else a Hugging Face repo id ("org/name"), a built-in model ("tiny:sd1") or
# a built-in layout ("sdxl").
MODEL_FILE_FIELDS = ("pretrained_model_name_or_path", "vae", "architecture_config", "clip_l", "t5xxl", "ae")


@lru_cache(maxsize=1)
def _path_fields() -> dict[str, tuple[str, ...]]:
    """Section -> names of its fields that hold paths (subsets' image_dir is handled on its own)."""
    found: dict[str, list[str]] = {}
    for spec in all_fields():
        if "Path" in str(spec.info.annotation) and not spec.path.startswith(SUBSET_PREFIX):
            found.setdefault(spec.section, []).append(spec.name)
    return {section: tuple(names) for section, names in found.items()}


# Text fields that become one file or folder name inside a path field's folder (output_dir/output_name).
NAME_FIELDS = {"output": ("output_name",)}


def _each(value: Any, fn: Callable[[Path], Path], field: str) -> Any:
    if isinstance(value, Path):
        return _named(fn, value, field)
    if isinstance(value, list):
        return [_each(v, fn, field) for v in value]
    return value


def _named(fn: Callable[[Any], Any], value: Any, field: str) -> Any:
    """``fn(value)``; a PathError it raises becomes a ConfigError naming the field (a 422 in the web API)."""
    try:
        return fn(value)
    except PathError as error:
        raise ConfigError(f"{field}: {error.problem}", error.fix, field=field) from None


def map_paths(
    cfg: TrainConfig,
    path_fn: Callable[[Path], Path],
    model_fn: Callable[[str], str],
    name_fn: Callable[[str], str] | None = None,
) -> TrainConfig:
    """``cfg`` with every path field passed through ``path_fn``, each model text field through ``model_fn``
    and, when given, each name field (``NAME_FIELDS``: a file or folder name such as ``output_name``)
    through ``name_fn``. A :class:`PathError` from them becomes a :class:`ConfigError` naming the field.

    The one place that knows which fields are paths: loading rebases them next to the config file, the web
    app confines them to the workspace.
    """
    sections: dict[str, Any] = {}
    for section, names in _path_fields().items():
        table = getattr(cfg, section)
        update = {name: _each(getattr(table, name), path_fn, f"{section}.{name}") for name in names}
        if section == "dataset":
            update["subsets"] = [
                s.model_copy(update={"image_dir": _named(path_fn, s.image_dir, f"dataset.subsets.{i}.image_dir")})
                for i, s in enumerate(cfg.dataset.subsets)
            ]
        sections[section] = table.model_copy(update=update)
    if name_fn is not None:
        for section, names in NAME_FIELDS.items():
            table = sections.get(section, getattr(cfg, section))
            update = {name: _named(name_fn, getattr(table, name), f"{section}.{name}") for name in names}
            sections[section] = table.model_copy(update=update)
    model_update = {
        name: _named(model_fn, v, f"model.{name}") for name in MODEL_FILE_FIELDS if (v := getattr(cfg.model, name))
    }
    sections["model"] = cfg.model.model_copy(update=model_update)
    return cfg.model_copy(update=sections)


def resolve_relative(cfg: TrainConfig, base: str | os.PathLike) -> TrainConfig:
    """Relative paths taken from ``base`` (a config file's folder), so a config works from any current folder.

    Model fields may also be Hugging Face ids ("org/name"): only what exists under ``base`` is rebased.
    """
    root = Path(base)

    def rebase_model(value: str) -> str:
        if Path(value).expanduser().is_absolute() or not (root / value).exists():
            return value
        return str(root / value)

    return map_paths(cfg, lambda p: p if p.expanduser().is_absolute() else root / p, rebase_model)


def load_config(path: str | os.PathLike, *, relative_to_file: bool = True) -> TrainConfig:
    """Read a lorakit TOML config.

    Relative paths in it are taken relative to the file's folder unless ``relative_to_file`` is False.
    Raises :class:`ConfigError` (with ``issues``, one per problem) on any bad input.
    """
    p = Path(path).expanduser()
    cfg = config_from_dict(read_toml(p), source=str(p))
    return resolve_relative(cfg, p.resolve().parent) if relative_to_file else cfg


def _prune(value: Any) -> Any:
    """Drop None and empty tables/lists so a saved file shows only what is set."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items() if v is not None}
        return {k: v for k, v in pruned.items() if v != {} and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def secret_paths() -> list[tuple[str, str]]:
    """(section, field) of every secret setting."""
    return [(s.section, s.name) for s in all_fields() if s.secret and s.section]


def config_to_dict(cfg: TrainConfig, *, only_changed: bool = False, include_secrets: bool = False) -> dict[str, Any]:
    """The config as plain TOML/JSON-ready values; None values dropped, secrets dropped unless asked."""
    data = cfg.model_dump(mode="json", exclude_defaults=only_changed)
    data["config_version"] = cfg.config_version
    if not include_secrets:
        for section, name in secret_paths():
            data.get(section, {}).pop(name, None)
    return _prune(data)


def to_toml(cfg: TrainConfig, *, only_changed: bool = False) -> str:
    """The config as TOML text (without secrets)."""
    data = config_to_dict(cfg, only_changed=only_changed)
    subsets = data.get("dataset", {}).pop("subsets", [])
    if "dataset" in data and not data["dataset"]:
        del data["dataset"]
    ordered = {"config_version": data.pop("config_version"), **data}
    text = HEADER + tomli_w.dumps(ordered)
    # The image folders last, each as its own [[dataset.subsets]] block, however short: easy to find and copy.
    for subset, model in zip(subsets, cfg.dataset.subsets, strict=True):
        # Repeats are always written, so nobody has to know the default to read them.
        subset = {"image_dir": subset.pop("image_dir"), "num_repeats": model.num_repeats, **subset}
        text += "\n[[dataset.subsets]]\n" + tomli_w.dumps(subset)
    return text


def save_config(cfg: TrainConfig, path: str | os.PathLike, *, only_changed: bool = False) -> Path:
    """Write ``cfg`` as TOML atomically (secrets never written, empty values left out). Returns the path."""
    target = Path(path).expanduser()
    atomic_write_text(target, to_toml(cfg, only_changed=only_changed))
    return target
