"""Every `lorakit dataset` command given a folder that does not exist fails with a clear error and a
non-zero exit, instead of reporting "0 images" (or "nothing to undo") and exiting 0."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from lorakit.cli.dataset import dataset_app
from lorakit.cli.dataset_tags import tags_app
from lorakit.cli.main import app
from lorakit.errors import DatasetError

# Required arguments after the folder, for the commands that have some.
EXTRA = {"replace": ["a", "b"], "regex": ["a", "b"], "trigger": ["w"], "add": ["x"], "remove": ["x"], "front": ["x"]}


def _commands():
    for command in dataset_app.registered_commands:
        if command.name != "import":  # import creates its --to folder; its sources are checked below
            yield [command.name]
    for command in tags_app.registered_commands:
        yield ["tags", command.name]


@pytest.mark.parametrize("command", list(_commands()), ids=" ".join)
def test_every_dataset_command_refuses_a_missing_folder(tmp_path, command):
    missing = tmp_path / "no-such-dataset"
    result = CliRunner().invoke(app, ["dataset", *command, str(missing), *EXTRA.get(command[-1], [])])
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetError), result.output
    assert str(missing) in result.exception.problem and "does not exist" in result.exception.problem
    assert not missing.exists()  # and nothing was created on the way


def test_a_file_given_as_the_folder_is_refused(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    result = CliRunner().invoke(app, ["dataset", "dedup", str(tmp_path / "a.png")])
    assert isinstance(result.exception, DatasetError) and "not a dataset folder" in result.exception.problem


def test_import_of_a_missing_source_fails(tmp_path):
    result = CliRunner().invoke(app, ["dataset", "import", str(tmp_path / "nothing"), "--to", str(tmp_path / "ds")])
    assert result.exit_code != 0 and isinstance(result.exception, DatasetError)


def test_the_real_command_shows_problem_and_fix_and_exits_2(tmp_path):
    missing = tmp_path / "typo"
    done = subprocess.run(
        [sys.executable, "-m", "lorakit.cli.main", "dataset", "undo", str(missing)], capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr and "Traceback" not in done.stderr
