"""The built single-page app (``frontend/dist``), with ``index.html`` for every client-side route."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse

from lorakit.web.errors import error_response
from lorakit.workspace import resolve_inside

IMMUTABLE = "public, max-age=31536000, immutable"


def default_dist() -> Path | None:
    """``frontend/dist`` of a source checkout, or the copy bundled in the package, if built."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[4] / "frontend" / "dist", here.parents[1] / "static"):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def mount(app: FastAPI, dist: Path | None) -> None:
    """Serve files from ``dist``; unknown non-API paths get ``index.html`` (the app routes them itself)."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    @router.get("/{path:path}")
    def spa(path: str = ""):
        if path.startswith(("api/", "ws")):
            return error_response(404, "not_found", "There is nothing at this address.", "Check the URL.")
        if dist is None:
            return error_response(
                404,
                "no_frontend",
                "The web app is not built; the API is at /api and its documentation at /docs.",
                "Build it with `npm run build` in frontend/ (or install a lorakit release that includes it).",
            )
        if path:
            try:
                target = resolve_inside(dist, path)
            except Exception:
                target = None
            if target is not None and target.is_file():
                # Vite names built files by their content hash: they never change, so browsers keep them.
                hashed = path.startswith("assets/")
                return FileResponse(target, headers={"Cache-Control": IMMUTABLE} if hashed else None)
        return FileResponse(dist / "index.html", headers={"Cache-Control": "no-cache"})

    app.include_router(router)
