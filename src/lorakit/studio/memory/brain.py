"""The assistant: remember, search, chat and enhance prompts, with an LLM when one is configured."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lorakit.studio.memory.embedder import WordLlamaEmbedder
from lorakit.studio.memory.llm import ChatModel, LLMUnavailable
from lorakit.studio.memory.records import Hit, Memory
from lorakit.studio.memory.store import LocalStore, QdrantStore
from lorakit.studio.memory.suggest import suggest

log = logging.getLogger(__name__)

SYSTEM = (
    "You are the assistant of an anime character production studio that generates images and trains LoRA "
    "adapters. Answer from the project memories given, citing them as [1], [2]... Say so when they do not "
    "contain the answer."
)


@dataclass
class ChatAnswer:
    """``answer`` is the LLM's text, or None when no LLM is configured or it did not answer (``message`` says)."""

    question: str
    answer: str | None
    memories: list[Hit]
    message: str = ""
    suggestions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "message": self.message,
            "suggestions": self.suggestions,
            "memories": [h.to_dict() for h in self.memories],
        }


@dataclass
class PromptSuggestion:
    """An enhanced prompt: the LLM's rewrite if there is one, else the prompt with the rule-based additions."""

    prompt: str
    enhanced: str
    additions: list[str]
    negatives: list[str]
    reasons: list[str]
    memories: list[Hit]
    by_llm: bool = False
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in ("prompt", "enhanced", "additions", "negatives", "reasons", "by_llm")}
        return {**data, "message": self.message, "memories": [h.to_dict() for h in self.memories]}


def _context(hits: list[Hit]) -> str:
    return "\n".join(f"[{i}] ({h.memory.source_line()}) {h.memory.text}" for i, h in enumerate(hits, 1))


class AssistantMemory:
    """One project's memory. ``folder`` holds the embedded store; ``qdrant_url`` uses a server instead."""

    def __init__(
        self,
        folder: str | Path | None = None,
        *,
        qdrant_url: str | None = None,
        store: LocalStore | QdrantStore | None = None,
        llm: ChatModel | None = None,
        embedder: WordLlamaEmbedder | None = None,
    ):
        self.embedder = embedder or WordLlamaEmbedder()
        if store is None:
            if qdrant_url:
                store = QdrantStore(self.embedder.dim, url=qdrant_url)
            elif folder is not None:
                coarse = getattr(self.embedder, "coarse_dim", None)
                store = LocalStore(folder, self.embedder.dim, self.embedder.name, coarse_dim=coarse)
            else:
                raise TypeError("AssistantMemory needs a folder, a qdrant_url or a store")
        self.store = store
        self.llm = llm

    def remember(self, kind: str, text: str, **fields: Any) -> Memory:
        """Store one memory (fields: source, ref, project, character, time, extra) and return it."""
        return self.remember_many([Memory(kind=kind, text=text, **fields)])[0]

    def remember_many(self, memories: list[Memory]) -> list[Memory]:
        if memories:
            self.store.add(memories, self.embedder.embed([m.text for m in memories]))
        return memories

    def search(self, query: str, k: int = 5, filters: dict[str, Any] | None = None) -> list[Hit]:
        """The ``k`` memories closest in meaning to ``query``, best first; filters on kind/project/character."""
        if not query.strip() or k <= 0:
            return []
        return self.store.search(self.embedder.embed([query])[0], k, filters)

    def _ask(self, messages: list[dict[str, str]]) -> tuple[str | None, str]:
        if self.llm is None:
            return None, "No language model is configured: here are the related memories."
        try:
            return self.llm.complete(messages), ""
        except LLMUnavailable as error:
            log.warning("assistant LLM unavailable: %s", error.reason)
            return None, f"The language model is unavailable ({error.reason}); here are the related memories."

    def chat(self, question: str, *, k: int = 5, filters: dict[str, Any] | None = None, **fields: Any) -> ChatAnswer:
        """Answer ``question`` from the related memories; the exchange is remembered as a chat memory."""
        hits = self.search(question, k, filters)
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Project memories:\n{_context(hits) or '(none)'}\n\nQuestion: {question}"},
        ]
        answer, message = self._ask(messages)
        _, _, reasons = suggest(question, hits) if hits else ([], [], [])
        text = f"Q: {question}" + (f"\nA: {answer}" if answer else "")
        self.remember("chat", text, source=fields.pop("source", "chat"), **fields)
        return ChatAnswer(question, answer, hits, message, [r for r in reasons if "quality" not in r])

    def enhance_prompt(
        self, prompt: str, *, k: int = 8, project: str = "", character: str = "", **fields: Any
    ) -> PromptSuggestion:
        """Suggest a better prompt from related prompts and feedback (rules), rewritten by the LLM if configured."""
        filters = {name: value for name, value in (("project", project), ("character", character)) if value}
        hits = self.search(prompt, k, filters)
        additions, negatives, reasons = suggest(prompt, hits)
        enhanced = ", ".join([prompt.strip().rstrip(","), *additions]) if additions else prompt.strip()
        messages = [
            {"role": "system", "content": SYSTEM + " Reply with the improved prompt only, one line of tags."},
            {
                "role": "user",
                "content": f"Project memories:\n{_context(hits) or '(none)'}\n\nSuggested additions: "
                f"{', '.join(additions) or '(none)'}\nSuggested negatives: {', '.join(negatives) or '(none)'}\n\n"
                f"Improve this Stable Diffusion prompt: {prompt}",
            },
        ]
        answer, message = self._ask(messages)
        return PromptSuggestion(
            prompt, answer or enhanced, additions, negatives, reasons, hits, by_llm=answer is not None, message=message
        )

    def close(self) -> None:
        self.store.close()
