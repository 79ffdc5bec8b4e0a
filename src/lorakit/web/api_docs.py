"""The API documentation at ``/docs`` (Swagger UI served from this server, so it works offline) and,
until the web app is built, a small home page at ``/`` that says where the documentation is.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (Apache-2.0), a dependency of the
``web`` extra; nothing is loaded from a CDN.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = "/docs/assets"


def swagger_ui_dir() -> Path:
    """The folder holding ``swagger-ui-bundle.js`` and ``swagger-ui.css``."""
    from swagger_ui_bundle import swagger_ui_path

    return Path(str(swagger_ui_path))


def mount_docs(app: FastAPI) -> None:
    """``/docs`` (create the app with ``docs_url=None``), its assets under ``/docs/assets`` and its OAuth2 page."""
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_dir()), name="swagger-ui")

    @app.get(DOCS, include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + (app.openapi_url or "/openapi.json"),
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=root + DOCS + "/oauth2-redirect",
        )

    @app.get(DOCS + "/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


HOME = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lorakit {version}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;line-height:1.5}}</style></head>
<body><h1>lorakit {version}</h1>
<p>The server is running. The web app is not built in this installation yet.</p>
<p>The API and its documentation: <a href="docs">/docs</a> (try each route in the browser).
Live job events come over the WebSocket <code>/ws</code>.</p>
<p>To build the web app: <code>npm run build</code> in <code>frontend/</code>.</p>
</body></html>
"""


def mount_home(app: FastAPI) -> None:
    """``/`` when there is no built web app: a page pointing to ``/docs`` instead of a JSON 404."""

    @app.get("/", include_in_schema=False)
    def home() -> HTMLResponse:
        return HTMLResponse(HOME.format(version=html.escape(app.version)))
