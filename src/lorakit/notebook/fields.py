"""One widget per config setting, made from the form schema's description of it (no field written by hand).

A :class:`FieldControl` turns a :class:`lorakit.config.schema_export.FieldHelp` record into a widget that can
show a value and give it back: a checkbox for true/false, a dropdown for a choice, a number box for a
number, and a text box for everything else (lists and tables as JSON, empty = not set).
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as W

from lorakit.errors import ConfigError
from lorakit.notebook.kit import esc

_PLAIN_TEXT = ("text", "path")
_NOT_SET = "(not set)"


class FieldControl:
    """The widget of one setting (``path``), its help, and value conversion both ways."""

    def __init__(self, info: dict[str, Any]):
        self.info = info
        self.path: str = info["path"]
        kind, default, choices = info["type"], info["default"], info["choices"]
        label = info["name"].replace("_", " ")
        style = {"description_width": "14em"}
        layout = W.Layout(width="34em")
        common = {"description": label, "style": style, "layout": layout, "tooltip": info["help"]}
        self.kind = "text"
        if choices and (kind in ("choice", "text") or ("or" not in kind and kind != "list")):
            options = [(str(c), c) for c in choices]
            if default is None or None in choices:
                options = [(_NOT_SET, None), *[o for o in options if o[1] is not None]]
            self.widget: W.ValueWidget = W.Dropdown(options=options, **common)
            self.kind = "choice"
        elif kind == "true/false" and default is not None:
            self.widget = W.Checkbox(indent=False, **common)
            self.kind = "bool"
        elif kind == "true/false":
            self.widget = W.Dropdown(options=[(_NOT_SET, None), ("yes", True), ("no", False)], **common)
            self.kind = "choice"
        elif kind == "whole number" and default is not None:
            self.widget = W.IntText(**common)
            self.kind = "int"
        elif kind == "number" and default is not None:
            self.widget = W.FloatText(**common)
            self.kind = "float"
        elif info.get("secret"):
            self.widget = W.Password(placeholder="(not set)", **common)
        else:
            self.widget = W.Text(placeholder=_NOT_SET if default is None else "", **common)
            self.kind = "plain" if kind in _PLAIN_TEXT else "json"
        self.box = W.VBox([self.widget, W.HTML(self._help_html())])

    def _help_html(self) -> str:
        info = self.info
        extra = []
        if info.get("unit"):
            extra.append(f"unit: {info['unit']}")
        if info.get("minimum") is not None or info.get("maximum") is not None:
            extra.append(f"range {info.get('minimum', '')}–{info.get('maximum', '')}")
        if info.get("recommended") is not None:
            extra.append(f"recommended: {info['recommended']}")
        if info.get("effect") == "export-only":
            extra.append("sd-scripts only: lorakit's trainer ignores it")
        if self.kind == "json":
            extra.append('JSON, e.g. [1, 2] or {"a": 1}')
        more = f" <i>({esc('; '.join(map(str, extra)))})</i>" if extra else ""
        return f"<div style='color:#666;font-size:0.88em;margin:-2px 0 6px 15em'>{esc(info['help'])}{more}</div>"

    # --- values ------------------------------------------------------------------------------------
    def show(self, value: Any) -> None:
        """Put a config value (JSON form) into the widget."""
        if self.kind == "bool":
            self.widget.value = bool(value)
        elif self.kind == "choice":
            options = [o[1] for o in self.widget.options]
            if value not in options:  # a value the schema allows but the list does not show (e.g. custom)
                self.widget.options = [*self.widget.options, (str(value), value)]
            self.widget.value = value
        elif self.kind == "int":
            self.widget.value = int(value if value is not None else 0)
        elif self.kind == "float":
            self.widget.value = float(value if value is not None else 0.0)
        elif value is None:
            self.widget.value = ""
        elif self.kind == "plain" or (isinstance(value, str) and self.info["type"] in _PLAIN_TEXT):
            self.widget.value = str(value)
        else:
            self.widget.value = json.dumps(value)

    def read(self) -> Any:
        """The widget's value in the config's JSON form; a ConfigError naming the field when it does not parse."""
        value = self.widget.value
        if self.kind in ("bool", "choice", "int", "float"):
            return value
        text = str(value).strip()
        if not text:
            default = self.info["default"]
            return type(default)() if isinstance(default, (list, dict, str)) else None
        if self.kind == "plain" or self.widget.__class__ is W.Password:
            return text
        try:
            return json.loads(text)
        except ValueError:
            if "text" in self.info["type"] or "path" in self.info["type"]:
                return text
            raise ConfigError(
                f"{self.path}: {text!r} is not a valid value ({self.info['type']}).",
                'Write it as JSON: a number, a list such as [1, 2], or a table such as {"key": 1}.',
                field=self.path,
            ) from None


def get_path(tree: dict[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
