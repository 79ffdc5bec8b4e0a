"""Kill the server (SIGKILL) during jobs, start it again: jobs and their events are intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import free_port


def _start(root, port):
    command = [sys.executable, "-m", "lorakit.cli.main", "serve", "--port", str(port), "--workspace", str(root)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if client.get("/api/health").status_code == 200:
                return server, client
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("server did not start")


def _wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.mark.slow
def test_server_killed_mid_job(tmp_path):
    root = tmp_path / "ws"
    server, client = _start(root, free_port())
    try:
        survivor = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 20, "seconds": 2}}).json()
        orphan = client.post("/api/jobs", json={"kind": "sleep", "params": {"steps": 300, "seconds": 60}}).json()

        def progressed(job_id):
            return lambda: any(e["type"] == "progress" for e in client.get(f"/api/jobs/{job_id}/events").json())

        _wait(progressed(survivor["id"]))
        _wait(progressed(orphan["id"]))
        orphan_pid = client.get(f"/api/jobs/{orphan['id']}").json()["pid"]
        before = client.get(f"/api/jobs/{survivor['id']}/events").json()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    os.kill(orphan_pid, signal.SIGKILL)  # this one dies while no server is watching

    server, client = _start(root, free_port())
    try:
        lost = client.get(f"/api/jobs/{orphan['id']}").json()
        assert lost["state"] == "interrupted" and lost["error"]["message"] and lost["error"]["fix"]
        done = _wait(lambda: (j := client.get(f"/api/jobs/{survivor['id']}").json())["state"] == "completed" and j)
        assert done["result"] == {"steps": 20, "stopped": False}
        events = client.get(f"/api/jobs/{survivor['id']}/events").json()
        assert events[: len(before)] == before  # nothing lost or rewritten
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert sum(e["type"] == "progress" for e in events) == 20
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
