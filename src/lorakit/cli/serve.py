"""CLI: ``lorakit serve`` starts the web app and the job runner."""

from __future__ import annotations

from pathlib import Path

import typer

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on. Anything but 127.0.0.1 needs a token."),
        port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
        workspace: Path | None = typer.Option(
            None, "--workspace", "-w", help="Workspace folder (default: see `lorakit doctor`)."
        ),
        token: str | None = typer.Option(
            None,
            envvar="LORAKIT_SERVER_TOKEN",
            help="Access token. Default: none on 127.0.0.1; otherwise the one in settings, or a new one.",
            show_default=False,
        ),
        no_token: bool = typer.Option(
            False, "--no-token", help="Serve 127.0.0.1 without a token even if settings have one."
        ),
        log_level: str = typer.Option(
            "warning", help="Server log level: trace, debug, info, warning, error. The token is never logged."
        ),
    ) -> None:
        """Start the web app: files, datasets, training and tools in the browser, with live progress."""
        import uvicorn

        from lorakit.web.app import create_app
        from lorakit.web.log_config import logging_config
        from lorakit.web.routes.spa import default_dist
        from lorakit.workspace import Workspace

        if log_level.lower() not in uvicorn.config.LOG_LEVELS:
            raise typer.BadParameter(
                f"{log_level!r} is not a log level; use one of {', '.join(uvicorn.config.LOG_LEVELS)}.",
                param_hint="--log-level",
            )
        ws = Workspace(workspace)
        loopback = host in LOOPBACK
        if not token and not (loopback and no_token):
            # Beyond this computer a token is a must; on loopback we use one only if the user set one.
            token = ws.server_token(create=not loopback)
        app = create_app(ws, token=token)
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
        # Until the web app is built, the useful page is the API documentation.
        page, what = (url, "the web app") if default_dist() else (f"{url}docs", "the API documentation")
        typer.echo(f"lorakit is serving {ws.root}")
        # Like Jupyter: the token is shown once, here, in the link to open; it is never logged.
        typer.echo(f"Open {what}: {page}?token={token}" if token else f"Open {what}: {page}")
        if not loopback:
            typer.echo("Anyone who can reach this address needs the token: share the link with care.")
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level=log_level,
            log_config=logging_config(log_level, token),
            access_log=False,
        )
