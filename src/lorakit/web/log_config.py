"""Server logging that never shows the access token, at any level (uvicorn's ``trace`` included).

Every handler of the server's logging configuration carries :class:`RedactFilter`, which rewrites a
record before it is written: ``token=...`` in URLs and cookies, ``Bearer ...``/``Basic ...``
credentials, and the server's own token wherever it appears (in the message, in each argument, in a
traceback) become ``***``. The filter works on each argument instead of flattening the record, so
uvicorn's access formatter (which reads ``record.args``) still works.

``lorakit serve`` passes :func:`logging_config` to uvicorn; :func:`protect_loggers` puts the same
filter on the loggers uvicorn and the app write to, for an app embedded in someone else's server.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

HIDDEN = "***"
# A token in a query string or cookie (token=, lorakit_token=, access_token=), up to the next separator.
_TOKEN_PARAM = re.compile(r"(?i)(token=)[^&\s;,'\"#)\]}]+")
# HTTP credentials: "Bearer <token>" / "Basic <credentials>" (headers, logged header lists, reprs).
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]+")
# Loggers the server writes to: uvicorn's, the websockets library's (handshake headers at debug), ours.
SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi", "websockets", "lorakit")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with tokens in URLs, cookies and credentials (and each of ``secrets``) replaced by ``***``."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, HIDDEN)
    text = _TOKEN_PARAM.sub(lambda m: m.group(1) + HIDDEN, text)
    return _CREDENTIAL.sub(lambda m: m.group(1) + m.group(2) + HIDDEN, text)


class RedactFilter(logging.Filter):
    """Hide tokens in every record that passes (it never drops a record)."""

    def __init__(self, name: str = "", secrets: Iterable[str] = ()):
        super().__init__(name)
        self.secrets: set[str] = {s for s in secrets if s}

    def add_secret(self, secret: str | None) -> None:
        if secret:
            self.secrets.add(secret)

    def _clean(self, value: Any) -> Any:
        if isinstance(value, int | float | bool) or value is None:
            return value
        if isinstance(value, bytes | bytearray):
            text = bytes(value).decode("latin-1")
            clean = redact(text, self.secrets)
            return value if clean == text else clean.encode("latin-1")
        text = value if isinstance(value, str) else str(value)
        clean = redact(text, self.secrets)
        # Objects (headers, ASGI scopes at trace level) are kept unless they hold a token.
        return value if clean == text else clean

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._clean(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {k: self._clean(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(self._clean(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


_shared = RedactFilter()


def shared_filter(token: str | None = None) -> RedactFilter:
    """The process's one filter (its secrets grow with each token served); ``token`` is added to it."""
    _shared.add_secret(token)
    return _shared


def protect_loggers(token: str | None = None) -> RedactFilter:
    """Put the filter on the server's loggers and on every handler already attached to them or the root."""
    redactor = shared_filter(token)
    for name in (*SERVER_LOGGERS, ""):
        logger = logging.getLogger(name)
        if redactor not in logger.filters:
            logger.addFilter(redactor)
        for handler in logger.handlers:
            if redactor not in handler.filters:
                handler.addFilter(redactor)
    return redactor


def logging_config(level: str = "warning", token: str | None = None) -> dict[str, Any]:
    """uvicorn's logging configuration with the filter on every handler, and our loggers on the same handlers."""
    import uvicorn.config

    shared_filter(token)
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "lorakit.web.log_config.shared_filter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["redact"]
    # Everything else (lorakit, websockets, libraries) goes through the same filtered handler, never
    # through logging's unfiltered last-resort handler.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    config["loggers"]["lorakit"] = {"level": level.upper() if level != "trace" else "DEBUG"}
    return config
