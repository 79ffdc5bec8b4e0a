"""How much the training math adds to a step, against the plainest possible reference in the same run.

Measures (CPU by default, CUDA if available and --device cuda):
- captions: process_caption with every option on vs a plain split/shuffle/join, captions per second;
- noise+loss: make_noise (offset + pyramid) + timesteps + input perturbation + huber loss + min-SNR weights
  vs torch.randn_like + randint + mse_loss, milliseconds per batch at SDXL latent size.

Prints a table and one JSON line. Run: .venv/bin/python benchmarks/bench_training_math.py
"""

from __future__ import annotations

import argparse
import json
import random
import time
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from lorakit.train.captions import process_caption
from lorakit.train.loss import huber_c_for, loss_weights, per_sample_loss
from lorakit.train.noise import make_noise, perturb_noise, sample_timesteps

CAPTION = ", ".join(
    ["ohwx woman", "solo", "long hair", "{red|blue|green} dress", "smiling", "outdoors", "sky", "looking at viewer"]
    + [f"tag{i}" for i in range(20)]
)
OPTIONS = SimpleNamespace(
    caption_prefix="masterpiece",
    caption_suffix="",
    caption_dropout_rate=0.05,
    caption_dropout_every_n_epochs=0,
    enable_wildcard=True,
    shuffle_caption=True,
    keep_tokens=2,
    keep_tokens_separator="",
    secondary_separator="",
    caption_tag_dropout_rate=0.1,
    token_warmup_min=1,
    token_warmup_step=0.0,
)


def timed(fn, repeat: int) -> float:
    fn()  # warm up
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def bench_captions(repeat: int) -> tuple[float, float]:
    rng = random.Random(0)

    def ours():
        process_caption(CAPTION, OPTIONS, rng, epoch=1, step=10, total_steps=1000)

    def reference():
        tags = [t.strip() for t in CAPTION.split(",")]
        rest = tags[2:]
        rng.shuffle(rest)
        ", ".join(tags[:2] + rest)

    return timed(ours, repeat), timed(reference, repeat)


def bench_step_math(device: str, batch: int, size: int, repeat: int) -> tuple[float, float]:
    latents = torch.randn(batch, 4, size, size, device=device)
    pred = torch.randn_like(latents)
    alphas_cumprod = torch.linspace(0.9991, 0.0047, 1000, device=device)
    gen = torch.Generator(device=device).manual_seed(0)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    def ours():
        noise = make_noise(latents, gen, 0.05, True, None, 6, 0.3)
        t = sample_timesteps(batch, 1000, None, None, gen, device)
        perturb_noise(noise, 0.1, False, gen)
        c = huber_c_for("snr", 0.1, t, alphas_cumprod, 1000)
        loss = per_sample_loss(pred, noise, "huber", c) * loss_weights(t, alphas_cumprod, min_snr_gamma=5.0)
        loss.mean().item()
        sync()

    def reference():
        noise = torch.randn_like(latents)
        torch.randint(0, 1000, (batch,), device=device)
        F.mse_loss(pred, noise).item()
        sync()

    return timed(ours, repeat), timed(reference, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=128, help="latent side (128 = a 1024² SDXL image)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    cap_ours, cap_ref = bench_captions(2000)
    step_ours, step_ref = bench_step_math(args.device, args.batch, args.size, args.repeat)
    rows = [
        ("process_caption (all options)", f"{1 / cap_ours:,.0f} captions/s", f"{1 / cap_ref:,.0f} captions/s"),
        (
            f"noise+loss, {args.batch}×4×{args.size}² ({args.device})",
            f"{step_ours * 1e3:.2f} ms",
            f"{step_ref * 1e3:.2f} ms",
        ),
    ]
    print(f"{'what':<42} {'lorakit':>22} {'plain reference':>22}")
    for what, ours, ref in rows:
        print(f"{what:<42} {ours:>22} {ref:>22}")
    print(
        json.dumps(
            {
                "device": args.device,
                "captions_per_s": round(1 / cap_ours),
                "captions_ref_per_s": round(1 / cap_ref),
                "caption_cost_ratio": round(cap_ours / cap_ref, 2),
                "step_math_ms": round(step_ours * 1e3, 3),
                "step_math_ref_ms": round(step_ref * 1e3, 3),
                "step_math_cost_ratio": round(step_ours / step_ref, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
