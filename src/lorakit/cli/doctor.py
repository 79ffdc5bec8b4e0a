"""CLI: ``lorakit doctor``, what this machine has for training and what to fix."""

from __future__ import annotations

from pathlib import Path

import typer

_ICONS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "fail": "[red]✗[/]"}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(doctor)


def doctor(
    workspace: Path = typer.Option(
        None, "--workspace", "-w", help="The workspace to check (default: the one lorakit picks; it says why)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the checks as JSON instead of a table."),
    no_torch: bool = typer.Option(False, "--no-torch", help="Skip the torch/GPU check (faster)."),
) -> None:
    """Check Python, torch, the GPU (CUDA, ROCm or Apple MPS), disk space and optional packages."""
    import json

    from lorakit.environment import FAIL, run_checks, summary
    from lorakit.workspace import locate_workspace

    root, reason = locate_workspace(workspace)
    checks = run_checks(root, include_torch=not no_torch, workspace_reason=reason)
    overall = summary(checks)
    if as_json:
        typer.echo(json.dumps({"status": overall, "checks": [c.to_dict() for c in checks]}, indent=2))
    else:
        from rich.markup import escape
        from rich.table import Table

        from lorakit.cli.render import console

        table = Table(title="lorakit doctor", show_lines=False)
        table.add_column("", width=1)
        table.add_column("Check", style="bold")
        table.add_column("Found")
        table.add_column("What to do", style="cyan")
        for check in checks:
            table.add_row(_ICONS[check.status], escape(check.name), escape(check.detail), escape(check.fix or ""))
        console.print(table)
        verdict = {"ok": "All good.", "warn": "Usable; see the notes above.", "fail": "Fix the ✗ lines first."}
        console.print(verdict[overall])
    if overall == FAIL:
        raise typer.Exit(1)
