"""Files lorakit writes are readable by other local users (ComfyUI, A1111 running as another account),
except secrets, which are owner-only: the modes of a trained LoRA, its config and events, a saved config
and a credentials file."""

from __future__ import annotations

import os
import stat

import pytest

from lorakit import credentials
from lorakit.config.io import save_config
from lorakit.fileio import atomic_write_text


@pytest.fixture
def umask_022():
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_writes_follow_the_umask_keep_a_replaced_mode_and_private_is_owner_only(tmp_path):
    before = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        assert mode(tmp_path / "a.txt") == 0o640
    finally:
        os.umask(before)
    os.chmod(tmp_path / "a.txt", 0o604)
    atomic_write_text(tmp_path / "a.txt", "y")
    assert mode(tmp_path / "a.txt") == 0o604 and (tmp_path / "a.txt").read_text() == "y"
    atomic_write_text(tmp_path / "a.txt", "secret", private=True)  # tightens a loose file too
    assert mode(tmp_path / "a.txt") == 0o600


@pytest.mark.slow
def test_trained_lora_config_and_events_are_world_readable_credentials_are_not(
    tmp_path, tiny_config, umask_022, monkeypatch
):
    from lorakit.train.run import train

    cfg = tiny_config(schedule__max_train_steps=1, schedule__max_train_epochs=None, memory__cache_latents=False)
    result = train(cfg, tmp_path / "run")
    run_dir = tmp_path / "run"
    assert mode(result["lora"]) == 0o644
    assert mode(run_dir / "config.toml") == 0o644
    assert mode(run_dir / "events.jsonl") == 0o644
    assert mode(save_config(cfg, tmp_path / "configs" / "mine.toml")) == 0o644

    monkeypatch.delenv("LORAKIT_HOME", raising=False)
    path = credentials.set_token("hf", "hf_abcdefgh12345678", tmp_path / "settings")
    assert mode(path) == 0o600
    os.chmod(path, 0o644)  # someone loosened it: the next write makes it private again
    credentials.set_token("civitai", "0123456789abcdef", tmp_path / "settings")
    assert mode(path) == 0o600
