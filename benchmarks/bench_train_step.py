"""Seconds per training step, peak memory and achieved FLOP/s: lorakit's step against the loop of diffusers'
LoRA example, train_text_to_image_lora.py (train_text_to_image_lora_sdxl.py for SDXL), on the same model and
data.

    .venv/bin/python benchmarks/bench_train_step.py                 # tiny SD1 model on the CPU (about a minute)
    .venv/bin/python benchmarks/bench_train_step.py --model sd15    # SD1.5-size, random weights, bf16 (GPU)
    .venv/bin/python benchmarks/bench_train_step.py --model sdxl    # SDXL-size at 1024² (GPU)

The reference is what a user would otherwise run to train a LoRA with diffusers: that script's loop, as it
ships. Frozen UNet, VAE and text encoder in the weight dtype (bf16 on a GPU, fp32 on the CPU), the forward
pass under bf16 autocast on a GPU (the example autocasts the UNet through accelerate's mixed precision; its
VAE and text encoder already run in bf16, so autocast changes nothing there), peft LoRA on
to_q/to_k/to_v/to_out.0 (rank r, alpha r, LoRA weights in the weight dtype, fp32 only for fp16 as the script
casts them), the VAE and text encoder run on every step (the example caches nothing), plain MSE on ε,
gradients clipped to 1.0 (its --max_grad_norm default), AdamW.

lorakit's rows use the same weight dtype, autocast, clipping (max_grad_norm 1.0) and optimizer, so the rows
differ only where named:
- "lorakit, same layers, no cache": the like-for-like row: the reference's LoRA layers, VAE and text encoder
  on every step as in the reference.
- "lorakit, same layers, cached": latents and text-encoder outputs precomputed once (cache_latents,
  cache_text_encoder_outputs): the caching gain, reported as its own ratio against the row above.
- "lorakit defaults": what a lorakit run does with its defaults: kohya's LoRA targets (attention,
  feed-forward and projections: more modules than the reference), cached latents, text encoder every step.
Each variant runs in its own process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

# Published UNet configs (runwayml/stable-diffusion-v1-5, stabilityai/stable-diffusion-xl-base-1.0), trimmed.
SD15_UNET = dict(
    attention_head_dim=8,
    block_out_channels=(320, 640, 1280, 1280),
    cross_attention_dim=768,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    layers_per_block=2,
    sample_size=64,
)
SDXL_UNET = dict(
    addition_embed_type="text_time",
    addition_time_embed_dim=256,
    attention_head_dim=(5, 10, 20),
    block_out_channels=(320, 640, 1280),
    cross_attention_dim=2048,
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    layers_per_block=2,
    projection_class_embeddings_input_dim=2816,
    sample_size=128,
    transformer_layers_per_block=(1, 2, 10),
    use_linear_projection=True,
)
SD_VAE = dict(
    block_out_channels=(128, 256, 512, 512),
    down_block_types=("DownEncoderBlock2D",) * 4,
    up_block_types=("UpDecoderBlock2D",) * 4,
    latent_channels=4,
    layers_per_block=2,
    sample_size=512,
)
CLIP_L = dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, num_hidden_layers=12)
CLIP_G = dict(
    hidden_size=1280, intermediate_size=5120, num_attention_heads=20, num_hidden_layers=32, projection_dim=1280
)


def build_family(model: str, folder: Path, device, dtype):
    """The tiny model, or a full-size SD1.5/SDXL architecture with random weights (no download)."""
    import torch

    from lorakit.models.loading import load_model
    from lorakit.models.tiny import build_tiny_model

    if model == "tiny":
        return load_model(build_tiny_model("sd1", folder / "tiny"), dtype=dtype, device=device)
    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from lorakit.models import families
    from lorakit.models.families.base import Components
    from lorakit.models.tiny import _tokenizer

    tokenizer = _tokenizer()

    def clip(cls, spec):
        config = CLIPTextConfig(vocab_size=49408, max_position_embeddings=77, hidden_act="gelu", **spec)
        return cls(config).to(device, dtype)

    torch.manual_seed(0)
    unet = UNet2DConditionModel(**(SDXL_UNET if model == "sdxl" else SD15_UNET)).to(device, dtype)
    vae = AutoencoderKL(**SD_VAE).to(device, dtype)
    if model == "sdxl":
        encoders = [clip(CLIPTextModel, CLIP_L), clip(CLIPTextModelWithProjection, CLIP_G)]
        tokenizers = [tokenizer, _tokenizer()]
    else:
        encoders, tokenizers = [clip(CLIPTextModel, CLIP_L)], [tokenizer]
    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    family_cls = families.get("sdxl" if model == "sdxl" else "sd1")
    return family_cls(Components(unet, vae, encoders, tokenizers, scheduler))


def data(batch: int, resolution: int, device):
    import torch

    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(batch, 3, resolution, resolution, generator=generator) * 2 - 1
    captions = ["kitbot, robot cat, orange body, teal eyes, standing, blue background"] * batch
    return pixels.to(device), captions


REFERENCE_TARGETS = ("to_k", "to_q", "to_v", "to_out.0")
# lorakit variant → (LoRA targets, what is cached); () = kohya's default targets.
VARIANTS = {
    "ours-same-uncached": (REFERENCE_TARGETS, "none"),
    "ours-same-cached": (REFERENCE_TARGETS, "all"),
    "ours-defaults": ((), "latents"),
}
ROWS = {
    "reference": "diffusers example",
    "ours-same-uncached": "lorakit, same layers, no cache",
    "ours-same-cached": "lorakit, same layers, cached",
    "ours-defaults": "lorakit defaults",
}


def ours(family, pixels, captions, rank, device, bf16, targets=(), cache="latents"):
    """lorakit's training step. ``cache``: "none" (encode every step), "latents" (lorakit's default) or "all"."""
    import torch

    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.train.step import Batch, StepOptions, training_step

    network = build_network(
        {"unet": family.components.unet},
        family.lora_targets(True, False),
        NetworkSettings(rank=rank, alpha=rank, target_modules=targets),
    )
    for p in network.parameters():
        p.data = p.data.float()
    params = list(network.parameters())
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    latents = cond = None
    with torch.no_grad():  # what the caches hold: computed once, before training
        if cache in ("latents", "all"):
            latents = family.encode_images(pixels).float()
        if cache == "all":
            cond = family.encode_prompts(captions)
    res = pixels.shape[-1]
    sizes = torch.tensor([[res, res, 0, 0, res, res]] * len(captions), dtype=torch.float32)
    batch = Batch(
        captions, [False] * len(captions), sizes, pixels=None if latents is not None else pixels, latents=latents,
        conditioning=cond,
    )  # fmt: skip
    family.components.unet.train()

    def step(i: int) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            training_step(family, batch, StepOptions(), torch.Generator().manual_seed(i), lambda loss: loss.backward())
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # max_grad_norm 1.0, as a lorakit run
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, sum(p.numel() for p in params)


def reference(family, pixels, captions, rank, device, bf16):
    """diffusers' LoRA example loop: peft on to_q/to_k/to_v/to_out.0, encode every step, MSE, clipping."""
    import torch
    import torch.nn.functional as F
    from peft import LoraConfig

    c = family.components
    unet, vae = c.unet, c.vae
    for module in (unet, vae, *c.text_encoders):
        module.requires_grad_(False)
    unet.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=list(REFERENCE_TARGETS))
    )
    params = [p for p in unet.parameters() if p.requires_grad]
    if unet.dtype == torch.float16:  # the example's cast_training_params: only for fp16
        for p in params:
            p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    res = pixels.shape[-1]
    time_ids = torch.tensor([[res, res, 0, 0, res, res]] * len(captions), device=device, dtype=torch.float32)
    unet.train()

    def step(i: int) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = forward(i)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # the example's --max_grad_norm default
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def forward(i: int):
        generator = torch.Generator().manual_seed(i)
        latents = vae.encode(pixels.to(vae.dtype)).latent_dist.sample() * vae.config.scaling_factor
        states, pooled = [], None
        for tokenizer, encoder in zip(c.tokenizers, c.text_encoders, strict=True):
            ids = tokenizer(captions, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
            out = encoder(ids.input_ids.to(device), output_hidden_states=True)
            states.append(out.hidden_states[-2] if len(c.text_encoders) > 1 else out[0])
            pooled = getattr(out, "text_embeds", pooled)
        noise = torch.randn(latents.shape, generator=generator).to(device)
        t = torch.randint(0, 1000, (latents.shape[0],), generator=generator).to(device)
        noisy = c.noise_scheduler.add_noise(latents, noise, t)
        extra = {"added_cond_kwargs": {"text_embeds": pooled, "time_ids": time_ids}} if pooled is not None else {}
        pred = unet(noisy, t, torch.cat(states, dim=-1), **extra).sample
        return F.mse_loss(pred.float(), noise.float())

    return step, sum(p.numel() for p in params)


def run_variant(args) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    bf16 = device.type == "cuda"
    # Both sides keep frozen weights in the weight dtype: bf16 on a GPU (mixed precision), fp32 on the CPU.
    dtype = torch.bfloat16 if bf16 else torch.float32
    with tempfile.TemporaryDirectory() as tmp:
        family = build_family(args.model, Path(tmp), device, dtype)
        pixels, captions = data(args.batch, args.resolution, device)
        if args.variant == "reference":
            step, trainable = reference(family, pixels, captions, args.rank, device, bf16)
        else:
            targets, cache = VARIANTS[args.variant]
            step, trainable = ours(family, pixels, captions, args.rank, device, bf16, targets, cache)
        step(0)  # warm-up (allocations, kernels)
        with FlopCounterMode(display=False) as counter:
            step(1)
        flops = counter.get_total_flops()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times, cpu_times = [], []
        for i in range(args.steps):
            start, cpu_start = time.perf_counter(), time.process_time()
            step(i + 2)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
            cpu_times.append(time.process_time() - cpu_start)
    seconds = statistics.median(times)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # whole process, KiB on Linux
    return {
        "variant": args.variant,
        "s_per_step": seconds,
        "cpu_s_per_step": statistics.median(cpu_times),
        "peak_mb": peak_mb,
        "gflop_per_step": flops / 1e9,
        "tflop_s": flops / seconds / 1e12,
        "trainable_params": trainable,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("tiny", "sd15", "sdxl"), default="tiny")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (the tiny model gains nothing from more)")
    parser.add_argument("--variant", choices=tuple(ROWS), default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.resolution = args.resolution or {"tiny": 64, "sd15": 512, "sdxl": 1024}[args.model]
    args.batch = args.batch or (2 if args.model == "tiny" else 1)
    if args.variant:
        print(json.dumps(run_variant(args)))
        return
    results = {}
    for variant in ROWS:
        cmd = [sys.executable, __file__, "--variant", variant] + [
            f"--{k}={v}" for k, v in vars(args).items() if k != "variant" and v is not None
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[variant] = json.loads(out)
    ref, like, cached, defaults = (results[v] for v in ROWS)
    # On the CPU the ratios use CPU seconds of the (single-threaded) process: wall time on a shared machine
    # mostly measures what the other processes did meanwhile. On a GPU, wall time with synchronisation.
    key = "cpu_s_per_step" if args.device == "cpu" else "s_per_step"
    print(
        f"{args.model} on {args.device}, batch {args.batch} at {args.resolution}px, rank {args.rank},"
        f" {args.steps} steps (median)"
    )
    columns = ("s/step", 10), ("CPU s/step", 11), ("peak MB", 10), ("GFLOP/step", 12), ("TFLOP/s", 10)
    print(f"{'':32}" + "".join(f"{title:>{width}}" for title, width in columns) + f"{'LoRA params':>13}")
    for variant, name in ROWS.items():
        r = results[variant]
        print(
            f"{name:32}{r['s_per_step']:>10.4f}{r['cpu_s_per_step']:>11.4f}{r['peak_mb']:>10.0f}{r['gflop_per_step']:>12.2f}"
            f"{r['tflop_s']:>10.3f}{r['trainable_params']:>13,}"
        )
    figures = {
        "bench": "train_step",
        "model": args.model,
        "device": args.device,
        "batch": args.batch,
        "resolution": args.resolution,
        **{variant.replace("-", "_"): results[variant] for variant in ROWS},
        # the same work on both sides: lorakit's step against the example's
        "ratios_from": key,
        "speedup_like_for_like": ref[key] / like[key],
        # what caching latents and text-encoder outputs saves, on lorakit's own step
        "caching_gain": like[key] / cached[key],
        "speedup_defaults": ref[key] / defaults[key],
        "memory_ratio_like_for_like": like["peak_mb"] / ref["peak_mb"],
        "memory_ratio_cached": cached["peak_mb"] / like["peak_mb"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
