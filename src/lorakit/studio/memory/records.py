"""What one memory is, what a search returns, and the errors of the memory."""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from lorakit.errors import LorakitError

KINDS = ("prompt", "feedback", "note", "training", "chat")
FILTER_FIELDS = ("kind", "project", "character")


class AssistantMemoryError(LorakitError):
    """The assistant memory cannot do what was asked (bad kind, bad filter, store unreachable)."""

    code = "memory"


@dataclass
class Memory:
    """One remembered thing: what kind it is, its text, where it came from and when."""

    kind: str
    text: str
    source: str = ""  # who or what wrote it: "feedback", "user", "train job", "chat"...
    ref: str = ""  # what it points at: an image id, a job id, a file
    project: str = ""
    character: str = ""
    time: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. {"negatives": [...]} for feedback
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise AssistantMemoryError(
                f"Unknown memory kind {self.kind!r}.", f"Use one of: {', '.join(KINDS)}.", field="kind"
            )
        if not str(self.text).strip():
            raise AssistantMemoryError("A memory needs some text; this one is empty.", "Pass the text to remember.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Memory:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def source_line(self) -> str:
        """How the memory is cited in an answer: kind, source, ref and who it is about."""
        about = "/".join(p for p in (self.project, self.character) if p)
        parts = [self.kind, self.source, self.ref, about]
        return " · ".join(p for p in parts if p)


@dataclass
class Hit:
    """A memory found by a search, with its cosine similarity to the query (1 is identical)."""

    memory: Memory
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {**self.memory.to_dict(), "score": self.score, "citation": self.memory.source_line()}


def check_filters(filters: dict[str, Any] | None) -> dict[str, tuple[str, ...]]:
    """Normalise ``{"kind": "note", "character": ["Mira", "Kai"]}`` to tuples, refusing unknown fields."""
    out: dict[str, tuple[str, ...]] = {}
    for name, value in (filters or {}).items():
        if name not in FILTER_FIELDS:
            raise AssistantMemoryError(
                f"Cannot filter memories by {name!r}.", f"Filter by {', '.join(FILTER_FIELDS)}.", field=name
            )
        if value is None:
            continue
        values = (value,) if isinstance(value, str) else tuple(value)
        out[name] = tuple(str(v) for v in values)
    return out
