"""Download what a pasted link names into the model library: Civitai, Hugging Face or a plain HTTPS link.

``download(link, models_dir)`` resolves the link (Civitai API for names and checksums; Hugging Face
through huggingface_hub), skips files already present with the same sha256, transfers the file with
resume, retries and verification (:mod:`lorakit.models.transfer`, or huggingface_hub for Hugging Face),
detects what arrived and files it in the right library folder (checkpoints, loras, vae, embeddings).

Tokens come from :mod:`lorakit.credentials` (settings file, then ``HF_TOKEN`` / ``CIVITAI_TOKEN``), go
only into ``Authorization`` headers, and are masked in every message.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from lorakit import credentials
from lorakit.errors import DownloadError, ModelError
from lorakit.events import RESULT, STATUS, WARNING, Commands, Emitter
from lorakit.models.hashes import HashCache
from lorakit.models.links import ModelLink, RemoteFile, parse_link
from lorakit.models.transfer import Transfer, TransferOptions, human_size

log = logging.getLogger(__name__)
HASH_CACHE_NAME = ".lorakit-hashes.json"
DOWNLOADS = "downloads"  # where files of not-yet-known kind arrive before detection files them
DIFFUSERS_FILES = ["model_index.json", "*/*.json", "*/*.txt", "*/*.model", "*/*.safetensors"]
MODEL_SUFFIXES = {".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".gguf", ".csv", ".json"}
VARIANT = re.compile(r"\.(fp16|bf16|fp32|non_ema|ema)\.safetensors$")


@dataclass
class DownloadResult:
    """Where the download ended up and what it is."""

    path: str
    sha256: str | None
    size: int
    skipped: bool  # True when the same file was already in the library
    source: str  # civitai|huggingface|url
    kind: str | None = None  # what detection says it is (checkpoint, lora, ...)
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def safe_filename(name: str) -> str:
    """A plain file name: no folders, no leading dots, no characters that break on Windows."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r'[<>:"|?*\x00-\x1f]', "_", name).strip(" .")
    if not name:
        raise DownloadError("The server gave the file no usable name.", "Give one with --name my_model.safetensors.")
    return name


def _hash_cache(models_dir: Path | None, dest_dir: Path, cache: HashCache | None) -> HashCache:
    return cache or HashCache((models_dir or dest_dir) / HASH_CACHE_NAME)


def _existing_copy(dest_dir: Path, name: str, remote: RemoteFile, cache: HashCache) -> Path | None:
    """A file already in ``dest_dir`` that is this download (same sha256, or same name and size when the
    checksum is unknown). A different file under the same name is an error, never overwritten."""
    target = dest_dir / name
    if remote.sha256:
        candidates = [target] if target.is_file() else []
        if remote.size and dest_dir.is_dir():
            # Same content under another name: compare only files whose size is within Civitai's KB rounding.
            candidates += [
                p
                for p in dest_dir.iterdir()
                if p.is_file() and p != target and abs(p.stat().st_size - remote.size) < 1024
            ]
        for path in candidates:
            if cache.get(path) == remote.sha256:
                return path
        if target.is_file():
            raise DownloadError(
                f"A different file called {name} is already in {dest_dir} (its sha256 differs).",
                "Keep both by giving the new one another name with --name, or move the old one away.",
            )
        return None
    if target.is_file():
        if remote.size is None or target.stat().st_size == remote.size:
            return target
        raise DownloadError(
            f"A different file called {name} is already in {dest_dir}.", "Give the new one a name with --name."
        )
    return None


def resolve(
    link: ModelLink, *, settings_folder: str | os.PathLike | None = None, civitai_base_url: str | None = None
) -> RemoteFile:
    """The file a Civitai or plain link names (Hugging Face links go through huggingface_hub instead)."""
    if link.source == "civitai":
        from lorakit.hub.civitai import DEFAULT_BASE_URL, CivitaiClient

        token = credentials.get_token("civitai", settings_folder)
        with CivitaiClient(token, civitai_base_url or DEFAULT_BASE_URL) as client:
            return client.resolve(link)
    if link.source == "url":
        name = link.filename or ""
        if Path(name).suffix.lower() not in MODEL_SUFFIXES:
            name = _name_from_server(link.url) or name or "download"
        return RemoteFile(url=link.url, filename=name)
    raise DownloadError(f"{link.url} is a Hugging Face link; use download() for it.", None)


def _server_of(link: ModelLink, hf_endpoint: str | None, civitai_base_url: str | None) -> str:
    """The server a download of ``link`` talks to first."""
    if link.source == "huggingface":
        from huggingface_hub import constants

        return hf_endpoint or constants.ENDPOINT
    if link.source == "civitai":
        from lorakit.hub.civitai import DEFAULT_BASE_URL

        return civitai_base_url or DEFAULT_BASE_URL
    return link.url


def check_reachable(url: str, timeout_s: float = 10.0) -> None:
    """One quick request to ``url``'s server; a host that cannot be looked up or connected to fails at once.

    The transfers retry 429, 5xx and dropped connections with backoff (worth it: those pass), but with no
    network at all every retry fails the same way, and the user would wait half a minute for a traceback.
    Any answer at all, even an error status, means the server is there: the download reports the rest.
    """
    import httpx

    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        # The server's root, not the file: asking for the file itself would count as a try of it.
        httpx.head(f"{parts.scheme}://{parts.netloc}/", timeout=timeout_s, follow_redirects=False)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        why = str(error) or error.__class__.__name__
        lookup = "Name or service not known" in why or "nodename nor servname" in why or "getaddrinfo" in why
        problem = (
            f"Cannot look up {host}: there is no network, or no DNS ({why})."
            if lookup
            else f"Cannot connect to {host}: {why}."
        )
        raise DownloadError(
            problem,
            "Check your internet connection (and proxy settings), then run the command again. Offline? Copy"
            " the model into your models folder yourself and point the config at that file or diffusers folder.",
        ) from None
    except httpx.HTTPError:
        return


def _name_from_server(url: str) -> str | None:
    """The file name the server gives in Content-Disposition (links like ``.../download?id=3`` carry none)."""
    import httpx

    try:
        response = httpx.head(url, follow_redirects=True, timeout=15.0)
    except httpx.HTTPError:
        return None  # the download itself will report the problem in plain words
    disposition = response.headers.get("content-disposition", "")
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition, re.IGNORECASE) or re.search(
        r'filename="?([^";]+)"?', disposition, re.IGNORECASE
    )
    return unquote(match.group(1)).strip() if match else None


def download(
    link: str | ModelLink,
    models_dir: str | os.PathLike | None = None,
    *,
    to: str | os.PathLike | None = None,
    name: str | None = None,
    emitter: Emitter | None = None,
    commands: Commands | None = None,
    settings_folder: str | os.PathLike | None = None,
    civitai_base_url: str | None = None,
    hf_endpoint: str | None = None,
    hash_cache: HashCache | None = None,
    options: TransferOptions | None = None,
) -> DownloadResult:
    """Download a pasted link into the library (``models_dir/<kind>``) or into the folder ``to``."""
    if models_dir is None and to is None:
        raise DownloadError("No place to put the download.", "Pass a models folder or --to <folder>.")
    emitter = emitter or Emitter()
    parsed = parse_link(link) if isinstance(link, str) else link
    root = Path(models_dir) if models_dir is not None else None
    check_reachable(_server_of(parsed, hf_endpoint, civitai_base_url))
    if parsed.source == "huggingface":
        from lorakit.models.download_hf import download_hf

        result = download_hf(
            parsed,
            root,
            to=Path(to) if to else None,
            name=name,
            emitter=emitter,
            settings_folder=settings_folder,
            endpoint=hf_endpoint,
        )
    else:
        remote = resolve(parsed, settings_folder=settings_folder, civitai_base_url=civitai_base_url)
        for note in remote.notes:
            emitter.emit(WARNING, message=note, fix=None)
        dest_dir = Path(to) if to else root / (remote.kind or DOWNLOADS)  # type: ignore[operator]
        filename = safe_filename(name or remote.filename)
        cache = _hash_cache(root, dest_dir, hash_cache)
        existing = _existing_copy(dest_dir, filename, remote, cache)
        if existing is not None:
            emitter.emit(STATUS, state="completed", message=f"{existing.name} is already in the library; skipped.")
            result = DownloadResult(
                str(existing),
                remote.sha256,
                existing.stat().st_size,
                True,
                parsed.source,
                info=remote.info,
                notes=["already downloaded"],
            )
        else:
            dest_dir.mkdir(parents=True, exist_ok=True)
            token = credentials.get_token("civitai", settings_folder) if remote.auth == "civitai" else None
            emitter.emit(STATUS, state="running", message=f"Downloading {filename} ({human_size(remote.size)})")
            sha = Transfer(
                remote, dest_dir / filename, token=token, emitter=emitter, commands=commands, options=options
            ).run()
            cache.remember(dest_dir / filename, sha)
            result = DownloadResult(
                str(dest_dir / filename),
                sha,
                (dest_dir / filename).stat().st_size,
                False,
                parsed.source,
                info=remote.info,
                notes=list(remote.notes),
            )
    _file_into_library(result, root if to is None else None, hash_cache)
    emitter.emit(RESULT, **result.to_dict())
    return result


def _file_into_library(result: DownloadResult, root: Path | None, cache: HashCache | None) -> None:
    """Detect what arrived; when it landed in ``downloads/``, move it to the folder for its kind."""
    from lorakit.models.detect import detect
    from lorakit.models.library import folder_for

    path = Path(result.path)
    try:
        info = detect(path)
    except ModelError as error:
        result.notes.append(f"Downloaded, but it is not a usable model: {error.problem}")
        return
    result.kind = info.kind
    if not info.safe:
        result.notes.extend(info.notes)
    if root is None or path.parent != root / DOWNLOADS:
        return
    target = root / folder_for(info) / path.name
    if target.exists():
        result.notes.append(f"Left in {DOWNLOADS}/: {target} already exists.")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    result.path = str(target)
    if result.sha256 and target.is_file():
        _hash_cache(root, target.parent, cache).remember(target, result.sha256)


def matches_any(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p) for p in patterns)
