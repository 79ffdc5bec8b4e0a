"""Access tokens for Hugging Face and Civitai: stored owner-only, read from the environment as a fallback,
only ever shown masked.

Tokens live in ``credentials.json`` inside a settings folder: the workspace's settings folder when a
front end passes one, else ``$LORAKIT_HOME`` or ``~/.config/lorakit``. The file is written atomically
and with mode 0600, because anyone who can read it can download (and on Hugging Face, upload) as the
user. A token is never logged, never put in a URL, and never included in an error message: use
:func:`redact` on any text that might carry one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from lorakit.errors import LorakitError
from lorakit.fileio import atomic_open

CREDENTIALS_FILE = "credentials.json"

# Service -> environment variables read when no token is stored (first one set wins).
SERVICES = {
    "huggingface": ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"),
    "civitai": ("CIVITAI_TOKEN", "CIVITAI_API_KEY"),
}
ALIASES = {"hf": "huggingface", "hugging-face": "huggingface", "hugging_face": "huggingface", "civit": "civitai"}
WHERE_TO_GET = {
    "huggingface": "https://huggingface.co/settings/tokens (a 'read' token is enough)",
    "civitai": "https://civitai.com/user/account (API keys section)",
}


def settings_folder(folder: str | os.PathLike | None = None) -> Path:
    """The folder that holds ``credentials.json``: ``folder``, else ``$LORAKIT_HOME``, else ~/.config/lorakit."""
    if folder is not None:
        return Path(folder)
    home = os.environ.get("LORAKIT_HOME")
    return Path(home) if home else Path.home() / ".config" / "lorakit"


def service_name(name: str) -> str:
    """``hf`` -> ``huggingface``; refuse services we do not know with the list we do."""
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in SERVICES:
        raise LorakitError(f"lorakit does not keep tokens for {name!r}.", "Use one of: huggingface (hf), civitai.")
    return key


def _read(folder: Path) -> dict[str, str]:
    try:
        data = json.loads((folder / CREDENTIALS_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _write(folder: Path, tokens: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    # Owner-only from the first byte (the temp file is 0600 too), even if someone loosened the old file.
    with atomic_open(folder / CREDENTIALS_FILE, "w", encoding="utf-8", private=True) as f:
        json.dump(tokens, f, indent=1, sort_keys=True)


def get_token(service: str, folder: str | os.PathLike | None = None) -> str | None:
    """The token for ``service``: the stored one, else the first environment variable set, else None."""
    key = service_name(service)
    stored = _read(settings_folder(folder)).get(key)
    if stored:
        return stored
    for env in SERVICES[key]:
        if os.environ.get(env):
            return os.environ[env]
    return None


def token_source(service: str, folder: str | os.PathLike | None = None) -> str | None:
    """Where the token comes from: ``settings file``, ``$HF_TOKEN`` (etc.) or None when there is none."""
    key = service_name(service)
    if _read(settings_folder(folder)).get(key):
        return "settings file"
    return next((f"${env}" for env in SERVICES[key] if os.environ.get(env)), None)


def set_token(service: str, token: str, folder: str | os.PathLike | None = None) -> Path:
    """Store a token (owner-only file); returns the file written."""
    key = service_name(service)
    token = token.strip()
    if not token or any(c.isspace() for c in token):
        raise LorakitError(
            "That token is empty or contains spaces.", f"Copy the token again from {WHERE_TO_GET[key]}."
        )
    base = settings_folder(folder)
    tokens = _read(base)
    tokens[key] = token
    _write(base, tokens)
    return base / CREDENTIALS_FILE


def delete_token(service: str, folder: str | os.PathLike | None = None) -> bool:
    """Forget a stored token; True when one was stored. (Environment variables are left alone.)"""
    key = service_name(service)
    base = settings_folder(folder)
    tokens = _read(base)
    if key not in tokens:
        return False
    del tokens[key]
    _write(base, tokens)
    return True


def mask(token: str | None) -> str:
    """``hf_abcdefgh1234`` -> ``hf_…1234``: enough to recognise a token, not enough to use it."""
    if not token:
        return "(not set)"
    prefix = token.split("_", 1)[0] + "_" if "_" in token[:6] else ""
    return f"{prefix}…{token[-4:]}" if len(token) > 8 else "…"


def token_status(folder: str | os.PathLike | None = None) -> dict[str, dict[str, str | bool | None]]:
    """For each service: whether a token is set, masked, and where it comes from (for UIs and the CLI)."""
    status: dict[str, dict[str, str | bool | None]] = {}
    for key in SERVICES:
        token = get_token(key, folder)
        status[key] = {"set": bool(token), "masked": mask(token), "source": token_source(key, folder)}
    return status


def redact(text: str, *tokens: str | None) -> str:
    """Replace every occurrence of each token in ``text`` (error messages, logged URLs) with a mask."""
    for token in tokens:
        if token and len(token) >= 4:
            text = text.replace(token, mask(token))
    return text


def all_tokens(folder: str | os.PathLike | None = None) -> list[str]:
    """Every token lorakit could send (stored or from the environment): what :func:`redact` must hide."""
    return [t for key in SERVICES if (t := get_token(key, folder))]
