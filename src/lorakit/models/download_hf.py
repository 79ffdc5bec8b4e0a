"""Hugging Face downloads through huggingface_hub: one file, or a whole diffusers folder.

For a repo link we choose what to fetch: a diffusers model (``model_index.json`` present) comes as a
folder, safetensors only, without duplicate precision variants; otherwise the repo's single
``.safetensors`` checkpoint. huggingface_hub does the transfer (resume via ``.incomplete`` files,
redirects to the CDN, the endpoint given or ``HF_ENDPOINT``); we add the disk-space check, progress
events, plain-words errors, and a sha256 check against the LFS hash the Hub reports.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

from lorakit import credentials
from lorakit.errors import DownloadError, TokenRequiredError
from lorakit.events import PROGRESS, STATUS, Emitter
from lorakit.models.download import DIFFUSERS_FILES, DOWNLOADS, VARIANT, DownloadResult, matches_any, safe_filename
from lorakit.models.links import ModelLink
from lorakit.models.transfer import FREE_SPACE_MARGIN, human_size

PICKLE_ENDINGS = (".bin", ".ckpt", ".pt", ".pth", ".pkl")


def _progress_class(emitter: Emitter, label: str):
    """A tqdm subclass that reports through our events instead of drawing a bar."""
    from tqdm.auto import tqdm

    class EventTqdm(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.update(file=io.StringIO(), disable=False)
            kwargs.pop("name", None)
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            result = super().update(n)
            rate = self.format_dict.get("rate")
            eta = (self.total - self.n) / rate if self.total and rate else None
            emitter.emit(PROGRESS, done=self.n, total=self.total, unit="B", rate=rate, eta_s=eta, file=label)
            return result

    return EventTqdm


def _explain(error: Exception, repo_id: str, token: str | None) -> DownloadError:
    from huggingface_hub import errors

    text = credentials.redact(str(error).splitlines()[0] if str(error) else error.__class__.__name__, token)
    if isinstance(error, errors.GatedRepoError):
        return TokenRequiredError(
            f"{repo_id} is a gated model: Hugging Face needs you to accept its licence first.",
            f"Open https://huggingface.co/{repo_id}, accept the terms, then set a token with"
            " `lorakit models token hf`.",
            field="huggingface",
        )
    if isinstance(error, errors.RepositoryNotFoundError):
        problem = f"Hugging Face has no repository {repo_id} that you can see."
        if token:
            return DownloadError(problem, "Check the spelling of the link.")
        return TokenRequiredError(
            problem, "If it is private, set a token with `lorakit models token hf`.", field="huggingface"
        )
    if isinstance(error, errors.RevisionNotFoundError):
        return DownloadError(f"{repo_id} has no such branch, tag or commit.", "Check the link (…/tree/main).")
    if isinstance(error, errors.EntryNotFoundError):
        return DownloadError(f"{repo_id} has no such file.", "Check the file name in the link.")
    return DownloadError(f"Downloading from Hugging Face failed: {text}", "Check your connection and try again.")


def _check_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + FREE_SPACE_MARGIN:
        raise DownloadError(
            f"Not enough free disk space: the download needs {human_size(needed)} and {folder} has"
            f" {human_size(free)} free.",
            f"Free at least {human_size(needed + FREE_SPACE_MARGIN - free)}, or download to another disk with --to.",
        )


def choose_files(files: dict[str, int]) -> tuple[str, list[str]]:
    """("folder", [paths]) for a diffusers repo, ("file", [path]) for a single checkpoint repo."""
    if "model_index.json" in files:
        chosen = [p for p in files if matches_any(p, DIFFUSERS_FILES)]
        plain = {VARIANT.sub(".safetensors", p) for p in chosen if not VARIANT.search(p)}
        # Drop fp16/ema duplicates of weights that also exist in full precision; keep a variant when it is
        # the only copy of its component.
        chosen = [p for p in chosen if not VARIANT.search(p) or VARIANT.sub(".safetensors", p) not in plain]
        if not any(p.endswith(".safetensors") for p in chosen):
            raise DownloadError(
                "This diffusers repository has no .safetensors weights, only pickle files.",
                "lorakit does not load pickles; look for a safetensors version of the model.",
            )
        return "folder", chosen
    top = [p for p in files if "/" not in p and p.endswith(".safetensors")]
    if len(top) == 1:
        return "file", top
    if not top:
        pickles = [p for p in files if p.endswith(PICKLE_ENDINGS)]
        why = "only pickle files (.ckpt/.bin), which lorakit does not load" if pickles else "no model files"
        raise DownloadError(f"This repository has {why}.", "Look for a safetensors version of the model.")
    listing = ", ".join(sorted(top)[:8])
    raise DownloadError(
        f"This repository has several checkpoints ({listing}).",
        "Paste the link of the one you want (open it on Hugging Face: …/blob/main/<file>).",
    )


def download_hf(
    link: ModelLink,
    models_dir: Path | None,
    *,
    to: Path | None = None,
    name: str | None = None,
    emitter: Emitter,
    settings_folder: str | os.PathLike | None = None,
    endpoint: str | None = None,
) -> DownloadResult:
    """Download a Hugging Face file or repo; returns where it landed."""
    import httpx
    from huggingface_hub import HfApi, errors, hf_hub_download, snapshot_download
    from huggingface_hub.hf_api import RepoFile

    repo_id, revision = link.repo_id or "", link.revision or "main"
    # Ours (settings file, then HF_TOKEN); None lets huggingface_hub use a login made with its own CLI.
    token = credentials.get_token("huggingface", settings_folder)
    api = HfApi(endpoint=endpoint, token=token or None)
    try:
        entries = [
            e for e in api.list_repo_tree(repo_id, recursive=True, revision=revision) if isinstance(e, RepoFile)
        ]
    except (errors.HfHubHTTPError, httpx.HTTPError, OSError) as error:
        raise _explain(error, repo_id, token) from None
    files = {e.path: e.size for e in entries}
    lfs_sha = {e.path: e.lfs.sha256 for e in entries if e.lfs is not None}
    if link.filename:
        if link.filename not in files:
            raise DownloadError(f"{repo_id} has no file {link.filename} at {revision}.", "Check the link.")
        mode, chosen = "file", [link.filename]
    else:
        mode, chosen = choose_files(files)
    needed = sum(files[p] or 0 for p in chosen)
    repo_name = safe_filename(name or repo_id.split("/")[-1])
    base = to or (models_dir / ("checkpoints" if mode == "folder" else DOWNLOADS))  # type: ignore[operator]
    target = base / repo_name if mode == "folder" else base
    _check_space(target, needed)
    emitter.emit(STATUS, state="running", message=f"Downloading {repo_id} ({human_size(needed)})")
    progress = _progress_class(emitter, repo_id)
    try:
        if mode == "folder":
            path = Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    local_dir=target,
                    allow_patterns=chosen,
                    token=token or None,
                    endpoint=endpoint,
                    tqdm_class=progress,
                )
            )
        else:
            path = Path(
                hf_hub_download(
                    repo_id,
                    chosen[0],
                    revision=revision,
                    local_dir=target,
                    token=token or None,
                    endpoint=endpoint,
                    tqdm_class=progress,
                )
            )
    except (errors.HfHubHTTPError, errors.LocalEntryNotFoundError, httpx.HTTPError, OSError) as error:
        raise _explain(error, repo_id, token) from None

    sha = None
    if mode == "file":
        from lorakit.models.hashes import HashCache, sha256_file

        sha = sha256_file(path)
        expected = lfs_sha.get(chosen[0])
        if expected and sha != expected:
            path.unlink()
            raise DownloadError(
                f"{path.name} arrived damaged: its sha256 does not match the one Hugging Face lists.",
                "The broken copy was removed; run the command again.",
            )
        if name:
            renamed = path.with_name(safe_filename(name))
            os.replace(path, renamed)
            path = renamed
        HashCache((models_dir or base) / ".lorakit-hashes.json").remember(path, sha)
    size = path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    info = {"repo": repo_id, "revision": revision, "files": chosen if mode == "folder" else None}
    return DownloadResult(str(path), sha, size, False, "huggingface", info=info)
