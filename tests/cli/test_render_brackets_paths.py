"""cli/render.py: bracketed text survives rich, and paths are never broken across lines (80 columns, pipes)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rich.table import Table
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.cli.render import _Console, keep_brackets

LONG = "/home/someone/a-long-folder-name/for-lora-training/workspace/models/checkpoints/my-model-v2.safetensors"


def _console(width=80) -> tuple[_Console, io.StringIO]:
    out = io.StringIO()
    return _Console(file=out, width=width, soft_wrap=True, color_system=None), out


def test_config_explain_keeps_bracketed_section_names():
    result = CliRunner().invoke(app, ["config", "explain", "keep_tokens"])
    assert result.exit_code == 0, result.output
    assert "([general] or a subset)" in result.output


def test_unknown_tags_are_text_real_markup_still_works():
    console, out = _console()
    console.print("a [general] b [bold]c[/] d [/subset] e \\[x] [red]f[/red] [link=https://example.org]g[/link]")
    assert out.getvalue().rstrip("\n") == "a [general] b c d [/subset] e [x] f g"
    assert keep_brackets("[bold]x[/bold]") == "[bold]x[/bold]"
    assert keep_brackets("[datasets.subsets]") == "\\[datasets.subsets]"


def test_plain_lines_and_table_cells_keep_long_paths_whole_at_80_columns():
    console, out = _console(80)
    console.print(f"Saved to {LONG} and a few more words after the path")
    table = Table()
    for name in ("", "Check", "Found", "What to do"):
        table.add_column(name)
    table.add_row("!", "workspace", f"{LONG} (from $LORAKIT_WORKSPACE)", f"cd {LONG} and look at the files there")
    table.add_row("✓", "disk", "12 GB free", "")
    console.print(table)
    lines = out.getvalue().splitlines()
    assert sum(LONG in line for line in lines) == 3  # each occurrence whole, on one line
    assert "…" not in out.getvalue()


def test_a_table_that_fits_is_not_widened():
    console, out = _console(80)
    table = Table()
    table.add_column("a")
    table.add_row("short " * 30)  # wraps between words, as rich always did
    console.print(table)
    assert max(len(line) for line in out.getvalue().splitlines()) <= 80


def test_an_error_with_a_long_path_is_one_line_when_piped(tmp_path):
    missing = tmp_path / ("a-really-long-dataset-folder-name-" * 3)
    done = subprocess.run(
        [sys.executable, "-m", "lorakit.cli.main", "dataset", "dedup", str(missing)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 2
    assert str(missing) in done.stderr
