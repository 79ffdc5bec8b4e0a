"""Draw lorakit's bundled sample dataset: 12 small pictures of "kitbot", a robot cat, with tag captions.

The pictures have structure a LoRA can learn (the same character: an orange body, a round head with two
ears and teal eyes, an antenna) on varied backgrounds, poses and sizes, in square, portrait and landscape
shapes, so the step plan shows several buckets. Everything is drawn from fixed numbers: running this
again gives byte-identical files.

    .venv/bin/python scripts/make_sample_data.py            # writes src/lorakit/sample_data/10_kitbot
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "src" / "lorakit" / "sample_data" / "10_kitbot"

ORANGE = (240, 140, 40)
DARK = (60, 40, 30)
TEAL = (40, 200, 190)

# (file name, width, height, background, background tags, pose, extra tags)
PICTURES = [
    ("kitbot_01", 128, 128, ("solid", (70, 110, 200)), "blue background", "standing", "front view"),
    ("kitbot_02", 96, 144, ("solid", (240, 240, 235)), "white background", "standing", "full body"),
    ("kitbot_03", 160, 96, ("gradient", (250, 200, 120), (230, 90, 80)), "sunset", "walking", "side view"),
    ("kitbot_04", 112, 112, ("stripes", (120, 190, 120), (90, 160, 90)), "striped background", "sitting", ""),
    ("kitbot_05", 80, 128, ("solid", (40, 40, 60)), "dark background", "standing", "looking up"),
    ("kitbot_06", 144, 96, ("grass", (150, 210, 250), (90, 170, 70)), "outdoors, grass, sky", "walking", ""),
    ("kitbot_07", 128, 128, ("dots", (250, 230, 240), (230, 150, 190)), "polka dot background", "waving", ""),
    ("kitbot_08", 64, 96, ("solid", (200, 80, 90)), "red background", "standing", "small"),
    ("kitbot_09", 160, 120, ("gradient", (30, 30, 90), (120, 60, 150)), "night", "sitting", "stars"),
    ("kitbot_10", 96, 96, ("solid", (250, 220, 90)), "yellow background", "waving", "close-up"),
    ("kitbot_11", 120, 160, ("grass", (170, 220, 250), (110, 180, 80)), "outdoors, grass, sky", "standing", ""),
    ("kitbot_12", 150, 100, ("stripes", (210, 210, 210), (180, 180, 180)), "grey background", "lying", ""),
]


def _background(draw: ImageDraw.ImageDraw, w: int, h: int, spec: tuple) -> None:
    kind = spec[0]
    if kind == "solid":
        draw.rectangle((0, 0, w, h), fill=spec[1])
    elif kind == "gradient":
        top, bottom = spec[1], spec[2]
        for y in range(h):
            t = y / max(1, h - 1)
            draw.line((0, y, w, y), fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    elif kind == "stripes":
        draw.rectangle((0, 0, w, h), fill=spec[1])
        for x in range(0, w, 16):
            draw.rectangle((x, 0, x + 7, h), fill=spec[2])
    elif kind == "dots":
        draw.rectangle((0, 0, w, h), fill=spec[1])
        for y in range(6, h, 18):
            for x in range(6 + (y // 18 % 2) * 9, w, 18):
                draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=spec[2])
    elif kind == "grass":
        draw.rectangle((0, 0, w, h), fill=spec[1])
        draw.rectangle((0, h * 2 // 3, w, h), fill=spec[2])


def _kitbot(draw: ImageDraw.ImageDraw, w: int, h: int, pose: str) -> None:
    """The character: sized to the picture, centred low, the same look in every picture."""
    s = min(w, h) / 100  # one unit of the character
    cx = w / 2 + (10 * s if pose == "walking" else 0)
    ground = h - 8 * s
    if pose == "lying":
        draw.rounded_rectangle((cx - 34 * s, ground - 22 * s, cx + 20 * s, ground), 8 * s, fill=ORANGE, outline=DARK)
        head_c, head_r = (cx + 30 * s, ground - 22 * s), 16 * s
    else:
        body_h = 30 * s if pose == "sitting" else 40 * s
        top = ground - body_h
        draw.rounded_rectangle((cx - 18 * s, top, cx + 18 * s, ground), 8 * s, fill=ORANGE, outline=DARK)
        if pose != "sitting":  # legs
            for dx in (-10, 6):
                draw.rectangle((cx + dx * s, ground - 2 * s, cx + (dx + 5) * s, ground + 5 * s), fill=DARK)
        if pose == "waving":
            draw.line((cx + 18 * s, top + 8 * s, cx + 32 * s, top - 10 * s), fill=DARK, width=max(1, round(3 * s)))
        head_c, head_r = (cx, top - 14 * s), 18 * s
    x, y = head_c
    for side in (-1, 1):  # ears
        draw.polygon(
            [(x + side * 6 * s, y - 14 * s), (x + side * 17 * s, y - 26 * s), (x + side * 17 * s, y - 6 * s)],
            fill=ORANGE,
            outline=DARK,
        )
    draw.ellipse((x - head_r, y - head_r, x + head_r, y + head_r), fill=ORANGE, outline=DARK)
    for side in (-1, 1):  # eyes
        draw.ellipse((x + side * 7 * s - 4 * s, y - 4 * s, x + side * 7 * s + 4 * s, y + 4 * s), fill=TEAL)
    draw.line((x, y - head_r, x, y - head_r - 9 * s), fill=DARK, width=max(1, round(2 * s)))  # antenna
    draw.ellipse((x - 3 * s, y - head_r - 12 * s, x + 3 * s, y - head_r - 6 * s), fill=TEAL)


def make(out: Path) -> list[Path]:
    """Write the pictures and their captions into ``out``; returns the picture paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, w, h, background, bg_tags, pose, extra in PICTURES:
        image = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(image)
        _background(draw, w, h, background)
        _kitbot(draw, w, h, pose)
        if "stars" in extra:
            for i in range(9):
                sx, sy = (i * 37) % w, (i * 23) % (h // 2)
                draw.point((sx, sy), fill=(255, 255, 220))
        path = out / f"{name}.png"
        # Quantized PNGs keep the whole set tiny; flat drawings lose nothing.
        image.quantize(colors=64, dither=Image.Dither.NONE).save(path, optimize=True)
        tags = ["kitbot", "robot cat", "orange body", "teal eyes", "antenna", pose, bg_tags]
        if extra:
            tags.append(extra)
        (out / f"{name}.txt").write_text(", ".join(tags) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write (default: the package's sample)")
    args = parser.parse_args()
    paths = make(args.out)
    total = sum(p.stat().st_size + p.with_suffix(".txt").stat().st_size for p in paths)
    print(f"wrote {len(paths)} pictures with captions to {args.out} ({total / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
