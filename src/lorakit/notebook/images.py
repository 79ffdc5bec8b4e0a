"""Thumbnails for the widgets: a small PNG of an image, made in memory (the dataset is never written)."""

from __future__ import annotations

import io
from pathlib import Path

import ipywidgets as W


def thumbnail_bytes(path: str | Path, size: int = 160) -> bytes:
    from lorakit.data.images import load_rgb

    image = load_rgb(path)
    image.thumbnail((size, size))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail(path: str | Path, size: int = 160) -> W.Widget:
    """An Image widget of ``path``, or a note when the file cannot be read as an image."""
    try:
        return W.Image(value=thumbnail_bytes(path, size), format="png", width=size)
    except Exception as error:  # an unreadable image is a finding to show, not a crash
        return W.HTML(f"<i>{Path(path).name}: cannot show ({type(error).__name__})</i>")
