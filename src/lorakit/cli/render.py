"""Shared rich rendering for the CLI: errors, warnings, key-value tables."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from lorakit.errors import ConfigError, LorakitError

console = Console()
err_console = Console(stderr=True)


def show_error(error: LorakitError) -> None:
    """Problem and fix, one pair per issue; user text is escaped so '[table]' names survive."""
    issues = error.issues if isinstance(error, ConfigError) and error.issues else [error]
    for issue in issues:
        # Most problem texts already name their field; only prefix the ones that do not.
        where = f"[bold]{escape(issue.field)}[/]: " if issue.field and issue.field not in issue.problem else ""
        err_console.print(f"[red]✗[/] {where}{escape(issue.problem)}", highlight=False)
        if issue.fix:
            err_console.print(f"  [cyan]→ {escape(issue.fix)}[/]", highlight=False)
