"""Shared rich rendering for the CLI: errors, warnings, key-value tables."""

from __future__ import annotations

from rich.console import Console

from lorakit.errors import ConfigError, LorakitError

console = Console()
err_console = Console(stderr=True)


def show_error(error: LorakitError) -> None:
    issues = error.issues if isinstance(error, ConfigError) and error.issues else [error]
    for issue in issues:
        where = f"[bold]{issue.field}[/]: " if issue.field else ""
        err_console.print(f"[red]✗[/] {where}{issue.problem}", highlight=False)
        if issue.fix:
            err_console.print(f"  [cyan]→ {issue.fix}[/]", highlight=False)
