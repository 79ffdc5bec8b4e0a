"""The data path: from a batch of example indices to a :class:`~lorakit.train.step.Batch`.

It loads and augments the images (or takes their latents from the cache), varies the captions
(shuffle, keep tokens, dropout, warmup via :mod:`lorakit.train.captions`), and takes text-encoder
outputs from their cache when that is allowed. Images that cannot be read are dropped from the batch
and reported once each; every random choice comes from a generator seeded by (seed, epoch, batch), so
a resumed run sees the same batch as an uninterrupted one.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from lorakit.errors import DatasetError
from lorakit.train.cache import LatentCache, TextCache
from lorakit.train.data import Example, load_example
from lorakit.train.step import Batch


@dataclass
class CaptionContext:
    """Where in training a caption is drawn: dropout-every-n-epochs and token warmup depend on it."""

    epoch: int
    step: int
    total_steps: int


def vary_caption(example: Example, rng: random.Random, where: CaptionContext, weighted: bool = False) -> str:
    """The caption an image is shown with this time (sd-scripts' process_caption)."""
    from lorakit.train import captions

    return captions.process_caption(
        example.caption,
        example.subset,
        rng,
        epoch=where.epoch + 1,  # sd-scripts counts epochs from 1 (dropout every n-th epoch)
        step=where.step,
        total_steps=where.total_steps,
        weighted=weighted,
    )


def captions_are_fixed(example: Example) -> bool:
    """True when an image's caption is the same every time (so text-encoder outputs can be cached)."""
    s = example.subset
    return not (
        s.shuffle_caption
        or s.caption_dropout_rate
        or s.caption_dropout_every_n_epochs
        or s.caption_tag_dropout_rate
        or s.token_warmup_step
        or s.enable_wildcard
    )


@dataclass
class Feed:
    """Turns example indices into training batches."""

    examples: list[Example]
    seed: int
    total_steps: int
    encode_images: Callable[[torch.Tensor], torch.Tensor]
    rank: int = 0  # with several processes, each draws its own augmentations
    encode_prompts: Callable[[list[str]], dict[str, torch.Tensor]] | None = None
    latent_cache: LatentCache | None = None
    text_cache: TextCache | None = None
    text_key: tuple[int, int] = (1, 75)  # clip skip, max token length: part of the text cache key
    warn: Callable[[str, str], None] = lambda message, fix: None
    weighted_captions: bool = False  # split tags outside (weighted) brackets when shuffling/dropping
    vae_batch_size: int = 1  # memory.vae_batch_size: images encoded at once by precache
    encoded_batches: int = 0  # VAE calls precache made (reported)
    bad: set[int] = field(default_factory=set)

    def _encode(self, example: Example, rng: random.Random, flip: bool) -> dict[str, torch.Tensor]:
        """Load one image as placed, encode it, and remember it when the image allows caching."""
        image = load_example(example, rng, flip=flip)
        with torch.no_grad():
            entry = {"latent": self.encode_images(image.pixels[None])[0].float().cpu(), "sizes": image.sizes}
        if image.mask is not None:
            entry["mask"] = image.mask
        if self.latent_cache is not None and example.cacheable:
            self.latent_cache.put(self.latent_cache.key(example, flip), entry)
        return entry

    def _latent(self, example: Example, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(latent, sizes, mask) of one image, through the latent cache when the image allows it."""
        flip = (rng.random() < 0.5) if example.subset.flip_aug else False
        entry = None
        if self.latent_cache is not None and example.cacheable:
            entry = self.latent_cache.get(self.latent_cache.key(example, flip))
        if entry is None:
            entry = self._encode(example, rng, flip)
        return entry["latent"], entry["sizes"], entry.get("mask")

    def _conditioning(self, captions: list[str]) -> dict[str, torch.Tensor] | None:
        if self.text_cache is None or self.encode_prompts is None:
            return None
        parts = []
        for caption in captions:
            key = self.text_cache.key(caption, *self.text_key)
            hit = self.text_cache.get(key)
            if hit is None:
                with torch.no_grad():
                    hit = {k: v[0].float().cpu() for k, v in self.encode_prompts([caption]).items() if v is not None}
                self.text_cache.put(key, hit)
            parts.append(hit)
        return {k: torch.stack([p[k] for p in parts]) for k in parts[0]}

    def precache(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Encode every cacheable image once up front (both flips when flip_aug), as sd-scripts does:
        ``vae_batch_size`` images of one bucket per VAE call."""
        todo: dict[tuple[int, int], list[tuple[int, Example, bool]]] = {}
        cacheable = [(i, e) for i, e in enumerate(self.examples) if e.cacheable]
        for index, example in cacheable:
            for flip in (False, True) if example.subset.flip_aug else (False,):
                if self.latent_cache.get(self.latent_cache.key(example, flip)) is None:
                    todo.setdefault(example.bucket, []).append((index, example, flip))
        done: set[int] = set()
        for items in todo.values():  # one bucket: same pixel size, so its images stack into one batch
            for start in range(0, len(items), max(1, self.vae_batch_size)):
                loaded = []
                for index, example, flip in items[start : start + max(1, self.vae_batch_size)]:
                    if index in self.bad:
                        continue
                    try:
                        loaded.append((example, flip, load_example(example, random.Random(0), flip=flip)))
                    except (DatasetError, OSError) as error:
                        self._report(index, error)
                    done.add(index)
                if loaded:
                    with torch.no_grad():
                        latents = self.encode_images(torch.stack([image.pixels for _, _, image in loaded]))
                    self.encoded_batches += 1
                    for (example, flip, image), latent in zip(loaded, latents, strict=True):
                        entry = {"latent": latent.float().cpu(), "sizes": image.sizes}
                        if image.mask is not None:
                            entry["mask"] = image.mask
                        self.latent_cache.put(self.latent_cache.key(example, flip), entry)
                if progress:
                    progress(len(done), len(cacheable))

    def _report(self, index: int, error: Exception) -> None:
        if index not in self.bad:
            self.bad.add(index)
            self.warn(
                f"Skipped {self.examples[index].path.name}: {getattr(error, 'problem', error)}",
                "Fix or remove this image (lorakit dataset check finds such files); training goes on without it.",
            )

    def batch(self, indices: list[int], epoch: int, position: int, step: int) -> Batch | None:
        """The batch at ``position`` of ``epoch``; None when none of its images can be read."""
        rng = random.Random(f"{self.seed}:{epoch}:{position}:{self.rank}")
        where = CaptionContext(epoch, step, self.total_steps)
        latents, sizes, masks, captions, is_reg = [], [], [], [], []
        for index in indices:
            if index in self.bad:
                continue
            example = self.examples[index]
            try:
                latent, size, mask = self._latent(example, rng)
            except (DatasetError, OSError) as error:
                self._report(index, error)
                continue
            latents.append(latent)
            sizes.append(size)
            masks.append(mask)
            captions.append(vary_caption(example, rng, where, self.weighted_captions))
            is_reg.append(example.is_reg)
        if not latents:
            return None
        if any(m is not None for m in masks):
            # A batch mixing masked and unmasked images (alpha_mask on one subset only): the others learn everywhere.
            shape = next(m for m in masks if m is not None).shape
            masks = [m if m is not None else torch.ones(shape) for m in masks]
        has_masks = all(m is not None for m in masks)
        return Batch(
            captions=captions,
            is_reg=is_reg,
            sizes=torch.stack(sizes),
            latents=torch.stack(latents),
            conditioning=self._conditioning(captions),
            masks=torch.stack(masks) if has_masks else None,
        )
