"""The dataset folder a command works on must exist: a typo must not read as "0 images, all fine"."""

from __future__ import annotations

import os
from pathlib import Path

from lorakit.errors import DatasetError


def require_dataset_folder(folder: str | os.PathLike) -> Path:
    """``folder`` as a Path when it is an existing folder, else a :class:`DatasetError` naming it."""
    path = Path(folder).expanduser()
    if path.is_dir():
        return path
    if path.exists():
        raise DatasetError(
            f"{path} is a file, not a dataset folder.",
            "Give the folder that holds your images and their .txt captions.",
        )
    raise DatasetError(
        f"The dataset folder {path} does not exist.",
        "Check the path: it is the folder with your images and their .txt captions"
        " ('lorakit dataset import' makes one from your images).",
    )
