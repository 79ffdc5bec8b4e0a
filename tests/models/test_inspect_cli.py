"""``lorakit models inspect|verify``: missing and hostile files are refused in plain words, nothing is written
beside the file looked at."""

from __future__ import annotations

import struct

import pytest
import torch
from safetensors.torch import save_file


@pytest.fixture(autouse=True)
def _workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "workspace"))


def test_missing_file_is_a_problem_and_fix(tmp_path, lorakit):
    for command in ("inspect", "verify"):
        code, out = lorakit(["models", command, str(tmp_path / "nope.safetensors")])
        assert code == 2
        assert "There is no file or folder at" in out and "nope.safetensors" in out
        assert "lorakit models list" in out
        assert "Traceback" not in out


def test_deeply_nested_header_is_refused(tmp_path, lorakit):
    depth = 100_000
    header = b'{"__metadata__":{"a":' + b"[" * depth + b"]" * depth + b"}}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    code, out = lorakit(["models", "inspect", str(path)])
    assert code == 2 and "nests JSON thousands of levels deep" in out and "Traceback" not in out
    code, out = lorakit(["models", "verify", str(path)])
    assert code == 1 and "nests JSON thousands of levels deep" in out and "Traceback" not in out


def test_inspect_writes_nothing_beside_the_file(tmp_path, lorakit):
    folder = tmp_path / "someone_elses_loras"
    folder.mkdir()
    path = folder / "style.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.ones(4, 8), "lora_unet_x.lora_up.weight": torch.ones(8, 4)}, path)
    (tmp_path / "workspace" / "models").mkdir(parents=True)
    for args in (["models", "inspect", str(path), "--hashes"], ["models", "verify", str(path)]):
        code, out = lorakit(args)
        assert code == 0, out
    assert [p.name for p in folder.iterdir()] == ["style.safetensors"]
    # The caches are in the workspace instead, keyed by the file's full path.
    assert str(path) in (tmp_path / "workspace" / "models" / ".lorakit-hashes.json").read_text()
