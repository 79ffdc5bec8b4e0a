"""masked_loss: mask files (masks/<stem>.png) or alpha, carried through resize/crop/flip and the latent cache,
multiplied into the loss."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from PIL import Image

from lorakit.config.dataset import ResolvedSubset
from lorakit.data.buckets import BucketSet, BucketSettings
from lorakit.data.masks import find_mask
from lorakit.train.cache import LatentCache
from lorakit.train.data import Example, load_example
from lorakit.train.feed import Feed


def _grey(folder, name="img_00", size=(96, 64), seed=0):
    """A grey-scale picture saved as RGB, and the same picture as its mask: the loaded mask must equal the pixels."""
    rng = np.random.default_rng(seed)
    grey = rng.integers(0, 256, (size[1], size[0]), dtype=np.uint8)
    grey[:, : size[0] // 3] = 0
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.stack([grey] * 3, -1)).save(folder / f"{name}.png")
    (folder / "masks").mkdir(exist_ok=True)
    Image.fromarray(grey).save(folder / "masks" / f"{name}.png")
    return folder / f"{name}.png"


def _example(path, masked_loss=True, resolution=64, **subset):
    placement = BucketSet(BucketSettings.square(resolution, min_bucket_reso=32, bucket_reso_steps=32)).place(
        *Image.open(path).size
    )
    options = ResolvedSubset(image_dir=path.parent, **subset)
    mask = find_mask(path) if masked_loss else None
    return Example(path, "kitbot", False, 1, options, placement, masked_loss=masked_loss, mask_path=mask)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("subset", [{}, {"random_crop": True}])
def test_mask_follows_the_images_resize_crop_and_flip(tmp_path, flip, subset):
    example = _example(_grey(tmp_path / "imgs"), **subset)
    assert example.mask_path == tmp_path / "imgs" / "masks" / "img_00.png"
    loaded = load_example(example, random.Random(3), flip=flip)
    assert loaded.mask is not None and loaded.mask.shape == (1, *loaded.pixels.shape[1:])
    as_mask = (loaded.pixels[0] + 1.0) / 2.0  # the grey picture went through the same steps
    assert torch.allclose(loaded.mask[0], as_mask, atol=1.5 / 255)
    assert loaded.mask.min() == 0.0 and loaded.mask.max() > 0.5


def test_mask_file_wins_over_alpha_and_missing_masks_are_ones(tmp_path):
    path = _grey(tmp_path / "imgs")
    rgba = Image.open(path).convert("RGBA")
    rgba.putalpha(255)
    rgba.save(path)
    both = load_example(_example(path, alpha_mask=True), random.Random(0), flip=False)
    assert both.mask.min() == 0.0  # from the mask file, not the opaque alpha
    (tmp_path / "imgs" / "masks" / "img_00.png").unlink()
    alpha_only = load_example(_example(path, alpha_mask=True), random.Random(0), flip=False)
    assert torch.equal(alpha_only.mask, torch.ones_like(alpha_only.mask))
    none = load_example(_example(path), random.Random(0), flip=False)
    assert torch.equal(none.mask, torch.ones(1, *none.pixels.shape[1:]))
    off = load_example(_example(path, masked_loss=False), random.Random(0), flip=False)
    assert off.mask is None


def test_the_latent_cache_carries_the_mask_and_keys_on_it(tmp_path):
    path = _grey(tmp_path / "imgs")
    example = _example(path)
    encode = lambda pixels: pixels[:, :, ::8, ::8].repeat(1, 2, 1, 1)[:, :4]  # noqa: E731 - a stand-in VAE
    cache = LatentCache("vae")
    cached = Feed([example], seed=0, total_steps=1, encode_images=encode, latent_cache=cache)
    cached.precache()
    assert cache.misses and len(cache.memory) == 1
    hit = cached.batch([0], epoch=0, position=0, step=0)
    plain = Feed([example], seed=0, total_steps=1, encode_images=encode).batch([0], epoch=0, position=0, step=0)
    assert hit.masks is not None and torch.equal(hit.masks, plain.masks)
    key = cache.key(example, False)
    Image.fromarray(np.full((64, 96), 255, dtype=np.uint8)).save(tmp_path / "imgs" / "masks" / "img_00.png")
    assert cache.key(example, False) != key  # a new mask is a new entry
    assert cache.key(_example(path, masked_loss=False), False) != key


def test_masked_loss_changes_training_and_an_empty_mask_learns_nothing(tiny_config, tmp_path):
    from lorakit.train.run import train

    def run(name, masked, fill=None):
        data = tmp_path / name / "2_kitbot"
        for i in range(2):
            _grey(data, f"img_{i:02d}", seed=i)
            (data / f"img_{i:02d}.txt").write_text("kitbot")
            if fill is not None:
                Image.fromarray(np.full((64, 96), fill, dtype=np.uint8)).save(data / "masks" / f"img_{i:02d}.png")
        cfg = tiny_config(
            dataset=data.parent,
            dataset__masked_loss=masked,
            schedule__max_train_epochs=None,
            schedule__max_train_steps=2,
            output__output_dir=str(tmp_path / name / "out"),
        )
        events = []
        from lorakit import events as ev

        train(cfg, tmp_path / name / "run", ev.Emitter(callbacks=[lambda e: events.append(e)]))
        return [e.data["loss"] for e in events if e.type == "step"]

    plain, masked = run("plain", False), run("masked", True)
    assert len(plain) == len(masked) == 2
    assert masked[0] != pytest.approx(plain[0], rel=1e-3)
    assert run("empty", True, fill=0) == [0.0, 0.0]  # nothing is learned where the mask is black


def test_masked_loss_without_any_mask_warns(tmp_path):
    from lorakit.data.masks import no_masks_warning

    path = _grey(tmp_path / "imgs")
    assert no_masks_warning([_example(path)]) is None
    assert no_masks_warning([_example(path, masked_loss=False)]) is None
    (tmp_path / "imgs" / "masks" / "img_00.png").unlink()
    problem, fix = no_masks_warning([_example(path)])
    assert "no image has a mask" in problem and "masks" in fix
    assert no_masks_warning([_example(path, alpha_mask=True)]) is None
