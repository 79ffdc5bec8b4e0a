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

# Where a field takes effect. Every field says it explicitly (tests/config/test_effects.py enforces it,
# and tests/train/test_settings_take_effect.py proves each "trainer" field changes what training computes):
#   "trainer"      lorakit's own trainer reads it and it changes what training computes or writes;
#   "export-only"  only the sd-scripts export uses it (its help says so, and the form shows the label);
#   "refused"      not available in lorakit's trainer yet: validation refuses a non-default value before any
#                  model loads (see lorakit.config.checks_training.REFUSED); the sd-scripts export keeps it;
#   "config"       describes the config file itself (its layout version);
#   "display"      a label front ends and reports show; it changes nothing that is trained or written.
Effect = Literal["trainer", "export-only", "refused", "config", "display"]
EFFECTS: tuple[Effect, ...] = ("trainer", "export-only", "refused", "config", "display")
_EFFECT_NOTES = {
    "export-only": " Export only: sd-scripts uses it; lorakit's own trainer does not.",
    "refused": " Not available in lorakit's own trainer yet (it refuses a non-default value); exported to sd-scripts.",
}


def setting(
    default: Any = ...,
    *,
    help: str,
    kohya: str,
    effect: Effect,
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
    ``effect`` says where it takes effect (see :data:`Effect`); "export-only" and "refused" add a note to the help.
    ``secret`` fields are never written to exported files, logs or API answers.
    The section is the pydantic model the field lives in.
    """
    if effect not in EFFECTS:
        raise ValueError(f"effect must be one of {EFFECTS}, got {effect!r}")
    help = help + _EFFECT_NOTES.get(effect, "")
    meta = {
        "level": level,
        "kohya": kohya,
        "effect": effect,
        "unit": unit,
        "recommended": recommended,
        "secret": secret,
        **extra,
    }
    # A secret never shows in repr() either, so logging a config cannot leak it.
    kwargs: dict[str, Any] = {"description": help, "json_schema_extra": {"x-lorakit": meta}, "repr": not secret}
    for name, bound in (("ge", ge), ("le", le), ("gt", gt), ("lt", lt)):
        if bound is not None:
            kwargs[name] = bound
    if default_factory is not None:
        return Field(default_factory=default_factory, **kwargs)
    return Field(default, **kwargs)


def meta_of(info: FieldInfo) -> dict[str, Any]:
    """The lorakit metadata of a declared field (level, kohya name, effect, unit, recommended, secret)."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and isinstance(extra.get("x-lorakit"), dict):
        return extra["x-lorakit"]  # type: ignore[return-value]
    return {}
