"""A liveness answer (open without the token: it says nothing about the workspace)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["server"])


@router.get("/api/health", summary="Is the server up")
def health() -> dict[str, str]:
    from lorakit import __version__

    return {"status": "ok", "version": __version__}
