"""Real photographs (scikit-image's bundled samples) and generated images for dataset tests."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def photo(name: str, size: int | None = None) -> Image.Image:
    from skimage import data

    arr = getattr(data, name)()
    img = Image.fromarray(arr)
    if size:
        img = img.resize((size, int(size * img.height / img.width)), Image.BICUBIC)
    return img


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    """A few bundled photographs at a small size, RGB."""
    return {name: photo(name, 192).convert("RGB") for name in ("astronaut", "chelsea", "coffee", "rocket")}


def write(path: Path, img: Image.Image, caption: str | None = None, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    if caption is not None:
        path.with_suffix(".txt").write_text(caption, encoding="utf-8")
    return path


def noise_image(seed: int, size=(64, 48), mode="RGB") -> Image.Image:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4}.get(mode, 1)
    arr = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(arr.squeeze() if channels == 1 else arr, mode if channels > 1 else "L")
