"""Publish a LoRA on the Hugging Face Hub: create the repo if needed, upload the LoRA, sample images and a
model card, in one commit.

The token comes from the argument, else from lorakit's stored credentials (or ``$HF_TOKEN``). It is checked
first (``whoami``), so a missing or rejected token is a clear error before anything is uploaded, and it is
never logged or put into an error message.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.errors import LorakitError
from lorakit.events import STATUS, Emitter
from lorakit.hub.model_card import CardInput, SampleImage, model_card

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


class HubError(LorakitError):
    """Hugging Face refused or failed a request (token, permissions, network)."""

    code = "hub"


@dataclass
class UploadResult:
    repo_id: str
    url: str
    commit_url: str
    files: list[str] = field(default_factory=list)
    card: str = ""

    def to_dict(self) -> dict:
        return {"repo_id": self.repo_id, "url": self.url, "commit_url": self.commit_url, "files": self.files}


_TOKEN_FIX = (
    "Create a token with 'write' access at https://huggingface.co/settings/tokens, then save it with "
    "`lorakit models token set huggingface` or pass --token."
)


def _resolve_token(token: str | None, settings_folder: str | os.PathLike | None) -> str:
    if token:
        return token
    from lorakit.credentials import get_token

    stored = get_token("huggingface", settings_folder)
    if not stored:
        raise HubError("There is no Hugging Face token, and uploading needs one.", _TOKEN_FIX)
    return stored


def sample_images(images: list[tuple[str | os.PathLike, str]] | None) -> list[SampleImage]:
    """Where each sample image goes in the repo (``images/00_name.png``) with its prompt; refuses non-images."""
    samples = []
    for i, (image, prompt) in enumerate(images or []):
        image_path = Path(image)
        if image_path.suffix.lower() not in IMAGE_SUFFIXES or not image_path.is_file():
            raise HubError(f"{image_path} is not an image file lorakit can upload.", "Use .png, .jpg or .webp files.")
        samples.append(SampleImage(f"images/{i:02d}_{image_path.name}", prompt))
    return samples


def preview_card(
    lora: str | os.PathLike,
    repo_id: str,
    *,
    images: list[tuple[str | os.PathLike, str]] | None = None,
    prompts: list[str] | None = None,
    title: str | None = None,
    description: str | None = None,
    base_model: str | None = None,
    trigger_words: list[str] | None = None,
    license: str | None = None,
) -> str:
    """The README.md :func:`upload_lora` would send for these options, without a token or a connection."""
    from lorakit.lora.inspect import inspect_lora

    lora_path = Path(lora)
    return model_card(
        CardInput(
            repo_id=repo_id,
            lora_filename=lora_path.name,
            report=inspect_lora(lora_path, full_hash=False),
            title=title,
            description=description,
            base_model=base_model,
            trigger_words=trigger_words,
            prompts=list(prompts or []),
            images=sample_images(images),
            license=license,
        )
    )


def upload_lora(
    lora: str | os.PathLike,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    images: list[tuple[str | os.PathLike, str]] | None = None,
    prompts: list[str] | None = None,
    title: str | None = None,
    description: str | None = None,
    base_model: str | None = None,
    trigger_words: list[str] | None = None,
    license: str | None = None,
    card: str | None = None,
    endpoint: str | None = None,
    settings_folder: str | os.PathLike | None = None,
    emitter: Emitter | None = None,
) -> UploadResult:
    """Upload ``lora`` (and ``images``: ``[(path, prompt)]``) to ``repo_id`` with a generated README.md.

    ``repo_id`` may be ``name`` alone: the token's user is the owner then. ``card`` is the README.md text to
    send instead of the generated one (a card the user previewed with :func:`preview_card` and edited).
    ``endpoint`` points at another Hub (tests use a loopback server).
    """
    from huggingface_hub import CommitOperationAdd, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    from lorakit.credentials import redact
    from lorakit.lora.inspect import inspect_lora

    lora_path = Path(lora)
    report = inspect_lora(lora_path, full_hash=False)  # also refuses missing, pickled or corrupt files
    secret = _resolve_token(token, settings_folder)
    api = HfApi(endpoint=endpoint, token=secret)
    try:
        user = api.whoami()
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise HubError(
                "Hugging Face did not accept the token (it is wrong, expired or revoked).", _TOKEN_FIX
            ) from None
        raise HubError(
            f"Could not reach Hugging Face: {redact(str(error), secret)}", "Check the connection and try again."
        ) from None
    except Exception as error:  # network failures: their types differ between huggingface_hub versions
        raise HubError(
            f"Could not reach Hugging Face ({type(error).__name__}: {redact(str(error), secret)}).",
            "Check the internet connection (or --endpoint) and try again.",
        ) from None
    if "/" not in repo_id:
        repo_id = f"{user['name']}/{repo_id}"

    operations = [CommitOperationAdd(path_in_repo=lora_path.name, path_or_fileobj=str(lora_path))]
    samples = sample_images(images)
    for (image, _), sample in zip(images or [], samples, strict=True):
        operations.append(CommitOperationAdd(path_in_repo=sample.path_in_repo, path_or_fileobj=str(image)))
    if card is None:
        card = model_card(
            CardInput(
                repo_id=repo_id,
                lora_filename=lora_path.name,
                report=report,
                title=title,
                description=description,
                base_model=base_model,
                trigger_words=trigger_words,
                prompts=list(prompts or []),
                images=samples,
                license=license,
            )
        )
    operations.append(CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode("utf-8")))
    try:
        if emitter:
            emitter.emit(STATUS, state="running", message=f"Creating {repo_id} on Hugging Face")
        repo_url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if emitter:
            emitter.emit(STATUS, state="running", message=f"Uploading {len(operations)} files")
        commit = api.create_commit(
            repo_id, operations, commit_message=f"Upload {lora_path.name} with lorakit", repo_type="model"
        )
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise HubError(
                f"Hugging Face refused to write to {repo_id}: the token may be read-only or not allowed there.",
                _TOKEN_FIX,
            ) from None
        raise HubError(
            f"The upload failed: {redact(str(error), secret)}", "Try again; nothing was half-written."
        ) from None
    except Exception as error:  # network failures, as above
        raise HubError(
            f"The upload was cut off ({type(error).__name__}: {redact(str(error), secret)}).",
            "Check the connection and try again; a commit is all-or-nothing, so nothing was half-written.",
        ) from None
    if emitter:
        emitter.emit(STATUS, state="completed", message=f"Published {repo_id}")
    return UploadResult(
        repo_id=repo_id,
        url=str(repo_url),
        commit_url=commit.commit_url,
        files=[op.path_in_repo for op in operations],
        card=card,
    )
