"""The Utilities page's API: inspect with per-block figures, a plain error for a file that is no LoRA, the model
card preview, bake as a job, resize as a job writing a file."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).parent))
from lora_files import write_tiny_lora

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lora_path(workspace) -> str:
    rel = "models/loras/util-mira.safetensors"
    write_tiny_lora(workspace.root / rel, rank=8, seed=1)
    return rel


def test_inspect_gives_metadata_tags_and_blocks(client, lora_path):
    answer = client.get("/api/lora/inspect", params={"path": lora_path})
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["path"] == lora_path
    assert report["trigger_words"] == ["mira"]
    assert report["top_tags"][:2] == [{"tag": "mira", "count": 12}, {"tag": "red hair", "count": 9}]
    assert report["training"]["steps done"] == "120"
    assert report["ranks"] == {"8": len(report["modules"])}
    blocks = report["blocks"]
    assert [b["order"] for b in blocks] == sorted(b["order"] for b in blocks)
    assert sum(b["modules"] for b in blocks) == len(report["modules"])
    assert {b["block"] for b in blocks} >= {"MID", "TE L00"}
    assert any(b["block"].startswith("IN") for b in blocks) and any(b["block"].startswith("OUT") for b in blocks)
    # A block's strength is the norm of its modules' changes together.
    te0 = [m["strength"] for m in report["modules"] if "text_model_encoder_layers_0_" in m["name"]]
    block = next(b for b in blocks if b["block"] == "TE L00")
    assert block["modules"] == len(te0)
    assert block["strength"] == pytest.approx(math.sqrt(sum(s * s for s in te0)), rel=1e-6)


def test_a_file_that_is_no_lora_is_a_plain_error(client, workspace):
    (workspace.root / "models/loras/broken.safetensors").write_bytes(b"this is not a safetensors file at all")
    answer = client.get("/api/lora/inspect", params={"path": "models/loras/broken.safetensors"})
    assert 400 <= answer.status_code < 500, answer.text
    error = answer.json()["error"]
    assert error["message"] and error["fix"]
    assert "Traceback" not in answer.text
    missing = client.get("/api/lora/inspect", params={"path": "models/loras/nothing.safetensors"})
    assert missing.status_code == 404 and missing.json()["error"]["fix"]


def test_card_preview_needs_no_token_and_carries_the_options(client, workspace, lora_path):
    body = {"lora": lora_path, "repo_id": "someone/mira", "title": "Mira", "description": "Red hair, always."}
    answer = client.post("/api/lora/card", json=body)
    assert answer.status_code == 200, answer.text
    card = answer.json()["card"]
    assert card.startswith("---\n") and 'instance_prompt: "mira"' in card
    assert "# Mira\n" in card and "Red hair, always." in card
    assert "/someone/mira/blob/main/util-mira.safetensors" in card
    assert "| red hair | 9 |" in card
    (workspace.root / "outputs").mkdir(exist_ok=True)
    (workspace.root / "outputs/util-sample.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    (workspace.root / "outputs/util-notes.txt").write_text("not an image")
    with_image = {**body, "images": [["outputs/util-sample.png", "mira, smiling"]]}
    card = client.post("/api/lora/card", json=with_image).json()["card"]
    assert '- text: "mira, smiling"' in card and 'url: "images/00_util-sample.png"' in card
    not_image = client.post("/api/lora/card", json={**body, "images": [["outputs/util-notes.txt", ""]]})
    assert 400 <= not_image.status_code < 500 and not_image.json()["error"]["fix"]
    bad = client.post("/api/lora/card", json={"lora": "models/loras/none.safetensors", "repo_id": "a/b"})
    assert bad.status_code == 404 and bad.json()["error"]["field"] == "lora"


def test_upload_job_takes_an_edited_card(client, runner, lora_path):
    # No token is saved: the job fails with the plain token error, but the card was accepted as a parameter.
    job = client.post("/api/lora/upload", json={"lora": lora_path, "repo_id": "a/b", "card": "# Mine\n"})
    assert job.status_code == 201, job.text
    assert job.json()["params"]["card"] == "# Mine\n"
    done = runner.wait(job.json()["id"], 60)
    assert done.state == "failed" and "token" in done.error["message"]


def _checkpoint(folder: Path) -> dict[str, torch.Tensor]:
    """A single-file SD1 checkpoint holding the tiny model's text encoder (its keys as A1111 files have them)."""
    from transformers import CLIPTextModel

    from lorakit.models.tiny import build_tiny_model

    model = build_tiny_model("sd1", folder / "tiny")
    encoder = CLIPTextModel.from_pretrained(str(model / "text_encoder"))
    # transformers 5 names the weights without the "text_model." that single-file checkpoints keep.
    prefix = "cond_stage_model.transformer.text_model."
    tensors = {prefix + k.removeprefix("text_model."): v.float() for k, v in encoder.state_dict().items()}
    tensors["model.diffusion_model.out.2.weight"] = torch.randn(4, 32, 3, 3)
    return tensors


def test_bake_job_adds_the_lora_to_the_checkpoint(client, runner, workspace, tmp_path):
    tensors = _checkpoint(tmp_path)
    save_file(tensors, str(workspace.root / "models/checkpoints/util-base.safetensors"))
    # Text-encoder modules only: bake maps UNet names with the real SD1 layout, which the tiny UNet does not have.
    from lorakit.lora.modules import read_lora, write_lora

    full = read_lora(write_tiny_lora(tmp_path / "full.safetensors", rank=4, seed=2))
    te = {
        f"{name}.{suffix}": value
        for name, module in full.modules.items()
        if name.startswith("lora_te_")
        for suffix, value in module.tensors.items()
    }
    write_lora(workspace.root / "models/loras/util-te.safetensors", te, {})

    refused = client.post(
        "/api/lora/bake",
        json={
            "checkpoint": "models/checkpoints/util-base.safetensors",
            "loras": [["models/loras/util-te.safetensors", 0.5]],
            "output": "models/checkpoints/util-base.safetensors",
        },
    )
    assert refused.status_code == 422 and refused.json()["error"]["fix"]

    job = client.post(
        "/api/lora/bake",
        json={
            "checkpoint": "models/checkpoints/util-base.safetensors",
            "loras": [["models/loras/util-te.safetensors", 0.5]],
            "precision": "fp32",
        },
    )
    assert job.status_code == 201, job.text
    done = runner.wait(job.json()["id"], 120)
    assert done.state == "completed", done.error
    assert done.result["output"] == "models/checkpoints/util-base-baked.safetensors"
    with safe_open(str(workspace.root / done.result["output"]), framework="pt") as f:
        baked = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    assert set(baked) == set(tensors)
    torch.testing.assert_close(
        baked["model.diffusion_model.out.2.weight"], tensors["model.diffusion_model.out.2.weight"]
    )
    name = "lora_te_text_model_encoder_layers_0_self_attn_q_proj"
    key = "cond_stage_model.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight"
    expected = tensors[key] + 0.5 * full.modules[name].delta().float()
    torch.testing.assert_close(baked[key], expected, atol=1e-4, rtol=1e-4)


def test_resize_job_writes_the_smaller_lora_with_its_energy_report(client, runner, workspace, lora_path):
    job = client.post(
        "/api/lora/resize",
        json={"source": lora_path, "output": "models/loras/util-mira-r2.safetensors", "rank": 2, "device": "cpu"},
    )
    assert job.status_code == 201, job.text
    done = runner.wait(job.json()["id"], 120)
    assert done.state == "completed", done.error
    assert done.result["output"] == "models/loras/util-mira-r2.safetensors"
    assert 0 < done.result["min_retained_fro"] <= done.result["mean_retained_fro"] < 1
    resized = client.get("/api/lora/inspect", params={"path": done.result["output"]}).json()
    assert resized["ranks"] == {"2": len(resized["modules"])}
