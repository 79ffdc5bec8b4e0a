"""A download killed midway (SIGKILL of the downloading process) resumes to an identical sha256."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time

import pytest

from lorakit.models.download import download
from lorakit.models.transfer import TransferOptions

from .servers import LoopbackServer, Served, serve_file

CHILD = """
import sys
from lorakit.models.download import download
from lorakit.models.transfer import TransferOptions
options = TransferOptions(
    connections=int(sys.argv[3]), parallel_min_bytes=200_000, min_range_bytes=200_000, save_every_s=0.05
)
download(sys.argv[1], to=sys.argv[2], options=options)
"""


@pytest.mark.parametrize("connections", [1, 3], ids=["single", "parallel"])
def test_killed_download_resumes_to_identical_sha256(tmp_path, connections):
    data = os.urandom(connections * 2 * 1024 * 1024)
    # ~1.3 MB/s per connection, and held once 3/4 of the file was sent until the test releases it: the child
    # cannot finish before it is killed, however slowly this process gets to look.
    served = Served(data, name="killed.safetensors", throttle_s=0.05, hold_after=len(data) * 3 // 4)
    server = LoopbackServer()
    server.route("*", r"/f/(.+)", lambda h, m, match, q: serve_file(h, m, served))
    url = f"{server.url}/f/killed.safetensors"
    part = tmp_path / "killed.safetensors.part"
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(tmp_path), str(connections)])
    try:
        deadline = time.monotonic() + 60
        # Wait until real progress is on disk (the sidecar is saved at least once a second in parallel mode).
        while time.monotonic() < deadline and child.poll() is None:
            sidecar = tmp_path / "killed.safetensors.part.json"
            if part.exists() and sidecar.exists() and (connections == 1 or '"chunks"' in sidecar.read_text()):
                have = part.stat().st_size if connections == 1 else sum(c[2] for c in _chunks(sidecar))
                if have > 600_000:
                    break
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
        served.hold_after = None
        served.release.set()
    assert child.returncode == -signal.SIGKILL, "the child finished before it could be killed"
    assert part.exists() and not (tmp_path / "killed.safetensors").exists()
    requests_before = len(server.requests)

    served.throttle_s = 0.0
    options = TransferOptions(connections=connections, parallel_min_bytes=200_000, min_range_bytes=200_000)
    result = download(url, to=tmp_path, options=options)
    final = (tmp_path / "killed.safetensors").read_bytes()
    assert hashlib.sha256(final).hexdigest() == hashlib.sha256(data).hexdigest() == result.sha256
    # Not counting the quick "/" request that checks the server can be reached at all.
    resumed = [r["headers"].get("Range", "") for r in server.requests[requests_before:] if r["path"] != "/"]
    # It continued (ranges that do not start at 0 for the single stream), instead of starting over.
    assert resumed and all(r.startswith("bytes=") for r in resumed)
    starts = [int(r.split("=")[1].split("-")[0]) for r in resumed]
    if connections == 1:
        assert starts[0] > 600_000
    else:
        chunk_starts = {i * 2 * 1024 * 1024 for i in range(connections)}
        assert any(s not in chunk_starts for s in starts)
    assert not list(tmp_path.glob("*.part*"))
    server.close()


def _chunks(sidecar):
    import json

    try:
        return json.loads(sidecar.read_text()).get("chunks", [])
    except (json.JSONDecodeError, OSError):
        return []
