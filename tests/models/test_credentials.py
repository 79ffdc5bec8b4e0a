"""Tokens: owner-only storage, environment fallback, masking, redaction."""

from __future__ import annotations

import stat

import pytest

from lorakit import credentials
from lorakit.errors import LorakitError


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for names in credentials.SERVICES.values():
        for name in names:
            monkeypatch.delenv(name, raising=False)


def test_stored_tokens_are_owner_only_and_win_over_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_fromenvironment9999")
    assert credentials.get_token("hf", tmp_path) == "hf_fromenvironment9999"
    assert credentials.token_source("huggingface", tmp_path) == "$HF_TOKEN"
    path = credentials.set_token("hf", "  hf_abcdefghijklmnop1234 \n", tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert credentials.get_token("huggingface", tmp_path) == "hf_abcdefghijklmnop1234"
    credentials.set_token("civitai", "0123456789abcdef", tmp_path)  # rewrite keeps 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    status = credentials.token_status(tmp_path)
    assert status["huggingface"] == {"set": True, "masked": "hf_…1234", "source": "settings file"}
    assert status["civitai"]["masked"] == "…cdef"
    assert credentials.delete_token("hf", tmp_path) and not credentials.delete_token("hf", tmp_path)
    assert credentials.get_token("hf", tmp_path) == "hf_fromenvironment9999"


def test_env_names_and_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVITAI_API_KEY", "key-from-env-5678")
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "home"))
    assert credentials.settings_folder() == tmp_path / "home"
    assert credentials.get_token("civitai") == "key-from-env-5678"
    credentials.set_token("civitai", "stored-token-0000")
    assert (tmp_path / "home" / "credentials.json").exists()


def test_mask_redact_and_bad_input(tmp_path):
    assert credentials.mask(None) == "(not set)"
    assert credentials.mask("short") == "…"
    assert (
        credentials.redact("GET /x?token=sekrit-token-1234 failed", "sekrit-token-1234") == "GET /x?token=…1234 failed"
    )
    with pytest.raises(LorakitError, match="does not keep tokens"):
        credentials.get_token("dropbox", tmp_path)
    with pytest.raises(LorakitError, match="spaces"):
        credentials.set_token("hf", "two words", tmp_path)
