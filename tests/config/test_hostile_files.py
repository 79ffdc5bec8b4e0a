"""Config files no real config looks like are refused as problems with a fix, never a traceback."""

from __future__ import annotations

import pytest

DEEP_ARRAYS = "a = " + "[" * 100_000 + "]" * 100_000
DEEP_TABLES = "x = " + "{a = " * 50_000 + "1" + "}" * 50_000


@pytest.mark.parametrize("text", [DEEP_ARRAYS, DEEP_TABLES], ids=["arrays", "inline-tables"])
def test_deeply_nested_toml_is_refused(tmp_path, text, lorakit):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    for args in (["config", "validate", str(path)], ["plan", str(path)]):
        code, out = lorakit(args)
        assert code in (1, 2), out
        assert "nests arrays or tables thousands of levels deep" in out
        assert "lorakit config new" in out and "Traceback" not in out
