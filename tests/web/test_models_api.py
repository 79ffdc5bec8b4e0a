"""The Models page's API: the library with what detection says, downloads as jobs from loopback servers (a
plain link, Civitai without the token it needs, stop and resume), links refused in plain words."""

from __future__ import annotations

import time

import pytest

from lorakit.events import PROGRESS
from tests.models.servers import CivitaiServer, HubServer, LoopbackServer, Served, serve_file
from tests.models.test_download import lora_bytes


@pytest.fixture
def files():
    """A plain file server on 127.0.0.1: ``add(Served)`` returns the file's link."""
    server = LoopbackServer()
    table: dict[str, Served] = {}
    server.route("*", r"/f/(.+)", lambda h, m, match, q: serve_file(h, m, table[match.group(1)]))

    def add(served: Served) -> str:
        table[served.name] = served
        return f"{server.url}/f/{served.name}"

    add.server = server
    yield add
    server.close()


def _submit(client, link: str, **extra) -> dict:
    r = client.post("/api/models/download", json={"link": link, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_download_lands_in_the_library_with_its_family(client, runner, files):
    data = lora_bytes(seed=1)
    job = _submit(client, files(Served(data, name="web-lora.safetensors")))
    done = runner.wait(job["id"], timeout=120)
    assert done.state == "completed", done.error
    assert done.result["path"] == "models/loras/web-lora.safetensors" and done.result["kind"] == "lora"
    assert any(e.type == PROGRESS and e.data["unit"] == "B" for e in runner.events(job["id"]))

    listed = client.get("/api/models", params={"folder": "loras"}).json()
    entry = next(e for e in listed if e["path"] == "models/loras/web-lora.safetensors")
    info = entry["info"]
    assert entry["folder"] == "loras" and entry["problem"] is None
    assert info["kind"] == "lora" and info["family"] == "sdxl" and info["label"] == "SDXL LoRA"
    assert info["rank"] == 8 and info["precision"] == "fp32" and info["file_size"] == len(data)
    assert not info["path"].startswith("/")  # workspace-relative, like every path the API gives
    detected = client.get("/api/models/detect", params={"path": entry["path"]}).json()
    assert detected["family"] == "sdxl" and detected["base_source"]


def test_private_civitai_file_without_a_token_says_so(client, runner, monkeypatch):
    civitai = CivitaiServer()
    try:
        civitai.add(7, 70, Served(lora_bytes(seed=2), name="private.safetensors"))
        civitai.needs_token.add(70)
        monkeypatch.setenv("LORAKIT_CIVITAI_URL", civitai.api.url)  # the worker inherits it, as from `serve`
        for env in ("CIVITAI_TOKEN", "CIVITAI_API_KEY"):
            monkeypatch.delenv(env, raising=False)
        job = _submit(client, "https://civitai.com/models/7?modelVersionId=70")
        failed = runner.wait(job["id"], timeout=120)
        assert failed.state == "failed"
        assert failed.error["code"] == "token_required" and failed.error["field"] == "civitai"
        assert "without a token" in failed.error["message"] and "civitai.com/user/account" in failed.error["fix"]
        assert not any(r["headers"].get("Authorization") for r in civitai.api.requests)

        # With the token saved through the settings API, the same link downloads.
        token = "civitai-secret-token-1234"
        assert client.put("/api/settings/credentials/civitai", json={"token": token}).json()["set"] is True
        ok = runner.wait(_submit(client, "https://civitai.com/models/7?modelVersionId=70")["id"], timeout=120)
        assert ok.state == "completed", ok.error
        assert ok.result["path"] == "models/loras/private.safetensors"
        client.delete("/api/settings/credentials/civitai")
    finally:
        civitai.close()


def test_stopped_download_keeps_its_part_and_a_retry_resumes(client, runner, files, workspace):
    data = lora_bytes(numel=1_000_000, seed=3)  # about 4 MB: 60-odd blocks of 64 KiB
    served = Served(data, name="big-lora.safetensors", hold_after=1 << 20)
    job = _submit(client, files(served))
    deadline = time.monotonic() + 60
    while served.sent < 1 << 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served.sent >= 1 << 20, "the download never started"
    assert client.post(f"/api/jobs/{job['id']}/command", json={"command": "stop"}).status_code == 200
    time.sleep(0.3)  # let the command land before data flows again (the downloader looks at most every 0.2 s)
    served.release.set()
    stopped = runner.wait(job["id"], timeout=60)
    assert stopped.state == "stopped", (stopped.state, stopped.error)
    assert "stopped" in stopped.result["message"]
    parts = list((workspace.models / "downloads").glob("big-lora.safetensors.part"))
    assert parts and 0 < parts[0].stat().st_size < len(data)

    retry = client.post(f"/api/jobs/{job['id']}/retry")
    assert retry.status_code in (200, 201), retry.text
    resumed = runner.wait(retry.json()["id"], timeout=120)
    assert resumed.state == "completed", resumed.error
    assert resumed.result["sha256"] == served.sha256 and resumed.result["path"] == "models/loras/big-lora.safetensors"
    assert any(r["headers"].get("Range", "").startswith("bytes=") for r in files.server.requests)


@pytest.mark.parametrize(
    ("link", "words"),
    [
        ("ftp://example.com/model.safetensors", "ftp: links are not downloadable"),
        ("http://example.com/model.safetensors", "plain http:// is not encrypted"),
        ("https://civitai.com/user/someone", "not a model page or download link"),
        ("https://huggingface.co/datasets/a/b", "dataset or Space"),
        ("just some words", "not a web address"),
    ],
)
def test_unusable_links_are_refused_before_a_job_starts(client, runner, link, words):
    before = len(runner.list(kind="download", limit=1000))
    r = client.post("/api/models/download", json={"link": link})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["field"] == "link" and words in error["message"] and "Civitai" in error["fix"]
    assert len(runner.list(kind="download", limit=1000)) == before


def test_service_tokens_say_set_and_never_show_the_secret(client, monkeypatch):
    for env in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(env, raising=False)
    before = {c["service"]: c for c in client.get("/api/settings/credentials").json()}
    assert before["huggingface"] == {"service": "huggingface", "set": False, "source": None, "masked": "(not set)"}
    secret = "hf_SECRETsecretSECRET9876"
    saved = client.put("/api/settings/credentials/huggingface", json={"token": secret})
    assert saved.json() == {"service": "huggingface", "set": True, "source": "settings file", "masked": "hf_…9876"}
    assert secret not in client.get("/api/settings/credentials").text
    cleared = client.delete("/api/settings/credentials/huggingface").json()
    assert cleared["set"] is False and cleared["masked"] == "(not set)"


def test_gated_hugging_face_repo_without_a_token_says_so(client, runner, monkeypatch):
    hub = HubServer()
    try:
        hub.add("org/gated", {"model.safetensors": lora_bytes(seed=4)})
        hub.gated.add("org/gated")
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        for env in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"):
            monkeypatch.delenv(env, raising=False)
        job = _submit(client, "https://huggingface.co/org/gated/blob/main/model.safetensors")
        failed = runner.wait(job["id"], timeout=120)
        assert failed.state == "failed"
        assert failed.error["code"] == "token_required" and failed.error["field"] == "huggingface"
        assert "gated" in failed.error["message"]
    finally:
        hub.close()


def test_the_page_and_the_server_agree_on_which_links_work():
    """The Models page checks a link before sending it (frontend/src/features/models/links.ts); the same
    examples, read by its tests too, must get the same answer from the server's parse_link."""
    import json
    from pathlib import Path

    from lorakit.errors import DownloadError
    from lorakit.models.links import parse_link

    examples = json.loads(
        (Path(__file__).parents[2] / "frontend/src/features/models/link-examples.json").read_text(encoding="utf-8")
    )
    for link, source in examples["accepted"].items():
        assert parse_link(link).source == source, link
    for link in examples["refused"]:
        with pytest.raises(DownloadError):
            parse_link(link)
