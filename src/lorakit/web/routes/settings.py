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
