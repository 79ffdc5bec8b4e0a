"""How a setting is declared: once, with everything a front end needs to show and check it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from pydantic.fields import FieldInfo

Level = Literal["basic", "advanced", "expert"]
LEVELS: tuple[Level, ...] = ("basic", "advanced", "expert")

# Marks a field that has no sd-scripts counterpart. It must be said explicitly, so a new field cannot
# be forgotten by the sd-scripts export (tests/config/test_kohya_coverage.py enforces this).
LORAKIT_ONLY = "<lorakit-only>"


def setting(
    default: Any = ...,
    *,
    help: str,
    kohya: str,
    level: Level = "basic",
    unit: str | None = None,
    recommended: Any = None,
    ge: float | None = None,
    le: float | None = None,
    gt: float | None = None,
    lt: float | None = None,
    default_factory: Any = None,
    secret: bool = False,
    **extra: Any,
) -> Any:
    """Declare a config field.

    ``help`` is plain words for an artist: what it does, a good range, what changes if you raise it.
    ``kohya`` is the sd-scripts argument name (``"network_dim"``), or :data:`LORAKIT_ONLY`.
    ``secret`` fields are never written to exported files, logs or API answers.
    The section is the pydantic model the field lives in.
    """
    meta = {"level": level, "kohya": kohya, "unit": unit, "recommended": recommended, "secret": secret, **extra}
    # A secret never shows in repr() either, so logging a config cannot leak it.
    kwargs: dict[str, Any] = {"description": help, "json_schema_extra": {"x-lorakit": meta}, "repr": not secret}
    for name, bound in (("ge", ge), ("le", le), ("gt", gt), ("lt", lt)):
        if bound is not None:
            kwargs[name] = bound
    if default_factory is not None:
        return Field(default_factory=default_factory, **kwargs)
    return Field(default, **kwargs)


def meta_of(info: FieldInfo) -> dict[str, Any]:
    """The lorakit metadata of a declared field (level, kohya name, unit, recommended, secret)."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("x-lorakit"), dict):
        return extra["x-lorakit"]  # type: ignore[return-value]
    return {}
