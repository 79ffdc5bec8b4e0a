"""The assistant memory ("Echo Brain"): prompts, feedback, notes, training results and chats, searchable by meaning.

Texts are embedded with WordLlama's small static embedding model, whose weights ship inside the ``wordllama``
wheel (nothing is downloaded), and kept in an embedded store in the workspace (SQLite rows + an in-memory matrix)
or, for large deployments, a Qdrant server. ``AssistantMemory.chat`` and ``enhance_prompt`` answer with the
related memories and their sources; an OpenAI-compatible LLM (e.g. Ollama) writes the answer when configured.
"""

from lorakit.studio.memory.brain import AssistantMemory, ChatAnswer, PromptSuggestion
from lorakit.studio.memory.embedder import WordLlamaEmbedder
from lorakit.studio.memory.llm import ChatModel, LLMUnavailable
from lorakit.studio.memory.records import KINDS, AssistantMemoryError, Hit, Memory
from lorakit.studio.memory.store import LocalStore, QdrantStore

__all__ = [
    "KINDS",
    "AssistantMemory",
    "AssistantMemoryError",
    "ChatAnswer",
    "ChatModel",
    "Hit",
    "LLMUnavailable",
    "LocalStore",
    "Memory",
    "PromptSuggestion",
    "QdrantStore",
    "WordLlamaEmbedder",
]
