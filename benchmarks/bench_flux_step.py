"""Seconds per Flux training step: lorakit's flow-matching step against the loop of diffusers' Flux LoRA example
(train_dreambooth_lora_flux.py), on the same model, data and LoRA layers, in one process.

    .venv/bin/python benchmarks/bench_flux_step.py                  # tiny Flux on the CPU (about a minute)
    .venv/bin/python benchmarks/bench_flux_step.py --model dev      # FLUX.1-dev-size transformer, random bf16 (GPU)

The reference is that script's inner loop as it ships: packed latents, a uniform noise level (its default
weighting "none"), x_t = (1 − σ)·x₀ + σ·ε, the transformer with image/text ids and guidance, MSE against ε − x₀,
peft LoRA on to_k/to_q/to_v/to_out.0 (rank r, alpha r), AdamW, gradients clipped to 1.0. Latents and text
states are computed once for both (the example caches them too with --cache_latents and precomputed prompts).
lorakit's row uses the same layers (``target_modules``), its ``uniform`` sampling and raw prediction, so the
rows differ only in the code that runs them. Both models are fresh copies of the same weights; the two loops
alternate in rounds so drift (thermal, other processes) hits both alike. Prints seconds/step and the ratio.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

TARGETS = ("to_k", "to_q", "to_v", "to_out.0")


def build(model: str, device, dtype):
    import torch

    from lorakit.models.loading import load_model
    from lorakit.models.tiny import build_tiny_model

    folder = build_tiny_model("flux", Path(tempfile.gettempdir()) / "lorakit-bench-tiny-flux")
    family = load_model(folder, dtype=dtype, device=device)
    if model == "dev":  # the FLUX.1-dev transformer shape with random weights; encoders stay tiny (cached anyway)
        from diffusers import FluxTransformer2DModel

        torch.manual_seed(0)
        big = FluxTransformer2DModel(guidance_embeds=True, joint_attention_dim=24, pooled_projection_dim=32)
        family.components.unet = big.to(device, dtype)
    return family


def inputs(family, batch: int, resolution: int, device):
    import torch

    g = torch.Generator().manual_seed(0)
    pixels = (torch.rand(batch, 3, resolution, resolution, generator=g) * 2 - 1).to(device)
    with torch.no_grad():
        latents = family.encode_images(pixels.to(family.components.vae.dtype)).float()
        cond = family.encode_prompts(["kitbot, robot cat, orange body, teal eyes, blue background"] * batch)
    return latents, cond


def ours(family, latents, cond, rank):
    import torch

    from lorakit.lora.network import NetworkSettings, build_network
    from lorakit.train.step import Batch, StepOptions, training_step

    network = build_network(
        {"unet": family.components.unet},
        family.lora_targets(True, False),
        NetworkSettings(rank=rank, alpha=rank, target_modules=TARGETS),
    )
    params = network.parameters()
    for p in params:
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    batch = Batch(
        [""] * latents.shape[0], [False] * latents.shape[0], torch.zeros(1, 6), latents=latents, conditioning=cond
    )
    opts = StepOptions(timestep_sampling="uniform", model_prediction_type="raw")

    def step(i: int) -> None:
        gens = [torch.Generator().manual_seed(i * 100 + j) for j in range(latents.shape[0])]
        training_step(family, batch, opts, gens, lambda loss: loss.backward())
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def reference(family, latents, cond, rank):
    import torch
    import torch.nn.functional as F
    from diffusers import FluxPipeline
    from peft import LoraConfig

    transformer = family.components.unet
    transformer.requires_grad_(False)
    transformer.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, init_lora_weights="gaussian", target_modules=list(TARGETS))
    )
    params = [p for p in transformer.parameters() if p.requires_grad]
    for p in params:
        p.data = p.data.float()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    b, c, h, w = latents.shape
    device, dtype = latents.device, transformer.dtype
    ids = FluxPipeline._prepare_latent_image_ids(b, h // 2, w // 2, device, dtype)
    text, pooled = cond["encoder_hidden_states"].to(dtype), cond["pooled_projections"].to(dtype)
    txt_ids = torch.zeros(text.shape[1], 3, device=device, dtype=dtype)
    transformer.train()

    def step(i: int) -> None:
        g = torch.Generator().manual_seed(i)
        noise = torch.randn(latents.shape, generator=g).to(device)
        sigmas = torch.rand(b, generator=g).to(device).view(-1, 1, 1, 1)
        noisy = ((1 - sigmas) * latents + sigmas * noise).to(dtype)
        packed = FluxPipeline._pack_latents(noisy, b, c, h, w)
        pred = transformer(
            hidden_states=packed,
            timestep=sigmas.flatten().to(dtype),
            guidance=torch.ones(b, device=device),
            pooled_projections=pooled,
            encoder_hidden_states=text,
            txt_ids=txt_ids,
            img_ids=ids,
            return_dict=False,
        )[0]
        pred = FluxPipeline._unpack_latents(pred, h * 8, w * 8, 8)
        F.mse_loss(pred.float(), (noise - latents).float()).backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def timed(step, steps: int, sync) -> float:
    start = time.perf_counter()
    for i in range(steps):
        step(i)
    sync()
    return (time.perf_counter() - start) / steps


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("tiny", "dev"), default="tiny")
    parser.add_argument("--resolution", type=int, default=None)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    if not cuda:
        torch.set_num_threads(1)  # the tiny model gains nothing from threads; one thread times steadier
    device = torch.device("cuda" if cuda else "cpu")
    dtype = torch.bfloat16 if cuda else torch.float32
    resolution = args.resolution or (1024 if args.model == "dev" else 64)
    base = build(args.model, device, dtype)
    latents, cond = inputs(base, args.batch, resolution, device)
    other = copy.deepcopy(base)
    runs = {
        "diffusers example": reference(other, latents, cond, args.rank),
        "lorakit": ours(base, latents, cond, args.rank),
    }
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for step in runs.values():
        timed(step, 2, sync)  # warm-up
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, step in runs.items():
            times[name].append(timed(step, args.steps, sync))
    print(f"Flux {args.model}, {resolution}², batch {args.batch}, rank {args.rank}, {device.type}, {dtype}")
    ref = statistics.median(times["diffusers example"])
    for name, values in times.items():
        s = statistics.median(values)
        print(f"  {name:20s} {s:8.4f} s/step   speed vs example: {ref / s:5.2f}x")


if __name__ == "__main__":
    main()
