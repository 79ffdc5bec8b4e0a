"""A small Civitai API client: resolve a model or version to the file to download, with its sha256.

API facts used (https://developer.civitai.com/docs/api/public-rest):
- ``GET /api/v1/model-versions/<vid>`` -> ``{id, name, baseModel, model: {name, type}, files: [...]}``;
  each file has ``name``, ``sizeKB``, ``type`` (Model, Pruned Model, VAE, Training Data, ...),
  ``primary``, ``metadata: {format: SafeTensor|PickleTensor|..., fp, size}``, ``hashes: {SHA256, ...}``
  and ``downloadUrl``.
- ``GET /api/v1/models/<id>`` -> ``{name, type, modelVersions: [...]}``, newest version first.
- Tokens go in an ``Authorization: Bearer`` header, never in the URL (Civitai also accepts ``?token=``,
  which ends up in server and proxy logs).
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from lorakit.credentials import redact
from lorakit.errors import DownloadError, TokenRequiredError
from lorakit.models.links import ModelLink, RemoteFile

log = logging.getLogger(__name__)
DEFAULT_BASE_URL = "https://civitai.com"
TOKEN_FIX = (
    "this model needs a Civitai token: set it with `lorakit models token civitai`"
    " (create one at civitai.com/user/account, API keys)"
)

# Civitai model types -> the library folder the file belongs in.
FOLDER_FOR_TYPE = {
    "checkpoint": "checkpoints",
    "lora": "loras",
    "locon": "loras",
    "dora": "loras",
    "lycoris": "loras",
    "textualinversion": "embeddings",
    "vae": "vae",
}


class CivitaiClient:
    """Calls the Civitai REST API. ``base_url`` is configurable so tests can use a loopback server."""

    def __init__(self, token: str | None = None, base_url: str = DEFAULT_BASE_URL, timeout: float = 30.0):
        self.base_url = base_url.rstrip("/")
        self.token = token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # httpx drops the Authorization header when a redirect leaves the origin, so the token never
        # reaches the storage host that serves the signed download URL.
        self.http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=True)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> CivitaiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _get(self, path: str, what: str) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self.http.get(url)
        except httpx.HTTPError as error:
            raise DownloadError(
                f"Could not reach Civitai ({redact(str(error), self.token)}).",
                "Check your internet connection and try again.",
            ) from None
        if response.status_code == 404:
            raise DownloadError(f"Civitai has no {what}.", "Check the link: the model may have been removed.")
        if response.status_code == 401:
            raise TokenRequiredError(
                f"Civitai refused access to {what}.",
                TOKEN_FIX
                if not self.token
                else "Your Civitai token was refused: set a new one with `lorakit models token civitai`.",
                field="civitai",
            )
        if response.status_code == 403:
            raise DownloadError(
                f"Civitai does not allow you to download {what} (early access, or it needs a login).",
                "Open the model page while logged in; if it is early access, wait or unlock it there.",
            )
        if response.status_code >= 400:
            raise DownloadError(f"Civitai answered {response.status_code} for {what}.", "Try again in a few minutes.")
        try:
            data = response.json()
        except ValueError:
            raise DownloadError(f"Civitai sent something that is not JSON for {what}.", "Try again later.") from None
        return data if isinstance(data, dict) else {}

    def model_version(self, version_id: int) -> dict[str, Any]:
        return self._get(f"/api/v1/model-versions/{version_id}", f"model version {version_id}")

    def model(self, model_id: int) -> dict[str, Any]:
        return self._get(f"/api/v1/models/{model_id}", f"model {model_id}")

    def resolve(self, link: ModelLink) -> RemoteFile:
        """The file a Civitai link means: the given version, or the newest version of the model."""
        model: dict[str, Any] = {}
        if link.version_id is not None:
            version = self.model_version(link.version_id)
            model = version.get("model") or {}
        else:
            model = self.model(int(link.model_id or 0))
            versions = model.get("modelVersions") or []
            if not versions:
                raise DownloadError(f"Civitai model {link.model_id} has no versions to download.", None)
            version = versions[0]  # the API lists the newest first
        return choose_file(version, model)


def choose_file(version: dict[str, Any], model: dict[str, Any]) -> RemoteFile:
    """The file to fetch from a version: the model weights (not training data), safetensors over pickle,
    the one marked primary first."""
    files = version.get("files") or []
    weights = [f for f in files if f.get("type") in ("Model", "Pruned Model")] or files
    if not weights:
        raise DownloadError(f"Civitai version {version.get('id')} lists no files.", "Pick another version.")

    def preference(f: dict[str, Any]) -> tuple:
        fmt = (f.get("metadata") or {}).get("format", "")
        return (fmt != "SafeTensor", not f.get("primary"), f.get("type") != "Model")

    chosen = sorted(weights, key=preference)[0]
    model_type = str(model.get("type", "")).lower()
    remote = RemoteFile(
        url=chosen.get("downloadUrl") or version.get("downloadUrl", ""),
        filename=chosen.get("name") or f"civitai-{version.get('id')}.safetensors",
        size=int(float(chosen["sizeKB"]) * 1024) if chosen.get("sizeKB") else None,
        sha256=((chosen.get("hashes") or {}).get("SHA256") or "").lower() or None,
        auth="civitai",
        kind=FOLDER_FOR_TYPE.get(model_type),
        info={
            "model": model.get("name"),
            "version": version.get("name"),
            "version_id": version.get("id"),
            "base_model": version.get("baseModel"),
            "type": model.get("type"),
        },
    )
    if (chosen.get("metadata") or {}).get("format") == "PickleTensor":
        remote.notes.append(
            "This version is only offered as a pickle file (.ckpt/.pt). lorakit downloads it but will not load it;"
            " look for a .safetensors version."
        )
    return remote
