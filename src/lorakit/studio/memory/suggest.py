"""Rule-based prompt suggestions from related memories, used with or without an LLM.

- Phrases that recur in the character's remembered prompts but are missing from this prompt are suggested
  as additions (the design terms the user keeps writing).
- Negative terms carried by related feedback memories (``extra["negatives"]``, written by the feedback loop)
  are suggested as negatives, most frequent first.
- A prompt without any quality tag gets the usual ones for SD-family anime checkpoints.
"""

from __future__ import annotations

from collections import Counter

from lorakit.studio.memory.records import Hit

QUALITY_TAGS = ("masterpiece", "best quality")


def phrases(prompt: str) -> list[str]:
    """A prompt's comma-separated phrases, lower-cased and trimmed, with (weights:1.2) kept as written."""
    return [p.strip().lower() for p in prompt.split(",") if p.strip()]


def suggest(prompt: str, hits: list[Hit], *, limit: int = 8) -> tuple[list[str], list[str], list[str]]:
    """(additions, negatives, reasons) for ``prompt`` given the memories related to it."""
    have = set(phrases(prompt))
    additions: Counter[str] = Counter()
    negatives: Counter[str] = Counter()
    for hit in hits:
        memory = hit.memory
        if memory.kind == "prompt":
            additions.update(p for p in phrases(memory.text) if p not in have)
        for term in memory.extra.get("negatives", []) or []:
            negatives[str(term).strip().lower()] += 1
    reasons: list[str] = []
    # A phrase seen once may be a one-off; twice or more is a habit worth suggesting.
    add = [p for p, n in additions.most_common() if n >= 2][:limit]
    if add:
        reasons.append(f"{len(add)} phrase(s) recur in this character's earlier prompts but are missing here.")
    if not have & set(QUALITY_TAGS):
        add += [t for t in QUALITY_TAGS if t not in add]
        reasons.append("The prompt has no quality tags.")
    neg = [t for t, _ in negatives.most_common(limit) if t]
    if neg:
        reasons.append(f"{len(neg)} negative term(s) come from rejections of related images.")
    return add, neg, reasons
