"""A client for an OpenAI-compatible ``/v1/chat/completions`` endpoint (Ollama, llama.cpp, vLLM, OpenAI).

Configured per workspace in ``studio/settings.toml``::

    [llm]
    url = "http://localhost:11434"   # the server; /v1/chat/completions is added
    model = "llama3.2"
    timeout_s = 60
    api_key = ""                      # sent as a Bearer token when set

No configuration: :func:`llm_settings` returns None and the Studio uses its rule-based answers.
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass

from lorakit.errors import LorakitError
from lorakit.workspace import Workspace

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS_FILE = "studio/settings.toml"


class LlmError(LorakitError):
    code = "llm"


@dataclass(frozen=True)
class LlmSettings:
    url: str
    model: str
    timeout_s: float = 60.0
    api_key: str = ""


def llm_settings(workspace: Workspace) -> LlmSettings | None:
    path = workspace.root / SETTINGS_FILE
    if not path.is_file():
        return None
    try:
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("llm") or {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise LorakitError(f"{SETTINGS_FILE} is not valid TOML: {error}.", "Fix or remove the file.") from None
    if not section.get("url"):
        return None
    return LlmSettings(
        url=str(section["url"]).rstrip("/"),
        model=str(section.get("model") or "llama3.2"),
        timeout_s=float(section.get("timeout_s", 60.0)),
        api_key=str(section.get("api_key") or ""),
    )


def chat(settings: LlmSettings, messages: list[dict[str, str]]) -> str:
    """The assistant's reply text. An :class:`LlmError` when the server is down or answers something else."""
    base = settings.url if settings.url.endswith("/v1") else f"{settings.url}/v1"
    body = json.dumps({"model": settings.model, "messages": messages, "stream": False}).encode()
    headers = {"Content-Type": "application/json"}
    if settings.api_key:
        headers["Authorization"] = f"Bearer {settings.api_key}"
    request = urllib.request.Request(f"{base}/chat/completions", data=body, headers=headers, method="POST")
    fix = f"Start the LLM server at {settings.url}, or check url and model in {SETTINGS_FILE}."
    try:
        with urllib.request.urlopen(request, timeout=settings.timeout_s) as response:
            data = json.loads(response.read())
    except urllib.error.HTTPError as error:
        raise LlmError(f"The LLM server answered HTTP {error.code}.", fix) from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise LlmError(f"The LLM server at {settings.url} did not answer ({reason}).", fix) from None
    except json.JSONDecodeError:
        raise LlmError("The LLM server's answer was not JSON.", fix) from None
    try:
        text = data["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise LlmError("The LLM server's answer has no choices[0].message.content.", fix) from None
    if not isinstance(text, str) or not text.strip():
        raise LlmError("The LLM server answered with an empty message.", fix)
    return text.strip()
