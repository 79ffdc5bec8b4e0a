"""Workspace settings: read (secrets only as 'set' or not) and change."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lorakit.web.deps import WorkspaceDep

router = APIRouter(prefix="/api/settings", tags=["settings"])


class SettingsOut(BaseModel):
    database_url: str | None
    allowed_origins: list[str]
    max_upload_mb: int
    thumbnail_size: int
    cancel_grace_s: float
    server_token_set: bool
    workspace: str


class SettingsChange(BaseModel):
    """Only the fields sent are changed. The server token can be set or cleared here, never read."""

    allowed_origins: list[str] | None = Field(None, max_length=50)
    max_upload_mb: int | None = Field(None, ge=1, le=1_000_000)
    thumbnail_size: int | None = Field(None, ge=32, le=1024)
    cancel_grace_s: float | None = Field(None, ge=0.1, le=600)
    server_token: str | None = Field(None, min_length=16, max_length=256, description="Takes effect on restart.")


def _public(workspace) -> dict[str, Any]:
    data = workspace.settings.public()
    data["workspace"] = str(workspace.root)
    if data.get("database_url") and "@" in data["database_url"]:
        # A PostgreSQL URL may carry a password: show the rest.
        scheme, _, rest = data["database_url"].partition("://")
        data["database_url"] = f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return data


@router.get("", response_model=SettingsOut, summary="Current settings (tokens only as set / not set)")
def read_settings(workspace: WorkspaceDep) -> dict:
    return _public(workspace)


@router.patch("", response_model=SettingsOut, summary="Change settings")
def change_settings(body: SettingsChange, workspace: WorkspaceDep) -> dict:
    settings = workspace.settings
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(settings, name, value)
    workspace.save_settings(settings)
    return _public(workspace)


class CredentialOut(BaseModel):
    service: str
    set: bool = Field(description="Whether lorakit has a token for this service (saved or from the environment).")
    source: str | None = Field(description="Where the token comes from ('settings file', '$HF_TOKEN') or null.")
    masked: str | None = Field(description="Enough of the token to recognise it, never enough to use it.")


class TokenIn(BaseModel):
    token: str = Field(min_length=8, max_length=512)


def _credential(service: str) -> dict:
    from lorakit import credentials as creds

    key = creds.service_name(service)
    token = creds.get_token(key)
    return {"service": key, "set": bool(token), "source": creds.token_source(key), "masked": creds.mask(token)}


@router.get("/credentials", response_model=list[CredentialOut], summary="Service tokens (masked)")
def credentials() -> list[dict]:
    from lorakit import credentials as creds

    return [_credential(s) for s in creds.SERVICES]


@router.put("/credentials/{service}", response_model=CredentialOut, summary="Save a service token")
def set_credential(service: str, body: TokenIn) -> dict:
    from lorakit import credentials as creds

    creds.set_token(service, body.token.strip())
    return _credential(service)


@router.delete("/credentials/{service}", response_model=CredentialOut, summary="Forget a saved service token")
def delete_credential(service: str) -> dict:
    from lorakit import credentials as creds

    creds.delete_token(service)
    return _credential(service)
