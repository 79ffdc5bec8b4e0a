"""Hashes: A1111 short/legacy hashes and sd-scripts' sshs_* hashes, checked against the definitions."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
import safetensors.torch
import torch

from lorakit.models.hashes import (
    HashCache,
    legacy_hash_file,
    sha256_file,
    short_hash,
    sshs_hashes,
    sshs_hashes_of_bytes,
    sshs_hashes_of_file,
)


def reference_sshs(tensors, metadata):
    """sd-scripts' definition, restated: serialize with ss_* metadata only, then hash the blob."""
    blob = safetensors.torch.save(tensors, {k: v for k, v in metadata.items() if k.startswith("ss_")})
    b = io.BytesIO(blob)
    n = int.from_bytes(b.read(8), "little")
    b.seek(8 + n)
    model = hashlib.sha256(b.read()).hexdigest()
    b.seek(0x100000)
    legacy = hashlib.sha256(b.read(0x10000)).hexdigest()[:8]
    return model, legacy


@pytest.mark.parametrize("numel", [10, 300_000, 2_000_000])
def test_sshs_hashes_match_sd_scripts_definition(tmp_path, numel):
    g = torch.Generator().manual_seed(numel)
    tensors = {
        "lora_unet_x.lora_down.weight": torch.randn(numel // 10 + 1, generator=g).to(torch.float16),
        "lora_unet_x.lora_up.weight": torch.randn(numel, generator=g),
        "lora_unet_x.alpha": torch.tensor(4.0),
    }
    metadata = {"ss_network_dim": "8", "ss_tag_frequency": '{"a": {"b": 1}}', "modelspec.title": "ünïcode\n"}
    expected = reference_sshs(tensors, metadata)
    assert sshs_hashes(tensors, metadata) == expected
    # A file saved with *all* metadata (and any key order) hashes the same.
    path = tmp_path / "x.safetensors"
    safetensors.torch.save_file(tensors, str(path), metadata | {"modelspec.date": "2026"})
    assert sshs_hashes_of_file(path) == expected
    assert sshs_hashes_of_bytes(path.read_bytes()) == expected


def test_sshs_legacy_when_header_is_over_one_mebibyte():
    tensors = {"w": torch.arange(400_000, dtype=torch.float32)}
    metadata = {"ss_tag_frequency": "x" * 1_100_000}  # one key: safetensors' key order cannot vary
    assert sshs_hashes(tensors, metadata) == reference_sshs(tensors, metadata)


def test_a1111_hashes(tmp_path):
    data = os.urandom(0x100000 + 0x20000)
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    full = hashlib.sha256(data).hexdigest()
    assert sha256_file(path) == full
    assert short_hash(full) == full[:10]
    assert legacy_hash_file(path) == hashlib.sha256(data[0x100000:0x110000]).hexdigest()[:8]
    small = tmp_path / "small.bin"
    small.write_bytes(b"abc")
    assert legacy_hash_file(small) == hashlib.sha256(b"").hexdigest()[:8]


def test_hash_cache_computes_once_and_notices_changes(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    safetensors.torch.save_file({"w": torch.ones(4)}, str(path))
    cache = HashCache(tmp_path / "hashes.json")
    first = cache.get(path)
    assert first == hashlib.sha256(path.read_bytes()).hexdigest()
    assert cache.get(path, "short") == first[:10]

    calls = []
    import lorakit.models.hashes as hashes

    real = hashes.sha256_file
    monkeypatch.setattr(hashes, "sha256_file", lambda *a, **k: calls.append(a) or real(*a, **k))
    # A fresh cache object reads the JSON file: no recomputation.
    assert HashCache(tmp_path / "hashes.json").get(path) == first
    assert calls == []
    # The file changes: size differs, so the hash is recomputed.
    safetensors.torch.save_file({"w": torch.zeros(8)}, str(path))
    again = HashCache(tmp_path / "hashes.json").get(path)
    assert len(calls) == 1 and again == hashlib.sha256(path.read_bytes()).hexdigest() != first
    assert cache.get(path, "sshs_model") == sshs_hashes_of_file(path)[0]
