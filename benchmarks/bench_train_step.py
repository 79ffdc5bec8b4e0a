"""Seconds per training step, peak memory and achieved FLOP/s: lorakit's step against a plain reference loop
written the way diffusers' LoRA example (train_text_to_image_lora.py) does it: fp32 weights, peft adapters on
the attention projections, VAE and text encoder run on every step (no caching). Same model, same data.

    .venv/bin/python benchmarks/bench_train_step.py                 # tiny SD1 model on the CPU (about a minute)
    .venv/bin/python benchmarks/bench_train_step.py --model sd15    # SD1.5-size, random weights, bf16 (GPU)
    .venv/bin/python benchmarks/bench_train_step.py --model sdxl    # SDXL-size at 1024² (GPU)

Each variant runs in its own process so its peak memory is its own. Ours uses what a lorakit run uses:
cached latents and text-encoder outputs, frozen weights in bf16 on a GPU with fp32 LoRA weights under
autocast, kohya's LoRA targets (attention, feed-forward and projections: more modules than the reference).
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


def ours(family, pixels, captions, rank, device, bf16, targets=()):
    import torch

    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.train.step import Batch, StepOptions, training_step

    network = build_network(
        {"unet": family.components.unet},
        family.lora_targets(True, False),
        NetworkSettings(rank=rank, alpha=rank / 2, target_modules=targets),
    )
    for p in network.parameters():
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(network.parameters(), lr=1e-4)
    with torch.no_grad():  # what the caches hold: computed once, before training
        latents = family.encode_images(pixels).float()
        cond = family.encode_prompts(captions)
    res = pixels.shape[-1]
    sizes = torch.tensor([[res, res, 0, 0, res, res]] * len(captions), dtype=torch.float32)
    batch = Batch(captions, [False] * len(captions), sizes, latents=latents, conditioning=cond)
    family.components.unet.train()

    def step(i: int) -> None:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            training_step(family, batch, StepOptions(), torch.Generator().manual_seed(i), lambda loss: loss.backward())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, sum(p.numel() for p in network.parameters())


def reference(family, pixels, captions, rank, device):
    """diffusers' LoRA example loop: peft on to_q/to_k/to_v/to_out.0, encode every step, plain MSE."""
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
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    res = pixels.shape[-1]
    time_ids = torch.tensor([[res, res, 0, 0, res, res]] * len(captions), device=device, dtype=torch.float32)
    unet.train()

    def step(i: int) -> None:
        generator = torch.Generator().manual_seed(i)
        latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
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
        F.mse_loss(pred.float(), noise.float()).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step, sum(p.numel() for p in params)


def run_variant(args) -> dict:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    bf16 = device.type == "cuda"
    # Ours keeps frozen weights in bf16 on a GPU (what mixed precision does in a run); the reference is fp32.
    dtype = torch.bfloat16 if (bf16 and args.variant != "reference") else torch.float32
    with tempfile.TemporaryDirectory() as tmp:
        family = build_family(args.model, Path(tmp), device, dtype)
        if args.variant != "reference":
            family.components.vae.to(torch.float32)
        pixels, captions = data(args.batch, args.resolution, device)
        if args.variant == "reference":
            step, trainable = reference(family, pixels, captions, args.rank, device)
        else:
            targets = REFERENCE_TARGETS if args.variant == "ours-same-targets" else ()
            step, trainable = ours(family, pixels, captions, args.rank, device, bf16, targets)
        step(0)  # warm-up (allocations, kernels)
        with FlopCounterMode(display=False) as counter:
            step(1)
        flops = counter.get_total_flops()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for i in range(args.steps):
            start = time.perf_counter()
            step(i + 2)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    if device.type == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # whole process, KiB on Linux
    return {
        "variant": args.variant,
        "s_per_step": seconds,
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
    parser.add_argument(
        "--variant", choices=("ours", "ours-same-targets", "reference"), default=None, help=argparse.SUPPRESS
    )
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
    for variant in ("reference", "ours-same-targets", "ours"):
        cmd = [sys.executable, __file__, "--variant", variant] + [
            f"--{k}={v}" for k, v in vars(args).items() if k != "variant" and v is not None
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[variant] = json.loads(out)
    ref, same, mine = results["reference"], results["ours-same-targets"], results["ours"]
    print(
        f"{args.model} on {args.device}, batch {args.batch} at {args.resolution}px, rank {args.rank},"
        f" {args.steps} steps"
    )
    print(f"{'':24}{'s/step':>10}{'peak MB':>10}{'GFLOP/step':>12}{'TFLOP/s':>10}{'LoRA params':>13}")
    rows = (("reference", ref), ("lorakit, same layers", same), ("lorakit, kohya layers", mine))
    for name, r in rows:
        print(
            f"{name:24}{r['s_per_step']:>10.4f}{r['peak_mb']:>10.0f}{r['gflop_per_step']:>12.2f}"
            f"{r['tflop_s']:>10.3f}{r['trainable_params']:>13,}"
        )
    figures = {
        "bench": "train_step",
        "model": args.model,
        "device": args.device,
        "batch": args.batch,
        "resolution": args.resolution,
        "reference": ref,
        "ours_same_targets": same,
        "ours": mine,
        "speedup_same_targets": ref["s_per_step"] / same["s_per_step"],
        "speedup": ref["s_per_step"] / mine["s_per_step"],
        "memory_ratio_same_targets": same["peak_mb"] / ref["peak_mb"],
        "memory_ratio": mine["peak_mb"] / ref["peak_mb"],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
