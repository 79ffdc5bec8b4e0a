"""Config files no real config looks like are refused as problems with a fix, never a traceback."""

from __future__ import annotations

import sys

import pytest

from lorakit.cli.main import run


def lorakit(args: list[str], monkeypatch, capsys) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["lorakit", *args])
    with pytest.raises(SystemExit) as ended:
        run()
    out = capsys.readouterr()
    return ended.value.code or 0, " ".join((out.out + out.err).split())


DEEP_ARRAYS = "a = " + "[" * 100_000 + "]" * 100_000
DEEP_TABLES = "x = " + "{a = " * 50_000 + "1" + "}" * 50_000


@pytest.mark.parametrize("text", [DEEP_ARRAYS, DEEP_TABLES], ids=["arrays", "inline-tables"])
def test_deeply_nested_toml_is_refused(tmp_path, monkeypatch, capsys, text):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    for args in (["config", "validate", str(path)], ["plan", str(path)]):
        code, out = lorakit(args, monkeypatch, capsys)
        assert code in (1, 2), out
        assert "nests arrays or tables thousands of levels deep" in out
        assert "lorakit config new" in out and "Traceback" not in out
