"""The ``lorakit`` command: one typer app; each area registers its commands from its own module."""

from __future__ import annotations

import sys

import typer

from lorakit.cli import config, dataset, doctor, lora, models, plan, serve, train

app = typer.Typer(
    name="lorakit",
    help="Train LoRA adapters for Stable Diffusion-family models: datasets, tagging, training, LoRA tools.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)

for module in (config, plan, doctor, train, dataset, models, lora, serve):
    module.register(app)


@app.command()
def version() -> None:
    """Show the lorakit version."""
    from lorakit import __version__

    typer.echo(f"lorakit {__version__}")


def run() -> None:
    """Entry point: user-fixable problems are shown as problem + fix, never as a traceback."""
    from lorakit.errors import LorakitError

    try:
        app()
    except LorakitError as error:
        from lorakit.cli.render import show_error

        show_error(error)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
