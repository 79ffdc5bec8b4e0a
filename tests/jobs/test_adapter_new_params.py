"""The options the CLI had and the job kinds lacked reach the job functions: extract's conv_rank, method,
value, clamp_quantile, text_encoder and precision; resize's and merge's precision; convert's arch; upload's
prompts, base_model and license."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from lorakit.jobs import adapters
from lorakit.jobs import params as P
from lorakit.workspace import Workspace


def _ctx(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    for name in ("base", "tuned", "a"):
        (ws.root / "models" / "loras").mkdir(parents=True, exist_ok=True)
        (ws.root / "models" / "loras" / f"{name}.safetensors").write_bytes(b"x")
    return SimpleNamespace(workspace=ws, set_run_dir=lambda path: None, emitter=None, commands=None)


def _capture(monkeypatch, target: str, result):
    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs, args=args)
        return result

    monkeypatch.setattr(target, fake)
    monkeypatch.setattr(adapters, "_forward", lambda ctx: None)
    return seen


def test_extract_job_passes_every_option(tmp_path, monkeypatch):
    seen = _capture(monkeypatch, "lorakit.lora.extract.extract_lora", {"m": {"retained_fro": 1.0}})
    params = P.ExtractParams(
        base="models/loras/base.safetensors", tuned="models/loras/tuned.safetensors", rank=8, conv_rank=4,
        method="sv_fro", value=0.9, clamp_quantile=1.0, text_encoder=False, device="cpu", precision="bf16",
    )  # fmt: skip
    adapters.extract(params, _ctx(tmp_path))
    assert (seen["rank"], seen["conv_rank"], seen["method"], seen["value"]) == (8, 4, "sv_fro", 0.9)
    assert seen["clamp_quantile"] == 1.0 and seen["text_encoder"] is False
    assert seen["device"] == "cpu" and seen["dtype"] == torch.bfloat16


def test_resize_and_merge_jobs_pass_the_precision(tmp_path, monkeypatch):
    report = SimpleNamespace(to_dict=lambda: {})
    seen = _capture(monkeypatch, "lorakit.lora.resize.resize_lora", report)
    ctx = _ctx(tmp_path)
    adapters.resize(P.ResizeParams(source="models/loras/a.safetensors", rank=2, precision="fp32"), ctx)
    assert seen["dtype"] == torch.float32
    adapters.resize(P.ResizeParams(source="models/loras/a.safetensors", rank=2), ctx)
    assert seen["dtype"] is None  # as the input
    seen = _capture(monkeypatch, "lorakit.lora.merge.merge_lora_files", (ctx.workspace.root / "m", None))
    adapters.merge(P.MergeParams(sources=[("models/loras/a.safetensors", 1.0)]), ctx)
    assert seen["dtype"] == torch.float16


def test_convert_job_passes_the_arch(tmp_path, monkeypatch):
    seen = _capture(monkeypatch, "lorakit.lora.convert.convert_lora", "out")
    adapters.convert(P.ConvertParams(source="models/loras/a.safetensors", arch="sdxl"), _ctx(tmp_path))
    assert seen["arch"] == "sdxl" and seen["args"][2] == "kohya"


def test_upload_job_passes_the_card_options(tmp_path, monkeypatch):
    seen = _capture(monkeypatch, "lorakit.hub.upload.upload_lora", SimpleNamespace(to_dict=lambda: {}))
    params = P.UploadParams(
        lora="models/loras/a.safetensors", repo_id="mira-lora", prompts=["mira, red scarf"],
        base_model="stabilityai/stable-diffusion-xl-base-1.0", license="openrail++",
    )  # fmt: skip
    adapters.upload(params, _ctx(tmp_path))
    assert seen["args"][1] == "mira-lora" and seen["prompts"] == ["mira, red scarf"]
    assert seen["base_model"] == "stabilityai/stable-diffusion-xl-base-1.0" and seen["license"] == "openrail++"
