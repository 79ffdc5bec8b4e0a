"""The schema for front ends: a JSON schema of TrainConfig, a form description by section, and
``explain`` for plain-words help on one setting."""

from __future__ import annotations

import types
import typing
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from lorakit.config.catalog import FieldSpec, all_fields, find_field, suggest
from lorakit.config.kohya import sd_scripts_note
from lorakit.config.schema import SECTIONS, TrainConfig
from lorakit.errors import ConfigError

SECTION_TITLES = {
    "": "General",
    "model": "Model",
    "output": "Output",
    "dataset": "Dataset",
    "captions": "Captions",
    "schedule": "Schedule",
    "learning": "Learning rate",
    "optimizer": "Optimizer",
    "network": "Network (LoRA shape)",
    "noise": "Noise and loss",
    "memory": "Memory and speed",
    "samples": "Samples and validation",
    "logging": "Logging and Hugging Face",
    "multigpu": "Multi-GPU",
}


@dataclass(frozen=True)
class FieldHelp:
    """Everything a front end shows about one setting."""

    path: str
    section: str
    name: str
    help: str
    level: str
    effect: str | None  # "trainer", "export-only" (sd-scripts only), "refused" (not available yet) or "config"
    type: str
    default: Any
    unit: str | None
    minimum: float | None
    maximum: float | None
    recommended: Any
    choices: list[Any] | None
    kohya: str | None
    kohya_note: str | None  # where it goes in sd-scripts' files when not simply name = value
    lorakit_only: bool
    secret: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return "choice"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in get_args(annotation) if a is not type(None))
    if origin in (list, tuple):
        return "list"
    if origin is dict:
        return "table"
    return {bool: "true/false", int: "whole number", float: "number", str: "text", Path: "path"}.get(
        annotation, getattr(annotation, "__name__", str(annotation))
    )


def _choices(annotation: Any, meta: dict[str, Any]) -> list[Any] | None:
    if meta.get("choices"):
        return list(meta["choices"])
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    for arg in get_args(annotation):
        if get_origin(arg) is Literal:
            return list(get_args(arg))
    return None


def _bounds(spec: FieldSpec) -> tuple[float | None, float | None]:
    low = high = None
    for item in spec.info.metadata:
        low = getattr(item, "ge", None) if getattr(item, "ge", None) is not None else low
        low = getattr(item, "gt", None) if getattr(item, "gt", None) is not None else low
        high = getattr(item, "le", None) if getattr(item, "le", None) is not None else high
        high = getattr(item, "lt", None) if getattr(item, "lt", None) is not None else high
    if spec.meta.get("range"):
        low, high = spec.meta["range"]
    return low, high


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def help_for(spec: FieldSpec) -> FieldHelp:
    """The help record of one declared field."""
    low, high = _bounds(spec)
    default = spec.info.get_default(call_default_factory=True) if not spec.info.is_required() else None
    return FieldHelp(
        path=spec.path,
        section=spec.section,
        name=spec.name,
        help=spec.help,
        level=spec.level,
        effect=spec.effect,
        type=_type_name(spec.info.annotation),
        default=_plain(default),
        unit=spec.meta.get("unit"),
        minimum=low,
        maximum=high,
        recommended=_plain(spec.meta.get("recommended")),
        choices=_choices(spec.info.annotation, spec.meta),
        kohya=spec.kohya,
        kohya_note=sd_scripts_note(spec.path),
        lorakit_only=spec.lorakit_only,
        secret=spec.secret,
    )


def explain(name: str) -> FieldHelp:
    """Plain-words help on a setting, by dotted path, short name or sd-scripts name."""
    spec = find_field(name)
    if spec is None:
        close = suggest(name)
        raise ConfigError(
            f"There is no setting called {name!r}.",
            (f"Did you mean {close!r}? " if close else "") + "Run `lorakit config explain` for the full list.",
            field=name,
        )
    return help_for(spec)


@lru_cache(maxsize=1)
def json_schema() -> dict[str, Any]:
    """The JSON schema of TrainConfig (pydantic's), each property carrying ``x-lorakit`` metadata."""
    return TrainConfig.model_json_schema()


@lru_cache(maxsize=1)
def form_schema() -> dict[str, Any]:
    """The settings grouped by section in display order, ready to build a form or widgets from.

    ``{"sections": [{"name", "title", "description", "fields": [FieldHelp dicts]}], "subset_fields": [...],
    "json_schema": {...}}``
    """
    sections = []
    for section in ("", *SECTIONS):
        fields = [help_for(s).to_dict() for s in all_fields() if s.section == section and "[]" not in s.path]
        info = TrainConfig.model_fields.get(section)
        sections.append(
            {
                "name": section or "general",
                "title": SECTION_TITLES[section],
                "description": info.description if info is not None else "",
                "fields": fields,
            }
        )
    subset_fields = [help_for(s).to_dict() for s in all_fields() if "[]" in s.path]
    return {"sections": sections, "subset_fields": subset_fields, "json_schema": json_schema()}
