"""The one visual pattern every notebook widget uses: a section header, a status line, the same colours for
ok / warning / error, an error box that shows a LorakitError's problem and fix (never a traceback), and a
collapsed "Advanced" part."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import ipywidgets as W

from lorakit.errors import LorakitError

log = logging.getLogger(__name__)

COLOURS = {"ok": "#1b7f3b", "warn": "#a86400", "fail": "#b3261e", "info": "#455a64", "busy": "#1f5fa8"}
ICONS = {"ok": "✔", "warn": "⚠", "fail": "✖", "info": "•", "busy": "…"}
# Status words the core uses, mapped onto the three colours (doctor: ok/warn/fail; health: info/warning/error).
ALIASES = {"warning": "warn", "error": "fail", "failed": "fail", "problem": "fail", "completed": "ok"}


def level(name: str) -> str:
    name = ALIASES.get(name, name)
    return name if name in COLOURS else "info"


def esc(text: Any) -> str:
    return html.escape(str(text))


def header(title: str, what: str = "") -> W.HTML:
    """A step's heading and one sentence of what it does."""
    sub = f"<div style='color:#555;margin-top:2px'>{esc(what)}</div>" if what else ""
    return W.HTML(
        f"<div style='border-bottom:2px solid #1f5fa8;padding:4px 0;margin-bottom:6px'>"
        f"<b style='font-size:1.15em'>{esc(title)}</b>{sub}</div>"
    )


def line(kind: str, text: str, fix: str | None = None) -> str:
    """One coloured status line as HTML (``kind``: ok, warn, fail, info, busy)."""
    kind = level(kind)
    fix_html = f"<div style='margin-left:1.4em;color:#333'>→ {esc(fix)}</div>" if fix else ""
    return f"<div style='color:{COLOURS[kind]}'>{ICONS[kind]} {esc(text)}</div>{fix_html}"


class Status(W.HTML):
    """The status line under a step: what it is doing or what it found, in the shared colours."""

    def set(self, kind: str, text: str, fix: str | None = None) -> None:
        self.kind = level(kind)
        self.text = text
        self.value = line(kind, text, fix)

    def error(self, error: LorakitError) -> None:
        self.kind = "fail"
        self.text = error.problem
        self.value = error_box(error.problem, error.fix)


def status(kind: str = "info", text: str = "") -> Status:
    widget = Status()
    widget.set(kind, text)
    return widget


def error_box(problem: str, fix: str | None) -> str:
    """The problem and its fix in a red box: how every widget shows an error."""
    fix_html = f"<div style='margin-top:4px'><b>What to do:</b> {esc(fix)}</div>" if fix else ""
    return (
        f"<div style='border:1px solid {COLOURS['fail']};border-left:5px solid {COLOURS['fail']};"
        f"padding:6px 10px;background:#fdf0ef'><b style='color:{COLOURS['fail']}'>Problem:</b> {esc(problem)}"
        f"{fix_html}</div>"
    )


def advanced(*children: W.Widget, title: str = "Advanced") -> W.Accordion:
    """A collapsed section for what most people never need."""
    box = W.Accordion(children=[W.VBox(list(children))], selected_index=None)
    box.set_title(0, title)
    return box


def button(description: str, style: str = "", icon: str = "") -> W.Button:
    return W.Button(description=description, button_style=style, icon=icon, layout=W.Layout(width="auto"))


def labelled(widget: W.Widget, help_text: str) -> W.VBox:
    """A field with its plain-words help under it."""
    note = f"<div style='color:#666;font-size:0.9em;margin:0 0 6px 4px'>{esc(help_text)}</div>"
    return W.VBox([widget, W.HTML(note)])


def guarded(status_attr: str = "status") -> Callable:
    """Decorate a button handler: a LorakitError shows as problem + fix in the widget's status line; any
    other error too (as a bug to report), so a click never prints a traceback into the notebook."""

    def wrap(fn: Callable) -> Callable:
        @wraps(fn)
        def run(self, *args: Any, **kwargs: Any) -> Any:
            target: Status = getattr(self, status_attr)
            try:
                return fn(self, *args, **kwargs)
            except LorakitError as error:
                target.error(error)
            except Exception as error:  # a bug: still shown as problem + fix, logged with its traceback
                log.exception("notebook action failed")
                target.error(LorakitError(f"Unexpected error: {error}", "This is a bug in lorakit: please report it."))
            return None

        return run

    return wrap


class Step(W.VBox):
    """Base of every notebook step: a header, the body, a status line. Re-running a cell makes a new one
    from the state on disk, so nothing breaks when a cell runs twice."""

    title = ""
    what = ""

    def __init__(self, body: list[W.Widget], **kwargs: Any):
        self.status = getattr(self, "status", None) or status()
        super().__init__([header(self.title, self.what), *body, self.status], **kwargs)

    def missing(self, what: str, fix: str, action: Callable[[], Any] | None = None, label: str = "") -> W.Widget:
        """An out-of-order cell: say which earlier step is missing, and offer to do it here."""
        self.status.set("warn", what, fix)
        if action is None:
            return W.HTML("")
        do = button(label or "Do it now", "warning")
        do.on_click(lambda _b: action())
        return do
