"""Hugging Face downloads through huggingface_hub against a loopback Hub (resolve redirects, LFS headers)."""

from __future__ import annotations

import hashlib
import json

import pytest

from lorakit import credentials
from lorakit.errors import DownloadError
from lorakit.events import PROGRESS, Emitter
from lorakit.models.download import download
from lorakit.models.download_hf import choose_files

from .test_download import lora_bytes


def test_file_link_lands_in_the_right_library_folder(tmp_path, hub):
    data = lora_bytes(seed=20)
    hub.add("artist/style-lora", {"README.md": b"# hi", "style.safetensors": data})
    seen = []
    result = download(
        "https://huggingface.co/artist/style-lora/blob/main/style.safetensors",
        tmp_path / "models",
        hf_endpoint=hub.url,
        emitter=Emitter(callbacks=[seen.append]),
    )
    final = tmp_path / "models" / "loras" / "style.safetensors"
    assert result.path == str(final) and final.read_bytes() == data and result.kind == "lora"
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert any(e.type == PROGRESS and e.data["done"] == len(data) for e in seen)
    # huggingface_hub followed the resolve -> CDN redirect.
    assert hub.cdn.requests and all("Authorization" not in r["headers"] for r in hub.cdn.requests)


def test_diffusers_repo_downloads_a_folder_without_duplicates_or_pickles(tmp_path, hub):
    index = {"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"]}
    hub.add(
        "org/tiny-sd",
        {
            "model_index.json": json.dumps(index).encode(),
            "unet/config.json": b'{"cross_attention_dim": 768}',
            "unet/diffusion_pytorch_model.safetensors": lora_bytes(seed=21),
            "unet/diffusion_pytorch_model.fp16.safetensors": lora_bytes(seed=22),
            "unet/diffusion_pytorch_model.bin": b"pickle",
            "v1-5-pruned.safetensors": lora_bytes(seed=23),
            "scheduler/scheduler_config.json": b'{"prediction_type": "epsilon"}',
        },
    )
    result = download("https://huggingface.co/org/tiny-sd", tmp_path / "models", hf_endpoint=hub.url)
    folder = tmp_path / "models" / "checkpoints" / "tiny-sd"
    assert result.path == str(folder) and result.kind == "diffusers"
    got = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts)
    assert got == [
        "model_index.json",
        "scheduler/scheduler_config.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
    ]


def test_repo_choice_rules():
    assert choose_files({"a.safetensors": 1, "README.md": 1}) == ("file", ["a.safetensors"])
    with pytest.raises(DownloadError, match="several checkpoints") as caught:
        choose_files({"a.safetensors": 1, "b.safetensors": 1})
    assert "blob/main" in caught.value.fix
    with pytest.raises(DownloadError, match="only pickle files"):
        choose_files({"model.ckpt": 1})
    _, files = choose_files({"model_index.json": 1, "vae/x.fp16.safetensors": 1, "vae/config.json": 1})
    assert files == ["model_index.json", "vae/x.fp16.safetensors", "vae/config.json"]  # the only copy is kept


def test_gated_private_and_missing(tmp_path, hub):
    data = lora_bytes(seed=24)
    hub.add("corp/gated", {"m.safetensors": data})
    hub.gated.add("corp/gated")
    with pytest.raises(DownloadError, match="gated model") as caught:
        download("https://huggingface.co/corp/gated", tmp_path, hf_endpoint=hub.url)
    assert "lorakit models token hf" in caught.value.fix
    with pytest.raises(DownloadError, match="no repository corp/nothing"):
        download("https://huggingface.co/corp/nothing", tmp_path, hf_endpoint=hub.url)
    credentials.set_token("hf", "hf_secrettoken9876")
    with pytest.raises(DownloadError, match=r"no file other\.safetensors"):
        download("https://huggingface.co/corp/gated/blob/main/other.safetensors", tmp_path, hf_endpoint=hub.url)

    result = download("https://huggingface.co/corp/gated", tmp_path, hf_endpoint=hub.url)
    assert (tmp_path / "loras" / "m.safetensors").read_bytes() == data and result.sha256
    sent = [r for r in hub.server.requests if r["headers"].get("Authorization")]
    assert sent and all(r["headers"]["Authorization"] == "Bearer hf_secrettoken9876" for r in sent)
    assert all("hf_secrettoken9876" not in r["query"] + r["path"] for r in hub.server.requests)
