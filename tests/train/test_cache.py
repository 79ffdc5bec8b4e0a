"""Latent cache keys: a changed image, bucket, flip or VAE is a miss; the disk cache survives a new run and
never trusts a damaged file."""

from __future__ import annotations

import torch

from lorakit.config.dataset import ResolvedSubset
from lorakit.data.buckets import BucketSet, BucketSettings
from lorakit.train.cache import LatentCache, module_identity
from lorakit.train.data import Example

from .conftest import make_dataset


def _example(path, width=64, height=64, resolution=64):
    placement = BucketSet(BucketSettings.square(resolution, min_bucket_reso=32, bucket_reso_steps=32)).place(
        width, height
    )
    subset = ResolvedSubset(image_dir=path.parent)
    return Example(path, "kitbot", False, 1, subset, placement)


def test_keys_change_with_image_bucket_flip_and_vae(tmp_path):
    image = make_dataset(tmp_path) / "2_kitbot" / "img_00.png"
    cache = LatentCache("vae-a")
    key = cache.key(_example(image), flipped=False)
    assert cache.key(_example(image), flipped=False) == key
    assert cache.key(_example(image), flipped=True) != key
    assert cache.key(_example(image, resolution=128), flipped=False) != key  # another bucket
    assert LatentCache("vae-b").key(_example(image), flipped=False) != key
    image.write_bytes((image.parent / "img_01.png").read_bytes())  # the picture was replaced
    assert cache.key(_example(image), flipped=False) != key


def test_disk_cache_round_trip_and_damaged_files(tmp_path):
    image = make_dataset(tmp_path / "data") / "2_kitbot" / "img_00.png"
    folder = tmp_path / "cache"
    first = LatentCache("vae", folder)
    key = first.key(_example(image), flipped=False)
    first.put(key, {"latent": torch.ones(4, 8, 8)})
    again = LatentCache("vae", folder)  # a later run
    assert torch.equal(again.get(key)["latent"], torch.ones(4, 8, 8))
    (folder / f"{key}.safetensors").write_bytes(b"broken")
    assert LatentCache("vae", folder).get(key) is None  # recomputed, not trusted


def test_module_identity_follows_the_weights():
    a, b = torch.nn.Linear(3, 3), torch.nn.Linear(3, 3)
    b.load_state_dict(a.state_dict())
    assert module_identity(a) == module_identity(b)
    with torch.no_grad():
        b.weight[0, 0] += 1e-3
    assert module_identity(a) != module_identity(b)
