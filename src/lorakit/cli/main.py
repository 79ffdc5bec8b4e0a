"""The ``lorakit`` command: one typer app; each area registers its commands from its own module."""

from __future__ import annotations

import sys

import typer

from lorakit.cli import config, dataset, doctor, lora, models, plan, serve, studio, train

app = typer.Typer(
    name="lorakit",
    help="Train LoRA adapters for Stable Diffusion-family models: datasets, tagging, training, LoRA tools.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

for module in (config, plan, doctor, train, dataset, models, lora, serve, studio):
    module.register(app)


def _plain_help(typer_app: typer.Typer) -> None:
    # Plain click help everywhere, one look for every command: rich's help panels cost ~0.2 s of start-up
    # (measured by benchmarks/bench_cli_startup.py), and `lorakit --help` must start in under 0.3 s.
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _plain_help(group.typer_instance)


_plain_help(app)


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
