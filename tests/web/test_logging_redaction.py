"""The access token never reaches the server's logs, at any level: a real `lorakit serve` on loopback with a
token, requests carrying it in the query, the Authorization header and the cookie, and a WebSocket with
`?token=`; the token must not appear in anything the server wrote, except the one link it prints at start."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from websockets.sync.client import connect

from lorakit.web.log_config import RedactFilter, redact
from lorakit.web.routes.spa import default_dist
from tests.web.conftest import free_port

TOKEN = "tok-Zq81xV3secretVALUE_do-not-log"


def _serve(tmp_path, level: str):
    port = free_port()
    out, err = tmp_path / f"{level}.out", tmp_path / f"{level}.err"
    env = dict(os.environ, LORAKIT_SERVER_TOKEN=TOKEN, LORAKIT_HOME=str(tmp_path / "home"), COLUMNS="200")
    command = [sys.executable, "-m", "lorakit.cli.main", "serve", "--port", str(port), "--log-level", level]
    command += ["--workspace", str(tmp_path / "ws")]
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=env, start_new_session=True)
    return process, port, out, err


def _wait_up(process, port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "lorakit serve exited"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("lorakit serve did not start")


def _use_the_token_every_way(port: int) -> None:
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/api/jobs?token={TOKEN}").status_code == 200
    assert httpx.get(f"{base}/api/jobs", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert httpx.get(f"{base}/api/jobs", headers={"Cookie": f"lorakit_token={TOKEN}"}).status_code == 200
    assert httpx.get(f"{base}/docs?token={TOKEN}", follow_redirects=False).status_code == 303
    assert httpx.get(f"{base}/api/jobs/nope?token={TOKEN}").status_code == 404
    with connect(f"ws://127.0.0.1:{port}/ws?token={TOKEN}", open_timeout=10) as ws:
        ws.send(json.dumps({"op": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
    headers = {"Authorization": f"Bearer {TOKEN}", "Cookie": f"lorakit_token={TOKEN}"}
    with connect(f"ws://127.0.0.1:{port}/ws", additional_headers=headers, open_timeout=10) as ws:
        ws.send(json.dumps({"op": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"


@pytest.mark.slow
@pytest.mark.parametrize("level", ["info", "debug", "trace"])
def test_token_absent_from_server_output(tmp_path, level):
    process, port, out, err = _serve(tmp_path, level)
    try:
        _wait_up(process, port)
        _use_the_token_every_way(port)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    logs = "".join(p.read_text(errors="replace") for p in (tmp_path / "ws").rglob("*.log"))
    # The start-up link is the one place the token is shown (like Jupyter's).
    link = f"/?token={TOKEN}" if default_dist() else f"/docs?token={TOKEN}"  # the web app's once it is built
    assert stdout.count(TOKEN) == 1 and link in stdout
    assert TOKEN not in stderr and TOKEN not in logs
    rest = stdout.replace(link, "")
    assert TOKEN not in rest
    # The requests were logged (redacted), so the check above looked at real log lines.
    assert "WebSocket /ws?token=***" in stderr
    if level in ("debug", "trace"):
        assert "Bearer ***" in stderr or "lorakit_token=***" in stderr
    if level == "trace":
        assert "ASGI" in stderr


def test_redact_forms():
    assert redact("GET /ws?token=abc&x=1") == "GET /ws?token=***&x=1"
    assert redact("Cookie: a=1; lorakit_token=abc; b=2") == "Cookie: a=1; lorakit_token=***; b=2"
    assert redact("[(b'authorization', b'Bearer abc.def')]") == "[(b'authorization', b'Bearer ***')]"
    assert redact("plain text with abc", secrets=["abc"]) == "plain text with ***"


def test_filter_keeps_args_for_formatters_and_hides_tracebacks():
    args = ("1.2.3.4", "GET", "/x?token=s")
    record = logging.LogRecord("uvicorn.access", 20, __file__, 1, '%s - "%s %s"', args, None)
    RedactFilter(secrets=["s3"]).filter(record)
    assert record.args == ("1.2.3.4", "GET", "/x?token=***") and record.getMessage() == '1.2.3.4 - "GET /x?token=***"'
    try:
        raise ValueError("bad header Bearer s3cr3t and s3")
    except ValueError:
        record = logging.LogRecord("x", 40, __file__, 1, "boom %d", (3,), sys.exc_info())
    RedactFilter(secrets=["s3"]).filter(record)
    text = logging.Formatter().format(record)
    assert "s3cr3t" not in text and "Bearer ***" in text and "boom 3" in text
