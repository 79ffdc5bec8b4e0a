"""The approve/reject loop: decisions, learned negatives, and refined design-prompt proposals.

- :func:`approve` and :func:`reject` decide on a pending image (exactly one of two racing reviewers wins;
  the other gets a :class:`~lorakit.studio.store.Conflict`).
- A rejection's categories add their negative-prompt terms (:mod:`lorakit.studio.negatives`) to the
  character's learned negatives, without duplicates; an optional prompt edit changes the design prompt.
- After :data:`PROPOSAL_AFTER` structured rejections (with at least one category) since the design prompt
  last changed, :func:`propose_prompt` offers a refined prompt: written by the configured LLM
  (:mod:`lorakit.studio.llm`), or by rules from the categories and notes when there is none or it fails.
  :func:`accept_proposal` makes it the design prompt (kept in the history).
"""

from __future__ import annotations

import re

from pydantic import BaseModel

from lorakit.studio import llm
from lorakit.studio.models import APPROVED, REJECTED
from lorakit.studio.negatives import CATEGORIES, merge_terms, negative_table
from lorakit.studio.store import Character, Image, StudioError, StudioStore

PROPOSAL_AFTER = 3
# What a proposal adds to the design prompt for each category (rule-based proposals).
POSITIVE_HINTS: dict[str, list[str]] = {
    "wrong_appearance": ["consistent character design"],
    "wrong_style": ["anime style", "cel shading"],
    "bad_quality": ["masterpiece", "best quality", "highly detailed"],
    "not_solo": ["solo"],
    "wrong_pose": ["natural pose"],
    "wrong_expression": ["expressive face"],
}
MAX_NOTE_TERM_WORDS = 6


class Proposal(BaseModel):
    character_id: int
    prompt: str
    source: str  # "rules" or "llm"
    rejections: int
    reasons: list[str]
    message: str | None = None  # e.g. why the LLM was not used


def approve(store: StudioStore, image_id: int, notes: str = "") -> Image:
    return store.decide(image_id, APPROVED, {"decision": APPROVED, "categories": [], "notes": notes})


def reject(
    store: StudioStore,
    image_id: int,
    categories: list[str] | tuple[str, ...] = (),
    notes: str = "",
    prompt_edit: str | None = None,
) -> Image:
    """Reject a pending image; its categories' negatives join the character's learned negatives."""
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        raise StudioError(
            f"Unknown rejection categories: {', '.join(unknown)}.",
            f"Use any of: {', '.join(CATEGORIES)}.",
            field="categories",
        )
    if not categories and not notes.strip() and not prompt_edit:
        raise StudioError(
            "A rejection needs a reason.", "Pick at least one category, or write a note.", field="categories"
        )
    table = negative_table(store.workspace)  # read first, so a broken table file refuses before anything changes
    categories = list(dict.fromkeys(categories))
    feedback = {"decision": REJECTED, "categories": categories, "notes": notes, "prompt_edit": prompt_edit}
    image = store.decide(image_id, REJECTED, feedback)
    character = store.character(image.character_id)
    new_terms = [term for category in categories for term in table[category]]
    store.add_learned_negatives(character.id, new_terms)
    if prompt_edit is not None and prompt_edit.strip() and prompt_edit != character.design_prompt:
        store.set_design_prompt(character.id, prompt_edit.strip(), "edited on reject")
    return image


def negative_prompt(store: StudioStore, character: Character) -> str:
    """The negative prompt a generation for ``character`` uses: the project's base plus the learned terms."""
    project = store.project(character.project_id)
    return ", ".join(merge_terms(list(project.base_negatives), character.learned_negatives))


def structured_rejections(store: StudioStore, character_id: int) -> list[dict]:
    """Rejections with categories since the design prompt last changed."""
    history = store.prompt_history(character_id)
    since = history[-1].created_at if history else 0.0
    return [
        f
        for f in store.feedback(character_id, REJECTED)
        if f["categories"] and f["created_at"] >= since and not f["prompt_edit"]
    ]


def propose_prompt(store: StudioStore, character_id: int) -> Proposal:
    """A refined design prompt (needs :data:`PROPOSAL_AFTER` structured rejections)."""
    character = store.character(character_id)
    rejections = structured_rejections(store, character_id)
    if len(rejections) < PROPOSAL_AFTER:
        raise StudioError(
            f"{character.name} has {len(rejections)} rejection(s) with categories since the design prompt "
            f"last changed; a proposal needs {PROPOSAL_AFTER}.",
            "Reject more images with categories first.",
            field="character",
        )
    counts: dict[str, int] = {}
    for f in rejections:
        for category in f["categories"]:
            counts[category] = counts.get(category, 0) + 1
    notes = [f["notes"].strip() for f in rejections if f["notes"].strip()]
    reasons = [f"{category} ×{n}" for category, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    rules = _rule_prompt(character.design_prompt, counts, notes)
    settings = llm.llm_settings(store.workspace)
    if settings is None:
        return Proposal(
            character_id=character_id, prompt=rules, source="rules", rejections=len(rejections), reasons=reasons
        )
    try:
        text = llm.chat(settings, _llm_messages(store, character, reasons, notes))
        return Proposal(
            character_id=character_id,
            prompt=_first_prompt_line(text) or rules,
            source="llm",
            rejections=len(rejections),
            reasons=reasons,
        )
    except llm.LlmError as error:
        return Proposal(
            character_id=character_id,
            prompt=rules,
            source="rules",
            rejections=len(rejections),
            reasons=reasons,
            message=f"{error.problem} The proposal below was made by rules instead.",
        )


def accept_proposal(store: StudioStore, character_id: int, prompt: str) -> Character:
    """Make ``prompt`` (a proposal, possibly edited) the character's design prompt, keeping the old one."""
    if not prompt.strip():
        raise StudioError("The proposed prompt is empty.", "Write or accept a non-empty prompt.", field="prompt")
    return store.set_design_prompt(character_id, prompt.strip(), "accepted proposal")


def _terms(prompt: str) -> list[str]:
    return [t.strip() for t in prompt.split(",") if t.strip()]


def _rule_prompt(design_prompt: str, counts: dict[str, int], notes: list[str]) -> str:
    terms = _terms(design_prompt)
    if counts.get("wrong_appearance"):
        # The design's own traits weigh more when the appearance keeps coming out wrong.
        terms = [t if t.startswith("(") else f"({t}:1.2)" for t in terms]
    extra = [hint for category in CATEGORIES if counts.get(category) for hint in POSITIVE_HINTS[category]]
    for note in notes:
        for piece in re.split(r"[,;\n]", note):
            piece = piece.strip().rstrip(".")
            if piece and len(piece.split()) <= MAX_NOTE_TERM_WORDS:
                extra.append(piece.lower())
    return ", ".join(merge_terms(terms, extra))


def _llm_messages(store: StudioStore, character: Character, reasons: list[str], notes: list[str]) -> list[dict]:
    project = store.project(character.project_id)
    system = (
        "You refine Stable Diffusion prompts for an anime character. Answer with the improved prompt only: "
        "one line of comma-separated tags, no explanation."
    )
    user = (
        f"Character: {character.name} (trigger word {character.trigger_word}).\n"
        f"Project style: {project.style or 'not set'}.\n"
        f"Current design prompt: {character.design_prompt}\n"
        f"Rejected images, by reason: {', '.join(reasons)}.\n"
        f"Reviewer notes: {' | '.join(notes) or 'none'}.\n"
        "Write a better design prompt that fixes these problems and keeps the character's design."
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _first_prompt_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip().strip("`\"'").strip()
        if line.lower().startswith("prompt:"):
            line = line[len("prompt:") :].strip()
        if line:
            return line
    return ""
