"""Turning pydantic's validation errors into one :class:`ConfigError` with an issue per field.

Each issue names the dotted field path, the value given, what is wrong and what to do, in plain words;
unknown keys get a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, get_args, get_origin

import tomli_w
from pydantic import BaseModel, ValidationError

from lorakit.config.catalog import find_field, suggest
from lorakit.config.fields import LORAKIT_ONLY, meta_of
from lorakit.config.schema import TrainConfig
from lorakit.errors import ConfigError


def show_value(value: Any, *, secret: bool = False) -> str:
    """A short printable form of a value (secrets masked)."""
    if secret and value:
        return "'***'"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``Model``, ``list[Model]`` or ``Model | None``, if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(get_origin(a) is list for a in get_args(annotation))


def _split_loc(loc: tuple[Any, ...], root: type[BaseModel]) -> tuple[str, type[BaseModel] | None, str | None]:
    """(dotted field path, the model that owns the last field, the last field's name) of an error location.

    pydantic appends union member tags ('int', 'tuple[int, int]') after the field; they are dropped.
    """
    parts: list[str] = []
    model: type[BaseModel] | None = root
    owner: type[BaseModel] | None = None
    last: str | None = None
    items = list(loc)
    while items:
        item = items.pop(0)
        if model is None or not isinstance(item, str):
            break
        owner, last = model, item
        parts.append(item)
        if item not in model.model_fields:
            break  # an unknown key: the path ends here
        annotation = model.model_fields[item].annotation
        model = _model_in(annotation)
        if _is_list(annotation) and items and isinstance(items[0], int):
            parts[-1] += f"[{items.pop(0)}]"
    return ".".join(parts), owner, last


def _unknown_key_fix(path: str, owner: type[BaseModel] | None, name: str) -> str:
    parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
    # A real setting written in the wrong table, or under its sd-scripts name: say where it goes.
    elsewhere = find_field(name)
    if elsewhere is not None and not elsewhere.path.startswith("dataset.subsets[]"):
        section = elsewhere.path.rsplit(".", 1)[0]
        where = f"in the [{section}] table" if section != elsewhere.path else "at the top"
        return f"Did you mean {elsewhere.path}? Write it as {elsewhere.name!r} {where}."
    # A typo: compare with this table's names and their sd-scripts spellings.
    names: dict[str, str] = {}
    for field_name, info in owner.model_fields.items() if owner is not None else ():
        names[field_name] = field_name
        kohya = meta_of(info).get("kohya")
        if isinstance(kohya, str) and kohya != LORAKIT_ONLY:
            names.setdefault(kohya, field_name)
    close = suggest(name, list(names))
    if close:
        return f"Did you mean {parent}{names[close]}? Rename it."
    nearest = suggest(name)
    if nearest and not nearest.startswith("dataset.subsets[]"):
        return f"Did you mean {nearest}?"
    return "Remove it (see `lorakit config explain` for the settings that exist)."


def _example(path: str) -> str:
    """`` e.g. name = <default>`` in TOML spelling, from the field's default, or ''."""
    spec = find_field(path)
    if spec is None or spec.default in (None, [], {}) or spec.secret:
        return ""
    try:
        line = tomli_w.dumps({spec.name: _plain(spec.default)}).strip()
    except TypeError:
        return ""
    return f", e.g. {line}" if "\n" not in line else ""


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _fix_for(error: dict[str, Any], path: str, owner: type[BaseModel] | None, name: str | None) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return _unknown_key_fix(path, owner, name or "")
    if kind == "missing":
        return f"Add {path}{_example(path)}."
    bounds = {
        "greater_than_equal": "Use {} or more.",
        "greater_than": "Use a value above {}.",
        "less_than_equal": "Use {} or less.",
        "less_than": "Use a value below {}.",
    }
    if kind in bounds and ctx:
        return bounds[kind].format(next(iter(ctx.values())))
    if kind == "literal_error":
        choices = [c.strip().strip("'") for c in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        close = difflib.get_close_matches(str(error.get("input")), choices, n=1, cutoff=0.6)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        return f"{hint}Use one of {ctx.get('expected', 'the listed choices')}."
    expected = _expected(kind)
    if expected:
        return f"Write {path} as {expected}{_example(path)}."
    return "Change the value (see `lorakit config explain " + (name or path) + "`)."


def _expected(kind: str) -> str:
    for prefix, words in (
        ("int_", "a whole number"),
        ("float_", "a number"),
        ("bool_", "true or false"),
        ("string_", "text in quotes"),
        ("list_", "a list in brackets"),
        ("tuple_", "a list in brackets"),
        ("dict_", "a table"),
        ("model_", "a table ([section] with settings under it)"),
        ("path_", "a path in quotes"),
    ):
        if kind.startswith(prefix):
            return words
    return ""


# pydantic's error types in plain words ({...} filled from the error's context).
_PLAIN = {
    "greater_than_equal": "is too small (the smallest allowed is {ge})",
    "greater_than": "is too small (it must be above {gt})",
    "less_than_equal": "is too large (the largest allowed is {le})",
    "less_than": "is too large (it must be below {lt})",
    "literal_error": "is not one of the choices",
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_type": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "bool_parsing": "is not true or false",
    "bool_type": "is not true or false",
    "string_type": "is not text",
    "list_type": "is not a list",
    "tuple_type": "is not a list",
    "dict_type": "is not a table",
    "model_type": "is not a table",
    "model_attributes_type": "is not a table",
    "path_type": "is not a path",
    "too_long": "has too many items",
    "too_short": "has too few items",
}


def _plain_message(detail: dict[str, Any]) -> str:
    template = _PLAIN.get(detail["type"])
    if template is not None:
        try:
            return template.format(**(detail.get("ctx") or {}))
        except (KeyError, IndexError):
            pass
    return str(detail["msg"]).removeprefix("Value error, ")


def issues_from(error: ValidationError, root: type[BaseModel] = TrainConfig) -> list[ConfigError]:
    """One ConfigError per field; a union's several member errors become one issue."""
    grouped: dict[str, list[tuple[dict[str, Any], type[BaseModel] | None, str | None]]] = {}
    for detail in error.errors():
        path, owner, name = _split_loc(tuple(detail["loc"]), root)
        grouped.setdefault(path, []).append((dict(detail), owner, name))
    issues = []
    for path, errors in grouped.items():
        item, owner, name = errors[0]
        spec = find_field(path) if path else None
        value = show_value(item.get("input"), secret=bool(spec and spec.secret))
        if item["type"] == "missing":
            problem = f"{path} is missing."
        elif item["type"] == "extra_forbidden":
            problem = f"{path} = {value}: is not a known setting."
        else:
            problem = f"{path} = {value}: {_plain_message(item)}."
        fix = _fix_for(item, path, owner, name)
        kinds = {e["type"] for e, _, _ in errors}
        if len(kinds) > 1:  # a union such as resolution: int or [width, height]
            expected = dict.fromkeys(_expected(k) for k in sorted(kinds) if _expected(k))
            problem = f"{path} = {value}: not a valid value."
            fix = f"Write {path} as {' or as '.join(expected)}{_example(path)}." if expected else fix
        issues.append(ConfigError(problem, fix, field=path or None))
    return issues


def raise_invalid(error: ValidationError, source: str, root: type[BaseModel] = TrainConfig) -> typing.NoReturn:
    """Raise one ConfigError summarising ``error`` with an issue per field."""
    issues = issues_from(error, root)
    count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
    raise ConfigError(
        f"{source} has {count}: " + "; ".join(i.problem for i in issues[:3]) + (" ..." if len(issues) > 3 else ""),
        "Fix each setting listed; `lorakit config validate FILE` shows them all.",
        issues=issues,
    ) from None
