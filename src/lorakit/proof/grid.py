"""The before/after grid of the proof of learning: one labelled row per case, the judge's verdict as a frame."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from lorakit.fileio import atomic_write_bytes

SCALE = 2  # samples are 64 px: shown twice as large
LABEL_WIDTH = 200
GAP = 6
FRAME = 3
YES = (40, 200, 70)  # the judge sees the concept
NO = (90, 90, 90)


def make_grid(rows: Sequence[tuple[str, Sequence, Sequence[bool]]], note: str = ""):
    """A PIL image: per row its label, then its images, each framed green where the judge sees the concept;
    ``note`` is written under the rows."""
    from PIL import Image, ImageDraw

    columns = max(len(images) for _, images, _ in rows)
    cell = 64 * SCALE + 2 * FRAME
    title = 24
    width = LABEL_WIDTH + columns * (cell + GAP) + GAP
    height = title + len(rows) * (cell + GAP) + GAP + (20 * (note.count("\n") + 1) if note else 0)
    grid = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(grid)
    draw.text((GAP, GAP), "Proof of learning: green frame = the judge sees the concept", fill=(0, 0, 0))
    for r, (label, images, verdicts) in enumerate(rows):
        top = title + GAP + r * (cell + GAP)
        share = sum(verdicts) / len(verdicts) if verdicts else 0.0
        draw.text((GAP, top + cell // 2 - 12), label, fill=(0, 0, 0))
        draw.text((GAP, top + cell // 2 + 2), f"concept in {share:.0%}", fill=(0, 0, 0))
        for c, (image, seen) in enumerate(zip(images, verdicts, strict=True)):
            left = LABEL_WIDTH + GAP + c * (cell + GAP)
            draw.rectangle((left, top, left + cell - 1, top + cell - 1), fill=YES if seen else NO)
            big = image.convert("RGB").resize((64 * SCALE, 64 * SCALE), Image.NEAREST)
            grid.paste(big, (left + FRAME, top + FRAME))
    if note:
        draw.multiline_text((GAP, title + GAP + len(rows) * (cell + GAP)), note, fill=(0, 0, 0), spacing=6)
    return grid


def save_grid(path: Path, rows: Sequence[tuple[str, Sequence, Sequence[bool]]], note: str = "") -> Path:
    """Write :func:`make_grid` of ``rows`` (and ``note``) to ``path`` as a PNG (atomically) and return the path."""
    buffer = io.BytesIO()
    make_grid(rows, note).save(buffer, format="PNG")
    atomic_write_bytes(Path(path), buffer.getvalue())
    return Path(path)
