"""The built single-page app (``frontend/dist``), with ``index.html`` for every client-side route.

Vite names built files by their content hash (``assets/``): they never change, so browsers keep them for a
year without asking again. ``index.html`` is asked for again each time (``no-cache``; answered 304 when
unchanged), so a new build reaches the browser at once. The build also writes a Brotli (``.br``) and a gzip
(``.gz``) copy of every text file (see ``frontend/vite.config.ts``); the copy the browser accepts is sent
as it is, with ``Content-Encoding`` and ``Vary: Accept-Encoding``, instead of the file itself.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse

from lorakit.web.errors import error_response
from lorakit.workspace import resolve_inside

IMMUTABLE = "public, max-age=31536000, immutable"
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))  # preferred first


def accepted_encodings(header: str | None) -> set[str]:
    """The content codings an ``Accept-Encoding`` header accepts (``q=0`` refuses one; ``*`` is any)."""
    accepted = set()
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0 and name.strip():
            accepted.add(name.strip().lower())
    if "*" in accepted:
        accepted.update(coding for coding, _ in ENCODINGS)
    return accepted


def file_response(target: Path, request: Request, headers: dict[str, str]) -> FileResponse:
    """``target``, or its precompressed copy when the build made one and the browser accepts it."""
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if media.startswith("text/") or media in ("application/javascript", "text/javascript"):
        media += "; charset=utf-8"
    accepted = accepted_encodings(request.headers.get("accept-encoding"))
    for coding, suffix in ENCODINGS:
        packed = target.with_name(target.name + suffix)
        if coding in accepted and packed.is_file() and not packed.is_symlink():
            extra = {"Content-Encoding": coding, "Vary": "Accept-Encoding"}
            return FileResponse(packed, media_type=media, headers={**headers, **extra})
    return FileResponse(target, media_type=media, headers={**headers, "Vary": "Accept-Encoding"})


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

    # async: a static file needs no worker thread of its own (FileResponse reads it off the event loop).
    @router.api_route("/", methods=["GET", "HEAD"])
    @router.api_route("/{path:path}", methods=["GET", "HEAD"])
    async def spa(request: Request, path: str = ""):
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
                # Hashed build files never change; others (favicon...) are checked again each time.
                cache = IMMUTABLE if path.startswith("assets/") else "no-cache"
                return file_response(target, request, {"Cache-Control": cache})
        return file_response(dist / "index.html", request, {"Cache-Control": "no-cache"})

    app.include_router(router)
