"""Jupyter widgets over the core (ipywidgets 8): each notebook step is one call that shows one widget.

    import lorakit.notebook as nb
    nb.setup()       # checks, base model, tokens, project folders
    nb.dataset()     # images in, health, duplicates, tags and captions
    nb.config()      # the training settings (every setting of the schema), the step plan, save
    nb.train()       # start training, live chart, Stop / Save now / Sample now
    nb.utilities()   # inspect, resize, convert, merge, extract, upload

Every step reads and writes its choices in the workspace (``.lorakit-notebook.json``), so cells can run
again, and after a kernel restart, without breaking. The core never imports this package.
"""

from __future__ import annotations

import os

from lorakit.notebook.state import session


def use(workspace: str | os.PathLike | None = None):
    """Work in ``workspace`` (default: the one lorakit finds: $LORAKIT_WORKSPACE, the current folder or ~/lorakit)."""
    return session(workspace)


def config(name: str | None = None, *, workspace: str | os.PathLike | None = None):
    """The training settings step (``name``: the saved config to edit)."""
    from lorakit.notebook.config_widget import ConfigStep

    return ConfigStep(session(workspace), name)


def train(*, workspace: str | os.PathLike | None = None):
    """The training step."""
    from lorakit.notebook.train_widget import TrainStep

    return TrainStep(session(workspace))


def dataset(name: str | None = None, *, tab: str = "images", workspace: str | os.PathLike | None = None):
    """The dataset step (``name``: the dataset folder under datasets/; ``tab``: images, health, duplicates,
    tagging or captions, the part shown first)."""
    from lorakit.notebook.dataset_widget import DatasetStep

    return DatasetStep(session(workspace), name, tab)


def setup(*, workspace: str | os.PathLike | None = None, checks: bool = True):
    """The setup step: machine checks, base model, tokens, folders (``checks=False`` skips the checks)."""
    from lorakit.notebook.setup_widget import SetupStep

    return SetupStep(session(workspace), checks=checks)


def utilities(*, workspace: str | os.PathLike | None = None):
    """The LoRA tools step: inspect, resize, convert, merge, extract, upload."""
    from lorakit.notebook.utilities_widget import UtilitiesStep

    return UtilitiesStep(session(workspace))


__all__ = ["config", "dataset", "setup", "train", "use", "utilities"]
