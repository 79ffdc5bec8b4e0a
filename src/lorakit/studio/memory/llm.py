"""A chat model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (Ollama, llama.cpp, vLLM, OpenAI)."""

from __future__ import annotations

import logging

import httpx

log = logging.getLogger(__name__)


class LLMUnavailable(Exception):
    """The model did not answer (down, timed out, an HTTP error or a reply without text): ``reason`` says which."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


class ChatModel:
    """``base_url`` is the server root or its ``/v1`` (``http://localhost:11434`` for Ollama)."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None, timeout: float = 60.0):
        root = base_url.rstrip("/")
        self.url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout

    def complete(self, messages: list[dict[str, str]], *, temperature: float = 0.3) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"model": self.model, "messages": messages, "temperature": temperature, "stream": False}
        try:
            reply = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as error:
            raise LLMUnavailable(f"{self.url} did not answer ({type(error).__name__}: {error})") from error
        if reply.status_code != 200:
            raise LLMUnavailable(f"{self.url} answered HTTP {reply.status_code}: {reply.text[:200]}")
        try:
            text = reply.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise LLMUnavailable(f"{self.url} answered without a chat completion ({error!r})") from error
        if not isinstance(text, str) or not text.strip():
            raise LLMUnavailable(f"{self.url} answered with an empty message")
        return text.strip()
