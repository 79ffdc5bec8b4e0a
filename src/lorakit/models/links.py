"""Links users paste, understood: Civitai model pages and download links, Hugging Face repos and files,
plain HTTPS file links.

:func:`parse_link` turns text into a :class:`ModelLink` (what the link names) without any network
access; the Civitai client and the downloader resolve it into :class:`RemoteFile` objects (what to fetch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from lorakit.errors import DownloadError

CIVITAI_HOSTS = {"civitai.com", "www.civitai.com", "civitai.green", "civitai.red"}
HF_HOSTS = {"huggingface.co", "www.huggingface.co", "hf.co"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
ACCEPTED = (
    "Paste one of: a Civitai model page (https://civitai.com/models/123/name, optionally with"
    " ?modelVersionId=456), a Civitai download link (https://civitai.com/api/download/models/456),"
    " a Hugging Face repo (https://huggingface.co/org/name) or file (…/blob/main/file.safetensors or"
    " …/resolve/main/file.safetensors), or a direct https:// link to a .safetensors file."
)
_REPO_PART = re.compile(r"^[\w.-]+$")


@dataclass
class ModelLink:
    """What a pasted link names. ``source`` is civitai, huggingface or url."""

    source: str
    url: str
    model_id: int | None = None  # Civitai
    version_id: int | None = None  # Civitai
    repo_id: str | None = None  # Hugging Face
    revision: str | None = None  # Hugging Face branch, tag or commit
    filename: str | None = None  # Hugging Face path inside the repo, or the URL's file name


@dataclass
class RemoteFile:
    """One file to download: where, under which name, and what we know about it in advance."""

    url: str
    filename: str
    size: int | None = None  # bytes, when the service lists it (Civitai lists it rounded to KB)
    sha256: str | None = None
    auth: str | None = None  # which token to send: civitai|huggingface|None
    kind: str | None = None  # checkpoints|loras|vae|embeddings|taggers (where it belongs in the library)
    info: dict = field(default_factory=dict)  # model/version names, base model, ... for display
    notes: list[str] = field(default_factory=list)


def _bad_link(text: str, why: str) -> DownloadError:
    return DownloadError(f"lorakit cannot use the link {text!r}: {why}.", ACCEPTED)


def _int(value: str, text: str, what: str) -> int:
    if not value.isdigit():
        raise _bad_link(text, f"{what} {value!r} is not a number")
    return int(value)


def parse_link(text: str) -> ModelLink:
    """Understand a pasted link (no network access). Raises DownloadError saying which forms work."""
    raw = text.strip().strip("<>\"'")
    if not raw:
        raise _bad_link(text, "it is empty")
    if "://" not in raw:
        host_guess = raw.split("/", 1)[0].lower()
        if host_guess in CIVITAI_HOSTS | HF_HOSTS:
            raw = "https://" + raw
        elif raw.count("/") == 1 and all(_REPO_PART.match(p) for p in raw.split("/")):
            return ModelLink(source="huggingface", url=f"https://huggingface.co/{raw}", repo_id=raw, revision="main")
        else:
            raise _bad_link(text, "it is not a web address")
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise _bad_link(text, f"{parts.scheme}: links are not downloadable")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise _bad_link(text, "plain http:// is not encrypted, so a download could be tampered with; use https://")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    query = parse_qs(parts.query)
    if host in CIVITAI_HOSTS:
        return _civitai(raw, text, segments, query)
    if host in HF_HOSTS:
        return _huggingface(raw, text, segments)
    if not segments:
        raise _bad_link(text, "it names a web site, not a file")
    return ModelLink(source="url", url=raw, filename=segments[-1])


def _civitai(raw: str, text: str, segments: list[str], query: dict[str, list[str]]) -> ModelLink:
    version = query.get("modelVersionId", [None])[0]
    if segments[:3] == ["api", "download", "models"] and len(segments) >= 4:
        return ModelLink(source="civitai", url=raw, version_id=_int(segments[3], text, "the version id"))
    if segments[:3] == ["api", "v1", "model-versions"] and len(segments) >= 4:
        return ModelLink(source="civitai", url=raw, version_id=_int(segments[3], text, "the version id"))
    if segments[:1] == ["models"] and len(segments) >= 2:
        return ModelLink(
            source="civitai",
            url=raw,
            model_id=_int(segments[1], text, "the model id"),
            version_id=_int(version, text, "modelVersionId") if version else None,
        )
    raise _bad_link(text, "it is a Civitai page but not a model page or download link")


def _huggingface(raw: str, text: str, segments: list[str]) -> ModelLink:
    if segments[:1] in (["datasets"], ["spaces"]):
        raise _bad_link(text, "it points at a Hugging Face dataset or Space, not a model repository")
    if len(segments) < 2:
        raise _bad_link(text, "a Hugging Face link needs both the owner and the repository name")
    repo_id = "/".join(segments[:2])
    if len(segments) == 2:
        return ModelLink(source="huggingface", url=raw, repo_id=repo_id, revision="main")
    action = segments[2]
    if action == "tree" and len(segments) >= 4:
        return ModelLink(source="huggingface", url=raw, repo_id=repo_id, revision=segments[3])
    if action in ("blob", "resolve") and len(segments) >= 5:
        path = "/".join(segments[4:])
        return ModelLink(source="huggingface", url=raw, repo_id=repo_id, revision=segments[3], filename=path)
    raise _bad_link(text, f"lorakit does not know Hugging Face pages of the form …/{action}/…")
