"""Offline, `dataset tag` and `dataset caption` fail at once with one look at the hub, not a retry loop,
and say how to use a local model folder. The hub is a loopback address: a closed port, or a server that
accepts each connection and closes it (which counts the connections)."""

from __future__ import annotations

import socket
import threading

import pytest
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.errors import ModelError
from lorakit.tagging import hub_check
from lorakit.tagging.wd14 import Tagger


class HangUpServer:
    """Accepts TCP connections on 127.0.0.1 and closes each at once, counting them."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def no_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def hang_up(monkeypatch, no_cache):
    server = HangUpServer()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.port}")
    yield server
    server.close()


@pytest.fixture
def downloads(monkeypatch):
    import huggingface_hub

    calls = []

    def record(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        raise OSError("the test's download was reached")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", record)
    return calls


def closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_tagger_with_the_hub_on_a_closed_port_fails_at_once(monkeypatch, no_cache, downloads):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ModelError) as caught:
        Tagger("SmilingWolf/wd-vit-tagger-v3")
    assert "cannot be reached" in caught.value.problem and "not downloaded yet" in caught.value.problem
    assert "--model <folder>" in caught.value.fix and "model.onnx" in caught.value.fix
    assert downloads == []  # no download attempt, so no retries


def test_tagger_makes_one_connection_to_a_hub_that_hangs_up(hang_up, downloads):
    with pytest.raises(ModelError, match="cannot be reached"):
        Tagger("SmilingWolf/wd-vit-tagger-v3")
    assert hang_up.connections == 1 and downloads == []


def test_hf_hub_offline_makes_no_connection(hang_up, monkeypatch, downloads):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE"):
        Tagger("SmilingWolf/wd-vit-tagger-v3")
    assert hang_up.connections == 0 and downloads == []


def test_a_cached_model_is_used_from_the_cache_when_offline(hang_up, monkeypatch, downloads):
    monkeypatch.setattr(hub_check, "is_cached", lambda repo_id, filename: True)
    with pytest.raises(ModelError, match="Could not download"):  # the recording download refuses
        Tagger("SmilingWolf/wd-vit-tagger-v3")
    assert downloads and all(kwargs.get("local_files_only") for _, _, kwargs in downloads)


def test_a_hub_that_answers_lets_the_download_run(monkeypatch, downloads):
    monkeypatch.setattr(hub_check, "hub_unreachable_reason", lambda timeout=3.0: None)
    with pytest.raises(ModelError, match="Could not download"):
        Tagger("SmilingWolf/wd-vit-tagger-v3")
    assert len(downloads) == 1 and not downloads[0][2].get("local_files_only")


def test_captioner_makes_one_connection_to_a_hub_that_hangs_up(hang_up):
    pytest.importorskip("transformers")  # the [caption] extra
    from lorakit.tagging.captioner import Captioner

    with pytest.raises(ModelError) as caught:
        Captioner("Salesforce/blip-image-captioning-large", device="cpu")
    assert "cannot be reached" in caught.value.problem and "--local-dir" in caught.value.fix
    assert hang_up.connections == 1


def test_cli_tag_offline_is_one_clear_error(tmp_path, hang_up):
    (tmp_path / "ds").mkdir()
    result = CliRunner().invoke(app, ["dataset", "tag", str(tmp_path / "ds")])
    assert result.exit_code != 0 and isinstance(result.exception, ModelError)
    assert hang_up.connections == 1
