"""No network at all: a host that cannot be looked up or connected to fails at once, in plain words."""

from __future__ import annotations

import socket

import pytest
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.errors import DownloadError
from lorakit.events import STATUS, Emitter
from lorakit.models.download import download


def _refusing_port() -> int:
    # Bound then closed: nothing listens there, so a connect is refused at once (loopback only).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_dns(monkeypatch):
    """Name look-ups of *.invalid fail as they do without a network; nothing is sent anywhere."""
    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        if str(host).endswith(".invalid"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)


def _statuses(link, tmp_path, **kwargs) -> tuple[DownloadError, list[str]]:
    messages: list[str] = []
    emitter = Emitter(callbacks=[lambda e: messages.append(e.data.get("message", "")) if e.type == STATUS else None])
    with pytest.raises(DownloadError) as caught:
        download(link, tmp_path / "models", emitter=emitter, **kwargs)
    return caught.value, messages


@pytest.mark.parametrize("source", ["huggingface", "civitai", "url"])
def test_refused_connection_fails_at_once_without_retries(tmp_path, source):
    server = f"http://127.0.0.1:{_refusing_port()}"
    link = {
        "huggingface": ("org/model", {"hf_endpoint": server}),
        "civitai": ("https://civitai.com/models/1", {"civitai_base_url": server}),
        "url": (f"{server}/files/model.safetensors", {}),
    }[source]
    error, statuses = _statuses(link[0], tmp_path, **link[1])
    assert "Cannot connect to 127.0.0.1" in error.problem and "refused" in error.problem
    assert "internet connection" in error.fix
    assert not any("retrying" in m for m in statuses)
    assert not (tmp_path / "models").exists()


def test_unknown_host_says_there_is_no_network(tmp_path, no_dns):
    error, statuses = _statuses("org/model", tmp_path, hf_endpoint="https://hub.nowhere.invalid")
    assert error.problem.startswith("Cannot look up hub.nowhere.invalid")
    assert "no network" in error.problem
    assert not statuses


def test_cli_download_offline_prints_problem_and_fix_without_traceback(tmp_path, no_dns, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.nowhere.invalid")
    result = CliRunner().invoke(app, ["models", "download", "org/model", "--to", str(tmp_path / "to")])
    assert result.exit_code != 0
    assert isinstance(result.exception, DownloadError)  # run() shows it as problem + fix, exit 2
    assert "Cannot look up hub.nowhere.invalid" in str(result.exception)
