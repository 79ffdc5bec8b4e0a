"""The field catalog: every setting of :class:`TrainConfig` as a flat list with its dotted path and metadata.

Used by the sd-scripts export (to check every field is emitted), ``lorakit config explain``, the JSON
schema for the web form, and "did you mean" suggestions.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from lorakit.config.dataset import SubsetConfig
from lorakit.config.fields import LORAKIT_ONLY, meta_of
from lorakit.config.schema import SECTIONS, TrainConfig

SUBSET_PREFIX = "dataset.subsets[]"


@dataclass(frozen=True)
class FieldSpec:
    """One declared setting: where it lives and everything said about it."""

    path: str  # "network.dim"; subset fields are "dataset.subsets[].num_repeats"
    section: str  # "network"; "" for top-level fields
    name: str  # "dim"
    info: FieldInfo

    @cached_property
    def meta(self) -> dict[str, Any]:
        return meta_of(self.info)

    @cached_property
    def default(self) -> Any:
        """The default value (a fresh one from a factory, computed once: treat it as read-only)."""
        return None if self.info.is_required() else self.info.get_default(call_default_factory=True)

    @property
    def kohya(self) -> str | None:
        """The sd-scripts name, or None for a lorakit-only field (or a subset override without metadata)."""
        name = self.meta.get("kohya")
        return None if name in (None, LORAKIT_ONLY) else name

    @property
    def lorakit_only(self) -> bool:
        return self.meta.get("kohya") == LORAKIT_ONLY

    @property
    def level(self) -> str:
        return self.meta.get("level", "basic")

    @property
    def effect(self) -> str | None:
        """Where it takes effect: "trainer", "export-only", "refused" or "config" (see lorakit.config.fields)."""
        return self.meta.get("effect")

    @property
    def secret(self) -> bool:
        return bool(self.meta.get("secret"))

    @property
    def help(self) -> str:
        return self.info.description or ""


def _fields_of(model: type[BaseModel], section: str, prefix: str) -> list[FieldSpec]:
    return [FieldSpec(f"{prefix}{name}", section, name, info) for name, info in model.model_fields.items()]


@lru_cache(maxsize=1)
def all_fields() -> tuple[FieldSpec, ...]:
    """Every setting of TrainConfig (sections in display order), then the per-subset settings."""
    specs: list[FieldSpec] = []
    for name, info in TrainConfig.model_fields.items():
        if name not in SECTIONS:
            specs.append(FieldSpec(name, "", name, info))
    for section in SECTIONS:
        model = TrainConfig.model_fields[section].annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        specs += _fields_of(model, section, f"{section}.")
    # Subset overrides without their own metadata borrow it from the dataset-level field of the same name.
    by_name = {s.name: s for s in specs if s.section in ("dataset", "captions")}
    for name, info in SubsetConfig.model_fields.items():
        if not meta_of(info) and name in by_name:
            info = by_name[name].info
        specs.append(FieldSpec(f"{SUBSET_PREFIX}.{name}", "dataset", name, info))
    return tuple(specs)


@lru_cache(maxsize=1)
def top_fields() -> tuple[FieldSpec, ...]:
    """The settings of TrainConfig without the per-subset ones."""
    return tuple(s for s in all_fields() if not s.path.startswith(SUBSET_PREFIX))


@lru_cache(maxsize=1)
def _index() -> dict[str, FieldSpec]:
    index: dict[str, FieldSpec] = {}
    specs = top_fields()
    # Most specific first, so a full path always wins over a short or sd-scripts name.
    for spec in specs:
        if spec.kohya:
            index.setdefault(spec.kohya.lower(), spec)
    for spec in specs:
        index[spec.name.lower()] = index.get(spec.name.lower(), spec) if spec.section == "" else spec
    for spec in all_fields():
        index[spec.path.lower()] = spec
        index.setdefault(spec.name.lower(), spec)  # subset-only names such as num_repeats
    return index


def find_field(name: str) -> FieldSpec | None:
    """Look a setting up by dotted path (``network.dim``), short name (``dim``) or sd-scripts name
    (``network_dim``)."""
    key = name.strip().lower()
    index = _index()
    return index.get(key) or index.get(key.replace("-", "_"))


def suggest(name: str, candidates: list[str] | None = None) -> str | None:
    """The closest known name to a misspelt one: among ``candidates`` if given, else a dotted field path."""
    if candidates is not None:
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        return close[0] if close else None
    spec = find_field(name)
    if spec is None:
        close = difflib.get_close_matches(name.lower(), list(_index()), n=1, cutoff=0.6)
        spec = _index()[close[0]] if close else None
    return spec.path if spec is not None else None
