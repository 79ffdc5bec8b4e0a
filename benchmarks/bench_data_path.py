"""Is the data path fast enough? Time per batch of (a) the cached path a run normally takes (latents and
text-encoder outputs from the cache, captions shuffled and tag-dropped) and (b) the image path (decode,
resize, crop, flip of real JPEG/PNG files, as used with random_crop/color_aug), against the training step
it feeds, measured in the same run on the tiny model. The goal is a data path at least 10× faster.

    .venv/bin/python benchmarks/bench_data_path.py [--images 16] [--size 768x512] [--batch 2]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))


def _median(func, runs: int) -> float:
    times = []
    for i in range(runs):
        start = time.perf_counter()
        func(i)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_images(folder: Path, count: int, size: tuple[int, int]) -> Path:
    import numpy as np
    from PIL import Image

    subset = folder / "1_kitbot"
    subset.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        suffix = ".jpg" if i % 2 else ".png"
        Image.fromarray(pixels).save(subset / f"img_{i:03d}{suffix}", quality=90)
        (subset / f"img_{i:03d}.txt").write_text("kitbot, robot cat, orange body, teal eyes, standing, blue sky\n")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--size", default="768x512", help="image size on disk, WxH")
    parser.add_argument("--resolution", type=int, default=512, help="training resolution (bucket area)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    import torch

    torch.set_num_threads(1)
    from lorakit.config.presets import new_config
    from lorakit.data.plan import plan_for_config
    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.models.loading import load_model
    from lorakit.models.tiny import build_tiny_model
    from lorakit.train.cache import LatentCache, TextCache
    from lorakit.train.data import epoch_batches, examples_from_plan, load_example
    from lorakit.train.feed import Feed
    from lorakit.train.step import StepOptions, training_step

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = make_images(tmp / "data", args.images, (width, height))
        cfg = new_config(
            "tiny-demo",
            {
                "model.pretrained_model_name_or_path": "unused",
                "dataset.train_data_dir": str(data),
                "dataset.resolution": args.resolution,
                "dataset.enable_bucket": True,
                "dataset.flip_aug": True,
                "captions.shuffle_caption": True,
                "captions.caption_tag_dropout_rate": 0.1,
                "captions.keep_tokens": 1,
                "schedule.train_batch_size": args.batch,
            },
        )
        plan = plan_for_config(cfg)
        examples = examples_from_plan(plan, cfg.resolved_subsets())
        batches = epoch_batches(examples, args.batch, 0, 0)

        family = load_model(build_tiny_model("sd1", tmp / "tiny"))
        network = build_network({"unet": family.components.unet}, family.lora_targets(), NetworkSettings(rank=16))
        optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
        feed = Feed(
            examples,
            0,
            1000,
            encode_images=lambda pixels: torch.zeros(pixels.shape[0], 4, pixels.shape[2] // 8, pixels.shape[3] // 8),
            encode_prompts=lambda captions: family.encode_prompts(captions),
            latent_cache=LatentCache("bench"),
            text_cache=TextCache("bench"),
        )
        feed.precache()

        def cached(i: int):
            return feed.batch(batches[i % len(batches)], 0, i, i)

        def images(i: int) -> None:
            rng = random.Random(i)
            for index in batches[i % len(batches)]:
                load_example(examples[index], rng)

        for i in range(len(batches)):  # warm the text-encoder cache: every caption variant seen once
            cached(i)
        cached_s = _median(cached, args.runs)
        images_s = _median(images, args.runs)

        # The step the data feeds: the tiny model at the latent size of the first bucket.
        batch = cached(0)
        batch.latents = torch.randn(batch.latents.shape)

        def step(i: int) -> None:
            training_step(family, batch, StepOptions(), torch.Generator().manual_seed(i), lambda loss: loss.backward())
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)

        step(0)
        step_s = _median(step, max(5, args.runs // 4))

    print(f"{args.images} images {width}x{height}, batch {args.batch}, buckets from {args.resolution}px")
    print(f"{'':34}{'ms/batch':>10}{'× faster than the step':>24}")
    print(f"{'training step (tiny model)':34}{step_s * 1000:>10.2f}{'':>24}")
    print(f"{'data path, cached (the default)':34}{cached_s * 1000:>10.2f}{step_s / cached_s:>24.1f}")
    print(f"{'data path, images (random crop)':34}{images_s * 1000:>10.2f}{step_s / images_s:>24.1f}")
    figures = {
        "bench": "data_path",
        "step_ms": step_s * 1000,
        "cached_ms": cached_s * 1000,
        "images_ms": images_s * 1000,
        "cached_ratio": step_s / cached_s,
        "images_ratio": step_s / images_s,
        "target_ratio": 10,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
