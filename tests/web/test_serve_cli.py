"""`lorakit serve`: loopback without a token by default; any other address gets one, printed once."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from lorakit.web.routes.spa import default_dist


@pytest.fixture
def served(monkeypatch):
    calls = []

    def fake_run(app, **kwargs):
        calls.append((app, kwargs))

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.delenv("LORAKIT_SERVER_TOKEN", raising=False)
    return calls


def _guard(app):
    from lorakit.web.security import Guard

    return next(m for m in app.user_middleware if m.cls is Guard).kwargs


def test_loopback_by_default_without_token(served, tmp_path):
    from lorakit.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    web_app, kwargs = served[0]
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8000 and kwargs["access_log"] is False
    assert _guard(web_app)["token"] is None and "token=" not in result.output
    # Until the web app is built, the link printed is the API documentation's, which answers (see test_api_docs).
    if default_dist():
        assert "Open the web app: http://127.0.0.1:8000/\n" in result.output
    else:
        assert "Open the API documentation: http://127.0.0.1:8000/docs" in result.output
    assert kwargs["log_config"]["handlers"]["default"]["filters"] == ["redact"]
    web_app.state.runner.close()


def test_other_address_requires_a_token_printed_once(served, tmp_path):
    from lorakit.cli.main import app

    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "9123", "--workspace", str(tmp_path)])
    assert result.exit_code == 0, result.output
    web_app, kwargs = served[0]
    assert kwargs["host"] == "0.0.0.0" and kwargs["port"] == 9123
    token = _guard(web_app)["token"]
    assert token and len(token) >= 32 and result.output.count(token) == 1
    page = "" if default_dist() else "docs"
    assert f"http://127.0.0.1:9123/{page}?token={token}" in result.output
    web_app.state.runner.close()
