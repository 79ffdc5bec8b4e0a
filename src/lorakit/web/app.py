"""The web app: ``create_app(workspace, token=...)`` builds the FastAPI application.

Routes are thin, one module per resource under ``web/routes``; they call the core and return its
results. Long work becomes a job (``lorakit.jobs``) watched over the ``/ws`` WebSocket.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from lorakit.jobs.runner import JobRunner
from lorakit.web import errors
from lorakit.web.api_docs import mount_docs, mount_home
from lorakit.web.log_config import protect_loggers
from lorakit.web.routes import spa
from lorakit.web.security import Guard
from lorakit.workspace import Workspace

log = logging.getLogger("lorakit.web")

# Resource modules under lorakit.web.routes, in the order they appear in the API documentation.
ROUTES = ("health", "files", "datasets", "jobs", "settings", "ws")
# Routes over core areas that may need an optional package (an extra): left out, with a warning, only when
# that third-party package is not installed.
OPTIONAL_ROUTES = ("configs", "plans", "models", "lora", "studio")


def create_app(
    workspace: Workspace | str | Path | None = None,
    *,
    token: str | None = None,
    runner: JobRunner | None = None,
    allowed_origins: tuple[str, ...] | list[str] = (),
    frontend_dir: Path | None = None,
) -> FastAPI:
    """The app over ``workspace``. With ``token`` every request must carry it (see ``web/security.py``)."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    # The token never reaches a log, whoever configured logging (see web/log_config.py).
    protect_loggers(token)
    own_runner = runner is None
    runner = runner or JobRunner(ws)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        hub = getattr(app.state, "hub", None)
        if hub is not None:
            await hub.close()
        studio = getattr(app.state, "studio", None)  # opened by the first /api/studio request
        if studio is not None:
            studio.close()
        if own_runner:
            runner.close()

    from lorakit import __version__

    app = FastAPI(
        title="lorakit",
        version=__version__,
        description="Train LoRA adapters: files, datasets, configs, plans, jobs and LoRA tools. "
        'Errors are always {"error": {"code", "message", "fix", "field"}}. '
        "Live job events: the WebSocket /ws (see docs/web.md).",
        lifespan=lifespan,
        docs_url=None,  # served from local files by mount_docs: /docs works offline
        redoc_url=None,
    )
    app.state.workspace = ws
    app.state.runner = runner
    app.state.hub = None
    app.state.studio = None
    errors.install(app)
    for name in ROUTES:
        app.include_router(importlib.import_module(f"lorakit.web.routes.{name}").router)
    for name in OPTIONAL_ROUTES:
        try:
            module = importlib.import_module(f"lorakit.web.routes.{name}")
        except ModuleNotFoundError as error:
            # Only a missing optional package (torch for the LoRA tools, without the train extra) leaves a
            # group out; a broken or missing lorakit module is a bug and must fail here, not shrink the API.
            if not error.name or error.name.split(".")[0] == "lorakit":
                raise
            log.warning("web routes %s left out: the package %s is not installed (lorakit[train])", name, error.name)
            continue
        app.include_router(module.router)
    mount_docs(app)
    dist = frontend_dir if frontend_dir is not None else spa.default_dist()
    if dist is None:
        mount_home(app)
    spa.mount(app, dist)
    origins = tuple(allowed_origins) + tuple(ws.settings.allowed_origins)
    app.add_middleware(Guard, token=token, allowed_origins=origins)
    return app
