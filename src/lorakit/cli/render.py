"""Shared rich rendering for the CLI: the consoles, errors, and the two rules every command gets for free.

1. Text in brackets survives: rich reads ``[word]`` as markup and silently drops tags it does not know,
   so "([general] or a subset)" printed as "( or a subset)". The consoles here keep any bracketed text
   that is not real markup (a style such as ``[bold]``/``[/]`` or a link) as it is written; user text
   (file names, captions) is also passed through :func:`escape` where it is built into markup.
2. Paths are never broken across lines: plain prints are not wrapped (a terminal wraps long lines itself,
   and a pipe or a file gets each line whole), and a table that needs more room than the terminal (or the
   80 columns rich assumes for a pipe) is printed at the width its cells need instead of cutting them.
"""

from __future__ import annotations

import re

from rich.console import Console
from rich.errors import StyleSyntaxError
from rich.markup import escape
from rich.measure import Measurement
from rich.style import Style
from rich.table import Table

from lorakit.errors import ConfigError, LorakitError

__all__ = ["console", "err_console", "escape", "keep_brackets", "show_error"]

# rich.markup's own tag pattern: optional backslashes, then [tag].
_TAG = re.compile(r"(\\*)\[([a-z#/@][^[]*?)]")
_WIDE = 100_000


def _is_markup(tag: str) -> bool:
    """True for tags rich should interpret: styles (``bold red``), closings (``/``, ``/bold``), links."""
    if tag.startswith("/"):
        tag = tag[1:].strip()
        if not tag:
            return True
    if tag.startswith("link"):
        return tag == "link" or tag.startswith("link=")
    if tag.startswith("@"):
        return False  # event handlers: never used by lorakit, always text
    try:
        Style.parse(tag)
    except StyleSyntaxError:
        return False
    return True


def keep_brackets(text: str) -> str:
    """``text`` with every bracketed word that is not real rich markup escaped, so it prints as written."""

    def one(match: re.Match) -> str:
        slashes, tag = match.group(1), match.group(2)
        if len(slashes) % 2 or _is_markup(tag):
            return match.group(0)  # already escaped, or meant as markup
        return f"{slashes}\\[{tag}]"

    return _TAG.sub(one, text)


class _Console(Console):
    """A Console that keeps unknown [tags] as text and never cuts or breaks a table's cells."""

    def render_str(self, text: str, *args, **kwargs):
        markup = kwargs.get("markup")
        if markup or (markup is None and self._markup):
            text = keep_brackets(text)
        return super().render_str(text, *args, **kwargs)

    def print(self, *objects, **kwargs) -> None:
        tables = [o for o in objects if isinstance(o, Table)]
        if not tables:
            super().print(*objects, **kwargs)
            return
        wide = self.options.update_width(_WIDE)
        for table in tables:
            _keep_words_whole(self, wide, table)
        # The minimum width fits the longest word of every cell: a path is one word, so it stays whole.
        needed = max(Measurement.get(self, wide, t).minimum for t in tables)
        if needed <= self.width:
            super().print(*objects, **kwargs)
            return
        before = self._width
        self._width = needed  # a table with long paths: as wide as its cells need, nothing cut
        try:
            super().print(*objects, **kwargs)
        finally:
            self._width = before


def _keep_words_whole(console: Console, options, table: Table) -> None:
    """Give each column at least the width of its longest word, so rich wraps between words, never inside."""
    for column in table.columns:
        longest = 0
        for cell in column.cells:
            renderable = console.render_str(cell) if isinstance(cell, str) else cell
            longest = max(longest, Measurement.get(console, options, renderable).minimum)
        column.min_width = max(column.min_width or 0, longest)


console = _Console(soft_wrap=True)
err_console = _Console(stderr=True, soft_wrap=True)


def show_error(error: LorakitError) -> None:
    """Problem and fix, one pair per issue; user text is escaped so '[table]' names survive."""
    issues = error.issues if isinstance(error, ConfigError) and error.issues else [error]
    for issue in issues:
        # Most problem texts already name their field; only prefix the ones that do not.
        where = f"[bold]{escape(issue.field)}[/]: " if issue.field and issue.field not in issue.problem else ""
        err_console.print(f"[red]✗[/] {where}{escape(issue.problem)}", highlight=False)
        if issue.fix:
            err_console.print(f"  [cyan]→ {escape(issue.fix)}[/]", highlight=False)
