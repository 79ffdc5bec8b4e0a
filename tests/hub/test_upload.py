"""Upload against a loopback server that speaks the Hub API huggingface_hub uses; the card's content checked."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import torch

from lorakit.hub.upload import HubError, upload_lora
from lorakit.lora.modules import write_lora

GOOD = "hf_goodtoken1234"
READ_ONLY = "hf_readonly5678"


class FakeHub:
    """The Hub endpoints huggingface_hub 2.x calls for whoami, create_repo and create_commit (regular files)."""

    def __init__(self):
        self.repos: dict[str, dict] = {}
        self.files: dict[str, dict[str, bytes]] = {}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _token(self):
                return self.headers.get("authorization", "").removeprefix("Bearer ")

            def do_GET(self):
                hub.requests.append(("GET", self.path))
                if self.path == "/api/whoami-v2":
                    if self._token() not in (GOOD, READ_ONLY):
                        return self._reply(401, {"error": "Invalid credentials in Authorization header"})
                    return self._reply(200, {"type": "user", "name": "mira", "auth": {}})
                return self._reply(404, {"error": "not found"})

            def do_POST(self):
                hub.requests.append(("POST", self.path))
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self._token() != GOOD:
                    return self._reply(
                        403, {"error": "You don't have the rights to create a model under this namespace"}
                    )
                if self.path == "/api/repos/create":
                    payload = json.loads(body)
                    repo = f"{payload.get('organization') or 'mira'}/{payload['name']}"
                    if repo in hub.repos:
                        # The real Hub names the existing repo's URL in its 409 reply; huggingface_hub reads it.
                        return self._reply(
                            409, {"error": "You already created this model repo", "url": f"{hub.endpoint}/{repo}"}
                        )
                    hub.repos[repo] = payload
                    return self._reply(200, {"url": f"{hub.endpoint}/{repo}"})
                if self.path == "/api/validate-yaml":
                    return self._reply(200, {"errors": [], "warnings": []})
                parts = self.path.split("?")[0].split("/")  # /api/models/<ns>/<name>/<action>/<rev>
                repo, action = f"{parts[3]}/{parts[4]}", parts[5]
                if repo not in hub.repos:
                    return self._reply(404, {"error": "Repository not found"})
                if action == "preupload":
                    files = json.loads(body)["files"]
                    return self._reply(
                        200,
                        {
                            "files": [
                                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files
                            ]
                        },
                    )
                if action == "commit":
                    assert self.headers["content-type"] == "application/x-ndjson"
                    lines = [json.loads(line) for line in body.decode().splitlines() if line]
                    assert lines[0]["key"] == "header"
                    stored = hub.files.setdefault(repo, {})
                    for line in lines[1:]:
                        assert line["key"] == "file" and line["value"]["encoding"] == "base64"
                        stored[line["value"]["path"]] = base64.b64decode(line["value"]["content"])
                    return self._reply(200, {"commitUrl": f"{hub.endpoint}/{repo}/commit/abc", "commitOid": "abc"})
                return self._reply(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hub():
    fake = FakeHub()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def lora(tmp_path):
    metadata = {
        "ss_base_model_version": "sdxl_base_v1-0",
        "ss_learning_rate": "0.0001",
        "ss_optimizer": "Prodigy",
        "ss_max_train_steps": "1600",
        "ss_tag_frequency": json.dumps({"10_mira": {"mira": 20, "red scarf": 9, "smile": 4}}),
        "ss_dataset_dirs": json.dumps({"10_mira": {"n_repeats": 10, "img_count": 20}}),
    }
    path = tmp_path / "mira.safetensors"
    write_lora(
        path,
        {
            "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.ones(2, 8),
            "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.ones(8, 2),
            "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha": torch.tensor(1.0),
        },
        metadata,
    )
    return path


def test_upload_creates_repo_and_commits_lora_images_and_card(tmp_path, hub, lora, monkeypatch):
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "settings"))
    monkeypatch.setenv("HF_TOKEN", GOOD)  # the stored-token path: from settings or the environment
    image = tmp_path / "sample.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    result = upload_lora(
        lora, "mira-lora", private=True, images=[(image, "mira, red scarf, smiling")], endpoint=hub.endpoint
    )
    assert result.repo_id == "mira/mira-lora"
    assert hub.repos["mira/mira-lora"]["visibility"] == "private"
    files = hub.files["mira/mira-lora"]
    assert set(files) == {"mira.safetensors", "images/00_sample.png", "README.md"}
    assert files["mira.safetensors"] == lora.read_bytes()
    assert files["images/00_sample.png"] == image.read_bytes()
    card = files["README.md"].decode()
    header = card.split("---")[1]
    assert 'base_model: "stabilityai/stable-diffusion-xl-base-1.0"' in header
    assert 'instance_prompt: "mira"' in header
    assert '- text: "mira, red scarf, smiling"' in header and 'url: "images/00_sample.png"' in header
    assert '"stable-diffusion-xl"' in header
    assert "| learning rate | 0.0001 |" in card and "| optimizer | Prodigy |" in card
    assert "| red scarf | 9 |" in card
    assert "pipe.load_lora_weights('mira/mira-lora', weight_name='mira.safetensors')" in card
    assert "- `mira, red scarf, smiling`" in card

    # A second upload to the same repo: it exists already (409), which is fine.
    again = upload_lora(lora, "mira/mira-lora", token=GOOD, endpoint=hub.endpoint, prompts=["mira at the beach"])
    assert again.commit_url.endswith("/commit/abc")
    assert "- `mira at the beach`" in hub.files["mira/mira-lora"]["README.md"].decode()


def test_upload_without_or_with_a_bad_token_is_a_clear_error(tmp_path, hub, lora, monkeypatch):
    monkeypatch.setenv("LORAKIT_HOME", str(tmp_path / "empty"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    with pytest.raises(HubError, match="no Hugging Face token") as missing:
        upload_lora(lora, "x", endpoint=hub.endpoint)
    assert "settings/tokens" in missing.value.fix
    assert hub.requests == []  # nothing sent without a token

    with pytest.raises(HubError, match="did not accept the token") as bad:
        upload_lora(lora, "x", token="hf_wrong_but_secret", endpoint=hub.endpoint)
    assert "hf_wrong_but_secret" not in str(bad.value)
    with pytest.raises(HubError, match="refused to write"):
        upload_lora(lora, "x", token=READ_ONLY, endpoint=hub.endpoint)
    assert hub.files == {}


def test_unreachable_hub_is_a_clear_error(tmp_path, lora):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HubError, match="Could not reach Hugging Face"):
        upload_lora(lora, "x", token=GOOD, endpoint=f"http://127.0.0.1:{port}")


def test_an_edited_card_is_sent_as_it_is_and_the_preview_matches_the_generated_one(tmp_path, hub, lora):
    from lorakit.hub.upload import preview_card

    preview = preview_card(lora, "mira/mira-lora", prompts=["mira at the beach"])
    upload_lora(lora, "mira/mira-lora", token=GOOD, endpoint=hub.endpoint, prompts=["mira at the beach"])
    assert hub.files["mira/mira-lora"]["README.md"].decode() == preview  # the preview is what would be sent

    edited = preview.replace("# mira", "# Mira, edited by hand") + "\nThanks to my cat.\n"
    upload_lora(lora, "mira/mira-lora", token=GOOD, endpoint=hub.endpoint, card=edited)
    assert hub.files["mira/mira-lora"]["README.md"].decode() == edited
