"""`dataset tags freq` counts captions, not images: an image without a caption file is not a caption."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.data.tags import read_all_tags

from .conftest import noise_image, write


def test_freq_leaves_out_uncaptioned_images_and_says_how_many(tmp_path):
    write(tmp_path / "a.png", noise_image(1), "cat, smile")
    write(tmp_path / "b.png", noise_image(2), "cat")
    write(tmp_path / "c.png", noise_image(3), "")  # an empty caption is a caption, with no tags
    write(tmp_path / "d.png", noise_image(4), None)  # no caption file
    images = sorted(tmp_path.glob("*.png"))
    assert set(read_all_tags(images)) == set(images[:3])

    result = CliRunner().invoke(app, ["dataset", "tags", "freq", str(tmp_path), "--json"])
    data = json.loads(result.output)
    assert data == {"captions": 3, "images_without_caption": 1, "tags": {"cat": 2, "smile": 1}}
    text = CliRunner().invoke(app, ["dataset", "tags", "freq", str(tmp_path)]).output
    assert text.splitlines()[0] == "3 captions (1 images have no readable caption)"
