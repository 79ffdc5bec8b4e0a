"""Caches that keep the VAE and the text encoders out of most training steps.

Latents are keyed by the image's content hash, its bucket/resize/crop, whether it was flipped and
the VAE's identity, so changing the image, its bucket or the VAE makes a new entry instead of a wrong
hit. They live in memory, and on disk too when asked (``<cache_dir>/<key>.safetensors``, written
atomically, so an interrupted run reuses them). Text-encoder outputs are keyed by the exact caption
and the encoder's identity; they are only used when the caption is the same every epoch and the text
encoders are not trained.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

from lorakit.fileio import atomic_write_bytes
from lorakit.train.data import Example


def module_identity(module: torch.nn.Module) -> str:
    """A short hash of a module's config and weights: a new VAE (or a fine-tuned one) gets a new identity."""
    digest = hashlib.sha1()
    config = getattr(module, "config", None)
    if config is not None:
        as_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)  # transformers vs diffusers
        digest.update(json.dumps(as_dict, sort_keys=True, default=str).encode())
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


class _Store:
    """A dict of tensors with an optional safetensors folder behind it."""

    def __init__(self, folder: str | os.PathLike | None):
        self.memory: dict[str, dict[str, torch.Tensor]] = {}
        self.folder = Path(folder) if folder else None
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> dict[str, torch.Tensor] | None:
        found = self.memory.get(key)
        if found is None and self.folder is not None:
            path = self.folder / f"{key}.safetensors"
            if path.exists():
                from safetensors.torch import load_file

                try:
                    found = load_file(str(path))
                    self.memory[key] = found
                except Exception:  # a damaged cache file is recomputed, never trusted
                    found = None
        if found is None:
            self.misses += 1
        else:
            self.hits += 1
        return found

    def put(self, key: str, tensors: dict[str, torch.Tensor]) -> None:
        tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
        self.memory[key] = tensors
        if self.folder is not None:
            from safetensors.torch import save

            atomic_write_bytes(self.folder / f"{key}.safetensors", save(tensors))


class LatentCache(_Store):
    """Latents by (image content, placement, flip, VAE)."""

    def __init__(self, vae_identity: str, folder: str | os.PathLike | None = None):
        super().__init__(folder)
        self.vae_identity = vae_identity
        self._content: dict[Path, tuple[tuple[int, int], str]] = {}

    def _content_hash(self, path: Path) -> str:
        stat = path.stat()
        stamp = (stat.st_size, stat.st_mtime_ns)
        known = self._content.get(path)
        if known is None or known[0] != stamp:
            known = (stamp, hashlib.sha1(path.read_bytes()).hexdigest())
            self._content[path] = known
        return known[1]

    def key(self, example: Example, flipped: bool) -> str:
        p = example.placement
        parts = [self._content_hash(example.path), p.bucket, p.resized, p.crop_box, flipped, self.vae_identity]
        parts.append(example.subset.alpha_mask)
        if example.masked_loss:  # the mask is part of the entry: a changed mask file makes a new one
            mask = example.mask_path
            parts += ["masked", self._content_hash(mask) if mask is not None else None]
        return hashlib.sha1(repr(parts).encode()).hexdigest()


class TextCache(_Store):
    """Text-encoder outputs by (caption, encoder identity, clip skip, token length)."""

    def __init__(self, encoder_identity: str, folder: str | os.PathLike | None = None):
        super().__init__(folder)
        self.encoder_identity = encoder_identity

    def key(self, caption: str, clip_skip: int, max_token_length: int) -> str:
        return hashlib.sha1(repr((caption, clip_skip, max_token_length, self.encoder_identity)).encode()).hexdigest()
