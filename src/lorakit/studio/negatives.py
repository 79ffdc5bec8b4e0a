"""The table from rejection categories to negative-prompt terms.

The built-in table is below. A workspace overrides it with ``studio/negatives.toml``: one key per
category, a list of terms as the value; categories it names replace the built-in ones, the rest stay::

    # studio/negatives.toml
    wrong_style = ["3d render", "photorealistic", "western cartoon"]
    not_solo = ["2girls", "multiple people", "crowd"]

Only the six known categories are accepted (an unknown key is an error naming it).
"""

from __future__ import annotations

import sys

from lorakit.errors import LorakitError
from lorakit.workspace import Workspace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CATEGORIES = ("wrong_appearance", "wrong_style", "bad_quality", "not_solo", "wrong_pose", "wrong_expression")
NEGATIVES_FILE = "studio/negatives.toml"

BUILTIN: dict[str, list[str]] = {
    "wrong_appearance": ["inconsistent character design", "wrong hair color", "wrong eye color", "wrong outfit"],
    "wrong_style": ["3d render", "photorealistic", "realistic", "western cartoon"],
    "bad_quality": [
        "lowres",
        "blurry",
        "jpeg artifacts",
        "bad anatomy",
        "bad hands",
        "extra fingers",
        "worst quality",
    ],
    "not_solo": ["multiple people", "2girls", "2boys", "crowd", "group"],
    "wrong_pose": ["awkward pose", "twisted body", "bad proportions"],
    "wrong_expression": ["wrong expression", "blank expression", "distorted face"],
}


def negative_table(workspace: Workspace) -> dict[str, list[str]]:
    """The built-in table with the workspace's ``studio/negatives.toml`` laid over it."""
    table = {k: list(v) for k, v in BUILTIN.items()}
    path = workspace.root / NEGATIVES_FILE
    if not path.is_file():
        return table
    fix = f'Edit {NEGATIVES_FILE}: one line per category, e.g. not_solo = ["crowd", "2girls"].'
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LorakitError(f"{NEGATIVES_FILE} is not valid TOML: {error}.", fix, field="negatives") from None
    for key, terms in data.items():
        if key not in CATEGORIES:
            raise LorakitError(
                f"{NEGATIVES_FILE} names an unknown category {key!r}.",
                f"Use only: {', '.join(CATEGORIES)}.",
                field="negatives",
            )
        if not isinstance(terms, list) or not all(isinstance(t, str) and t.strip() for t in terms):
            raise LorakitError(f"{NEGATIVES_FILE}: {key} must be a list of words or phrases.", fix, field="negatives")
        table[key] = [t.strip() for t in terms]
    return table


def merge_terms(existing: list[str], new: list[str]) -> list[str]:
    """``existing`` followed by the terms of ``new`` it lacks (compared without case or outer spaces)."""
    seen = {t.strip().lower() for t in existing}
    out = list(existing)
    for term in new:
        key = term.strip().lower()
        if key and key not in seen:
            seen.add(key)
            out.append(term.strip())
    return out
