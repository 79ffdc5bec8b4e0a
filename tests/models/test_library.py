"""The model library (listing, cached detection, inspect, verify) and the `lorakit models` commands."""

from __future__ import annotations

import json
import os

import safetensors.torch
import torch
from typer.testing import CliRunner

from lorakit.cli.main import app
from lorakit.models import library as library_module
from lorakit.models.hashes import sshs_hashes
from lorakit.models.library import ModelLibrary, verify

from . import layouts
from .servers import LoopbackServer, Served, serve_file
from .test_download import lora_bytes

runner = CliRunner()


def _library(tmp_path):
    root = tmp_path / "models"
    for folder in ("checkpoints", "loras", "vae"):
        (root / folder).mkdir(parents=True)
    layouts.write_sparse(root / "checkpoints" / "sd15.safetensors", layouts.sd_checkpoint("sd1"))
    diffusers = root / "checkpoints" / "my-sdxl"
    (diffusers / "unet").mkdir(parents=True)
    (diffusers / "model_index.json").write_text(
        '{"_class_name": "StableDiffusionXLPipeline", "text_encoder": ["t", "C"]}'
    )
    (diffusers / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(lora_bytes(seed=1))  # not listed alone
    (root / "loras" / "style.safetensors").write_bytes(lora_bytes(seed=2))
    (root / "loras" / "half.safetensors.part").write_bytes(b"partial")
    (root / "loras" / "notes.txt").write_text("not a model")
    (root / "vae" / "broken.safetensors").write_bytes(b"\x00" * 4)
    return root


def test_listing_detects_caches_and_reports_problems(tmp_path, monkeypatch):
    root = _library(tmp_path)
    entries = ModelLibrary(root).entries()
    listed = [(e.folder, e.path.name, e.info.kind if e.info else None) for e in entries]
    assert listed == [
        ("checkpoints", "my-sdxl", "diffusers"),
        ("checkpoints", "sd15.safetensors", "checkpoint"),
        ("vae", "broken.safetensors", None),
        ("loras", "style.safetensors", "lora"),
    ]
    assert "only 4 bytes" in entries[2].problem
    # A second listing answers from the cache file: detection runs again only for the diffusers folder
    # (cheap JSON reads, not cached) and the unreadable file (it may have been fixed since).
    calls = []
    real = library_module.detect
    monkeypatch.setattr(library_module, "detect", lambda p: calls.append(p.name) or real(p))
    again = ModelLibrary(root).entries()
    assert sorted(calls) == ["broken.safetensors", "my-sdxl"]
    assert again[3].info.family == "sdxl" and again[3].info.rank == 8


def test_verify_catches_damage_and_checks_lora_hashes(tmp_path):
    tensors = {"lora_unet_a.lora_down.weight": torch.randn(4, 64), "lora_unet_a.lora_up.weight": torch.randn(64, 4)}
    metadata = {"ss_network_dim": "4"}
    model_hash, legacy = sshs_hashes(tensors, metadata)
    path = tmp_path / "l.safetensors"
    safetensors.torch.save_file(
        tensors, str(path), metadata | {"sshs_model_hash": model_hash, "sshs_legacy_hash": legacy}
    )
    first = verify(path)
    assert first["ok"] and [c["check"] for c in first["checks"]] == ["header", "sshs_model_hash"]
    assert verify(path, first["sha256"].upper())["ok"] and not verify(path, "0" * 64)["ok"]
    # Flip one byte of tensor data, keeping size and modification time: bit rot, not an edit.
    st = path.stat()
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    damaged = verify(path)
    failed = {c["check"] for c in damaged["checks"] if not c["ok"]}
    assert not damaged["ok"] and failed == {"sha256 recorded", "sshs_model_hash"}


def test_cli_list_inspect_verify(tmp_path):
    root = _library(tmp_path)
    result = runner.invoke(app, ["models", "list", "-m", str(root), "--json"])
    assert result.exit_code == 0, result.output
    assert [e["info"]["label"] if e["info"] else None for e in json.loads(result.output)] == [
        "SDXL base diffusers",
        "SD 1.x checkpoint",
        None,
        "SDXL LoRA",
    ]
    table = runner.invoke(app, ["models", "list", "-m", str(root)])
    assert "SD 1.x checkpoint" in table.output and "unreadable" in table.output
    lora = root / "loras" / "style.safetensors"
    shown = json.loads(runner.invoke(app, ["models", "inspect", str(lora), "--hashes", "--json"]).output)
    assert shown["hashes"]["short"] == shown["hashes"]["sha256"][:10] and shown["rank"] == 8
    assert runner.invoke(app, ["models", "verify", str(lora)]).exit_code == 0
    bad = runner.invoke(app, ["models", "verify", str(lora), "--sha256", "ab" * 32])
    assert bad.exit_code == 1 and "✗ sha256 given" in bad.output


def test_cli_token_never_prints_the_secret(tmp_path):
    secret = "civitai0123456789abcdefZZZZ"
    result = runner.invoke(app, ["models", "token", "civitai", "--settings-dir", str(tmp_path)], input=secret + "\n")
    assert result.exit_code == 0 and secret not in result.output and "…ZZZZ" in result.output
    shown = runner.invoke(app, ["models", "token", "--settings-dir", str(tmp_path)])
    assert "civitai: …ZZZZ (from settings file)" in shown.output and secret not in shown.output
    assert (
        runner.invoke(app, ["models", "token", "civitai", "--delete", "--settings-dir", str(tmp_path)]).exit_code == 0
    )
    assert "civitai: (not set)" in runner.invoke(app, ["models", "token", "--settings-dir", str(tmp_path)]).output


def test_cli_download(tmp_path):
    data = lora_bytes(seed=3)
    server = LoopbackServer()
    server.route("*", r"/f/(.+)", lambda h, m, match, q: serve_file(h, m, Served(data, name="dl.safetensors")))
    try:
        result = runner.invoke(
            app, ["models", "download", f"{server.url}/f/dl.safetensors", "-m", str(tmp_path), "--json"]
        )
    finally:
        server.close()
    assert result.exit_code == 0, result.output
    done = json.loads(result.output[result.output.index("{") :])
    assert done["path"] == str(tmp_path / "loras" / "dl.safetensors") and done["kind"] == "lora"
    assert (tmp_path / "loras" / "dl.safetensors").read_bytes() == data
