"""The workspace: layout, settings (owner-only), database URL, and path confinement in every form."""

from __future__ import annotations

import os
import stat

import pytest

from lorakit.errors import PathError
from lorakit.workspace import Workspace


@pytest.fixture
def ws(tmp_path):
    return Workspace(tmp_path / "ws")


def test_layout_is_created(ws):
    for name in ("datasets", "models/checkpoints", "models/vae", "models/loras", "models/embeddings", "outputs"):
        assert (ws.root / name).is_dir()
    assert (ws.root / "configs").is_dir() and (ws.root / "trash").is_dir()
    assert ws.database_url == f"sqlite:///{ws.root / 'lorakit.db'}"


def test_default_root_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LORAKIT_WORKSPACE", str(tmp_path / "elsewhere"))
    assert Workspace().root == (tmp_path / "elsewhere").resolve()


def test_settings_round_trip_owner_only_and_secret_hidden(ws):
    settings = ws.settings
    settings.server_token = "s3cret-token-value-123"
    settings.max_upload_mb = 7
    ws.save_settings(settings)
    assert stat.S_IMODE(os.stat(ws.settings_path).st_mode) == 0o600
    again = ws.settings
    assert again.max_upload_mb == 7
    assert ws.server_token() == "s3cret-token-value-123"
    public = again.public()
    assert public["server_token_set"] is True
    assert "s3cret" not in repr(public) and "s3cret" not in repr(again)


def test_environment_beats_settings_file(ws, monkeypatch):
    settings = ws.settings
    settings.max_upload_mb = 7
    ws.save_settings(settings)
    monkeypatch.setenv("LORAKIT_MAX_UPLOAD_MB", "9")
    assert ws.settings.max_upload_mb == 9
    monkeypatch.setenv("LORAKIT_DATABASE_URL", "postgresql://u:p@db/lorakit")
    assert ws.database_url == "postgresql://u:p@db/lorakit"


def test_generated_token_is_random(ws):
    assert ws.server_token() is None
    a, b = ws.server_token(create=True), ws.server_token(create=True)
    assert a != b and len(a) >= 32


@pytest.mark.parametrize(
    "bad",
    [
        "../secret",
        "datasets/../../secret",
        "/etc/passwd",
        "~/x",
        "C:/Windows",
        "datasets\\..\\..\\x",
        "datasets/a\0b",
        "%2e%2e/secret",  # still encoded once more: refused, never decoded twice into '..'
        "datasets/%2e%2e/%2e%2e/x",
        "datasets/a%2fb",
        "..",
        "datasets/\n",
    ],
)
def test_paths_outside_are_refused(ws, bad):
    with pytest.raises(PathError):
        ws.resolve_inside(bad)


def test_symlink_escape_is_refused_but_inner_links_work(ws, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    (ws.datasets / "escape").symlink_to(outside)
    with pytest.raises(PathError):
        ws.resolve_inside("datasets/escape/secret.txt")
    (ws.datasets / "real").mkdir()
    (ws.datasets / "inner").symlink_to(ws.datasets / "real")
    assert ws.resolve_inside("datasets/inner") == ws.datasets / "real"


def test_normal_paths(ws):
    assert ws.resolve_inside("") == ws.root
    assert ws.resolve_inside("datasets/./a//b") == ws.datasets / "a" / "b"
    assert ws.resolve_inside("datasets/100%25 done.png") == ws.datasets / "100%25 done.png"
    with pytest.raises(PathError):
        ws.resolve_inside("datasets/none", must_exist=True)
    assert ws.relative(ws.datasets / "x") == "datasets/x"
