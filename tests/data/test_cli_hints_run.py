"""Every command the dataset flows suggest (fix hints, undo, restore, dedup --remove) runs as printed:
it names the folder, quotes paths, and is accepted by the CLI. The commands are taken from the real
output, not from a list kept in the test."""

from __future__ import annotations

import re
import shlex

from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.errors import ModelError
from tests.tagging.conftest import build_tagger

from .conftest import write

runner = CliRunner()
COMMAND = re.compile(r"\blorakit (?=dataset |config |train |plan |models |lora |doctor)")


def suggested_commands(output: str) -> list[str]:
    """Each ``lorakit ...`` in the text, up to the end of its line or a closing ``)``/``]`` after a word."""
    found = []
    for line in output.splitlines():
        for match in COMMAND.finditer(line):
            # posix=False keeps the quotes in each word: a ")" inside a quoted path does not end the command.
            lexer = shlex.shlex(line[match.start() :], posix=False)
            lexer.whitespace_split = True
            words = []
            # Token by token, so the prose after a closing bracket is never parsed as shell words.
            while word := lexer.get_token():  # "" at the end (None in posix mode)
                if word[0] in ")][":
                    break  # a bracket after a quoted path ends the command; "[" opens the next hint
                bare = word.rstrip(",.;:")
                closing = bare.endswith((")", "]"))
                words.append(bare.rstrip(")]") if closing else word)
                if closing:
                    break
            found.append(" ".join(words))
    return found


def run(*args) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def test_every_suggested_command_runs_as_printed(tmp_path, photos, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # `dataset tag` is suggested: it must not go online in a test
    ds = tmp_path / "my dataset (v2)"  # a space and brackets: only a quoted path survives the shell
    write(ds / "astro.png", photos["astronaut"], "astronaut, smile")
    write(ds / "astro_copy.jpg", photos["astronaut"], "astronaut", quality=90)
    write(ds / "cat.png", photos["chelsea"], None)  # no caption
    write(ds / "coffee.png", photos["coffee"], None)
    (ds / "rocket.txt").write_bytes("café".encode("cp1252"))  # not UTF-8
    write(ds / "rocket.png", photos["rocket"])

    outputs = [
        run("dataset", "check", ds, "--resolution", "128", "--trigger", "ohwx"),
        run("dataset", "dedup", ds),
        run("dataset", "tags", "add", ds, "extra"),
        run("dataset", "check", ds, "--resolution", "128", "--fix", "create-empty-captions"),
        run("dataset", "tag", ds, "--model", build_tagger(tmp_path / "tagger"), "--existing", "append"),
    ]
    commands = [c for out in outputs for c in suggested_commands(out)]
    wanted = {"--fix create-empty-captions", "--fix add-trigger-word", "dedup", "undo", "--remove"}
    assert all(any(w in c for c in commands) for w in wanted), commands
    ran = 0
    assert any(c.startswith("lorakit dataset tag ") for c in commands), commands
    commands = list(dict.fromkeys(commands))  # each once, in the order printed
    first = set(commands)
    index = 0
    while index < len(commands):
        command = commands[index]
        index += 1
        if "<" in command:
            continue  # a template the user fills in (e.g. "<your images>"), shown as one
        argv = shlex.split(command)
        assert argv[0] == "lorakit"
        result = runner.invoke(app, argv[1:])
        assert "Usage:" not in result.output, (command, result.output)
        if argv[1:3] == ["dataset", "tag"]:
            # It parsed and reached the tagger, which needs the default model from the hub: offline here.
            assert isinstance(result.exception, ModelError) and "HF_HUB_OFFLINE" in result.exception.problem
            continue
        assert result.exception is None or isinstance(result.exception, SystemExit), (command, result.output)
        assert result.exit_code in (0, 1), (command, result.output)  # 1: the check still finds problems
        # What the hints lead to: more hints, which must run too (one level: trash ids change every time).
        if command in first:
            commands += [c for c in suggested_commands(result.output) if c not in commands]
        ran += 1
    assert ran >= len(wanted)
    # The follow-ups ran too: `dedup --remove` printed how to see and restore what it moved.
    assert any(c.startswith("lorakit dataset trash ") and "--restore" in c for c in commands), commands
    assert "ohwx" in (ds / "cat.txt").read_text(encoding="utf-8")  # the add-trigger-word hint kept --trigger
