"""Downloads from loopback Civitai and plain HTTPS-like servers: auth, redirects, retries, resume, verify."""

from __future__ import annotations

import errno
import hashlib
import io
import shutil
from collections import namedtuple

import pytest
import safetensors.torch
import torch

from lorakit import credentials
from lorakit.errors import DownloadError
from lorakit.events import PROGRESS, RESULT, STOP, Commands, Emitter
from lorakit.hub.civitai import choose_file
from lorakit.models import transfer
from lorakit.models.download import download
from lorakit.models.transfer import Stopped, TransferOptions

from .servers import LoopbackServer, Served, serve_file

FAST = TransferOptions(retries=3, backoff_s=0.01, progress_every_s=0.0)


def lora_bytes(numel: int = 300_000, seed: int = 0) -> bytes:
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_down.weight": torch.randn(
            8, 2048, generator=g
        ),
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.lora_up.weight": torch.randn(
            numel // 8, 8, generator=g
        ),
        "lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_k.alpha": torch.tensor(4.0),
    }
    return safetensors.torch.save(tensors, {"ss_network_dim": "8", "ss_base_model_version": "sdxl_base_v1-0"})


@pytest.fixture
def files():
    """A plain file server: ``files.add(Served)`` returns its URL."""
    server = LoopbackServer()
    table: dict[str, Served] = {}
    server.route("*", r"/f/(.+)", lambda h, m, match, q: serve_file(h, m, table[match.group(1)]))

    def add(served: Served) -> str:
        table[served.name] = served
        return f"{server.url}/f/{served.name}"

    yield namedtuple("Files", "add server")(add, server)
    server.close()


def _events():
    seen = []
    return seen, Emitter(callbacks=[seen.append])


def test_civitai_download_with_token_redirect_and_verification(tmp_path, civitai):
    data = lora_bytes()
    civitai.add(1, 11, Served(data, name="my_style.safetensors"))
    civitai.needs_token.add(11)
    with pytest.raises(DownloadError, match="lorakit models token civitai"):
        download(
            "https://civitai.com/models/1?modelVersionId=11",
            tmp_path / "models",
            civitai_base_url=civitai.api.url,
            options=FAST,
        )
    assert not (tmp_path / "models" / "loras" / "my_style.safetensors").exists()

    credentials.set_token("civitai", "an-old-expired-token")
    with pytest.raises(DownloadError, match="wrong or expired") as caught:
        download("https://civitai.com/api/download/models/11", tmp_path / "models", civitai_base_url=civitai.api.url)
    assert "an-old-expired-token" not in str(caught.value)
    credentials.set_token("civitai", civitai.token)
    seen, emitter = _events()
    result = download(
        "https://civitai.com/models/1?modelVersionId=11",
        tmp_path / "models",
        civitai_base_url=civitai.api.url,
        emitter=emitter,
        options=FAST,
    )
    final = tmp_path / "models" / "loras" / "my_style.safetensors"
    assert result.path == str(final) and final.read_bytes() == data
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.kind == "lora" and not result.skipped
    assert not list(final.parent.glob("*.part*"))
    # The token went to Civitai's API in a header, never to the storage host, never into a URL.
    api_calls = [r for r in civitai.api.requests if r["path"].startswith("/api/download")]
    assert api_calls[-1]["headers"]["Authorization"] == f"Bearer {civitai.token}"
    assert all("Authorization" not in r["headers"] for r in civitai.storage.requests)
    assert all(civitai.token not in r["query"] for r in civitai.api.requests + civitai.storage.requests)
    types = [e.type for e in seen]
    assert PROGRESS in types and types[-1] == RESULT
    assert all(civitai.token not in e.to_json() for e in seen)


def test_model_page_takes_newest_version_and_skips_duplicates(tmp_path, civitai):
    civitai.add(2, 20, Served(lora_bytes(seed=1), name="old.safetensors"))
    civitai.add(2, 21, Served(lora_bytes(seed=2), name="new.safetensors"))
    first = download(
        "https://civitai.com/models/2/some-slug", tmp_path, civitai_base_url=civitai.api.url, options=FAST
    )
    assert first.path.endswith("loras/new.safetensors") and first.info["version_id"] == 21
    served = len(civitai.storage.requests)
    again = download("https://civitai.com/api/download/models/21", tmp_path, civitai_base_url=civitai.api.url)
    assert again.skipped and again.path == first.path and len(civitai.storage.requests) == served
    # The same file under another name is found too (by sha256), not downloaded twice.
    (tmp_path / "loras" / "new.safetensors").rename(tmp_path / "loras" / "renamed.safetensors")
    again = download("https://civitai.com/api/download/models/21", tmp_path, civitai_base_url=civitai.api.url)
    assert again.skipped and again.path.endswith("renamed.safetensors")


def test_a_different_file_under_the_same_name_is_never_overwritten(tmp_path, civitai):
    civitai.add(3, 30, Served(lora_bytes(seed=3), name="x.safetensors"))
    (tmp_path / "loras").mkdir()
    (tmp_path / "loras" / "x.safetensors").write_bytes(b"my own file")
    with pytest.raises(DownloadError, match=r"different file called x\.safetensors"):
        download("https://civitai.com/api/download/models/30", tmp_path, civitai_base_url=civitai.api.url)
    assert (tmp_path / "loras" / "x.safetensors").read_bytes() == b"my own file"


def test_checksum_mismatch_removes_the_broken_copy(tmp_path, civitai):
    civitai.add(4, 40, Served(lora_bytes(seed=4), name="y.safetensors"), hashes={"SHA256": "AB" * 32})
    with pytest.raises(DownloadError, match="damaged or different"):
        download(
            "https://civitai.com/api/download/models/40", tmp_path, civitai_base_url=civitai.api.url, options=FAST
        )
    assert not list((tmp_path / "loras").iterdir())


def test_civitai_file_choice():
    files = [
        {"name": "data.zip", "type": "Training Data", "primary": False, "metadata": {"format": "Other"}},
        {"name": "m.ckpt", "type": "Model", "primary": True, "metadata": {"format": "PickleTensor"}},
        {
            "name": "m.safetensors",
            "type": "Model",
            "primary": False,
            "metadata": {"format": "SafeTensor"},
            "hashes": {"SHA256": "AA"},
            "sizeKB": 2.0,
            "downloadUrl": "u",
        },
    ]
    chosen = choose_file({"id": 1, "files": files}, {"type": "Checkpoint"})
    assert (chosen.filename, chosen.sha256, chosen.size, chosen.kind) == ("m.safetensors", "aa", 2048, "checkpoints")
    pickle_only = choose_file({"id": 1, "files": files[:2]}, {"type": "LORA"})
    assert pickle_only.filename == "m.ckpt" and "pickle" in pickle_only.notes[0]


@pytest.mark.parametrize(
    ("served", "message"),
    [
        (Served(b"x", statuses=[404]), "HTTP 404"),
        (Served(b"x", statuses=[403]), "refused"),
        (Served(b"x" * 100, html=True), "web page, not a file"),
        (Served(b"x" * 100, statuses=[500] * 10), "failed 4 times"),
        (Served(b"x" * 200_000, lie_length=300_000), "of 300,000 announced bytes|contradicts itself about the size"),
    ],
    ids=["404", "403", "html", "500-forever", "lying-length"],
)
def test_http_errors_are_plain_words(tmp_path, files, served, message):
    url = files.add(served)
    with pytest.raises(DownloadError, match=message) as caught:
        download(url, to=tmp_path, options=FAST)
    assert caught.value.fix
    assert not (tmp_path / served.name).exists()  # nothing under the final name


def test_retries_429_and_503_then_succeeds(tmp_path, files):
    data = lora_bytes(seed=5)
    url = files.add(Served(data, name="r.safetensors", statuses=[429, 503]))
    seen, emitter = _events()
    result = download(url, to=tmp_path, options=FAST, emitter=emitter)
    assert (tmp_path / "r.safetensors").read_bytes() == data and result.sha256 == hashlib.sha256(data).hexdigest()
    assert sum("retrying" in str(e.data.get("message", "")) for e in seen) == 2


def test_dropped_connections_resume_with_range(tmp_path, files):
    data = lora_bytes(numel=600_000, seed=6)
    url = files.add(Served(data, name="d.safetensors", drop_after=500_000, drops=2))
    download(url, to=tmp_path, options=FAST)
    assert hashlib.sha256((tmp_path / "d.safetensors").read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()
    # The file's requests; the one to "/" before them is the quick check that the server can be reached.
    tries = [r for r in files.server.requests if r["path"] != "/"]
    ranges = [r["headers"].get("Range") for r in tries]
    assert ranges == [None, "bytes=500000-", "bytes=1000000-"]
    assert all(r["headers"].get("If-Range") for r in tries[1:])


@pytest.mark.parametrize("why", ["server-ignores-ranges", "file-changed"])
def test_resume_restarts_cleanly_when_it_cannot_continue(tmp_path, files, why):
    data = lora_bytes(seed=7)
    served = Served(data, name="c.safetensors", ranges=why != "server-ignores-ranges")
    url = files.add(served)
    # A leftover partial download whose bytes are NOT a prefix of the current file.
    (tmp_path / "c.safetensors.part").write_bytes(b"\0" * 1000)
    (tmp_path / "c.safetensors.part.json").write_text(f'{{"url": "{url}", "sha256": null, "etag": "\\"old\\""}}')
    download(url, to=tmp_path, options=FAST)
    assert (tmp_path / "c.safetensors").read_bytes() == data


def test_free_space_is_checked_first(tmp_path, files, monkeypatch):
    url = files.add(Served(lora_bytes(seed=8), name="big.safetensors"))
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 1000, 1000))
    with pytest.raises(DownloadError, match=r"Not enough free disk space.*needs 1\.\d MB") as caught:
        download(url, to=tmp_path, options=FAST)
    assert "Free at least" in caught.value.fix
    assert not (tmp_path / "big.safetensors").exists()


def test_disk_full_midway_keeps_the_part_and_resumes(tmp_path, files, monkeypatch):
    data = lora_bytes(numel=400_000, seed=9)
    url = files.add(Served(data, name="full.safetensors"))
    real_open = open

    class FullDisk(io.RawIOBase):
        def __init__(self, f):
            self.f, self.written = f, 0

        def write(self, b):
            if self.written + len(b) > 300_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(b)
            return self.f.write(b)

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(
        transfer, "open", lambda p, mode="r", *a, **k: FullDisk(real_open(p, mode, *a, **k)), raising=False
    )
    with pytest.raises(DownloadError, match="disk filled up") as caught:
        download(url, to=tmp_path, options=FAST)
    assert "resumes" in caught.value.fix
    kept = (tmp_path / "full.safetensors.part").stat().st_size
    assert 0 < kept <= 300_000 and data.startswith((tmp_path / "full.safetensors.part").read_bytes())
    assert not (tmp_path / "full.safetensors").exists()
    monkeypatch.undo()
    download(url, to=tmp_path, options=FAST)
    assert (tmp_path / "full.safetensors").read_bytes() == data
    assert files.server.requests[-1]["headers"]["Range"] == f"bytes={kept}-"


def test_parallel_ranges_for_large_files(tmp_path, files):
    data = lora_bytes(numel=500_000, seed=10)
    url = files.add(Served(data, name="p.safetensors"))
    options = TransferOptions(backoff_s=0.01, connections=4, parallel_min_bytes=100_000, min_range_bytes=100_000)
    seen, emitter = _events()
    result = download(url, to=tmp_path, options=options, emitter=emitter)
    assert (tmp_path / "p.safetensors").read_bytes() == data and result.sha256 == hashlib.sha256(data).hexdigest()
    ranges = sorted(r["headers"]["Range"] for r in files.server.requests if r["headers"].get("Range"))
    assert len(ranges) == 4 and ranges[0].startswith("bytes=0-")
    progress = [e.data for e in seen if e.type == PROGRESS]
    assert progress[-1]["done"] == len(data) == progress[-1]["total"]


def test_stop_command_keeps_the_part(tmp_path, files):
    data = lora_bytes(seed=11)
    url = files.add(Served(data, name="s.safetensors"))
    commands = Commands()
    commands.request(STOP)
    with pytest.raises(Stopped, match="stopped"):
        download(url, to=tmp_path, options=FAST, commands=commands)
    assert (tmp_path / "s.safetensors.part").exists() and not (tmp_path / "s.safetensors").exists()
    download(url, to=tmp_path, options=FAST)
    assert (tmp_path / "s.safetensors").read_bytes() == data


def test_plain_link_without_a_file_name_uses_content_disposition(tmp_path, files):
    data = lora_bytes(seed=12)
    served = Served(data, name="nice name.safetensors")
    files.server.route("*", r"/get", lambda h, m, match, q: serve_file(h, m, served))
    result = download(f"{files.server.url}/get?id=7", to=tmp_path, options=FAST)
    assert result.path == str(tmp_path / "nice name.safetensors")
    assert (tmp_path / "nice name.safetensors").read_bytes() == data


def test_one_downloader_per_file(tmp_path, files):
    import subprocess
    import sys

    data = lora_bytes(seed=13)
    url = files.add(Served(data, name="locked.safetensors"))
    # A live process holds the lock: refuse, and leave its partial file alone.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "locked.safetensors.part.lock").write_text(str(sleeper.pid))
        with pytest.raises(DownloadError, match="already being downloaded"):
            download(url, to=tmp_path, options=FAST)
    finally:
        sleeper.kill()
        sleeper.wait()
    # Its owner is gone: the stale lock is taken over.
    download(url, to=tmp_path, options=FAST)
    assert (tmp_path / "locked.safetensors").read_bytes() == data
    assert not (tmp_path / "locked.safetensors.part.lock").exists()
