"""Resize an SDXL-size rank-128 LoRA to rank 32 and dynamically (sv_fro 0.9): time and retained energy.

The LoRA has the full SDXL key layout that kohya's default LoRA trains (every Linear/1x1 layer of the UNet's
transformer blocks, the attention and MLP layers of both text encoders), taken from the real module shapes
built on the meta device (no weights, no download). Factors are random with singular values that decay
like a trained LoRA's (σᵢ ∝ e^(−i/τ), τ drawn per layer), so the dynamic method has something to choose.

Reference, in the same run: the naive way, a full ``torch.linalg.svd`` of each layer's dense out×in change
(what most resize scripts do), on an evenly spaced sample of layers (the whole model would take many minutes
on a CPU); lorakit's batched factored SVD (r×r problems from Gram matrices) runs on the same sample, and on
the whole LoRA. The naive figure for all layers is extrapolated from the sample and labelled as such.

    .venv/bin/python benchmarks/bench_lora_resize.py [--rank 128] [--sample 4] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch


def sdxl_module_shapes() -> dict[str, tuple[int, ...]]:
    """kohya module name -> weight shape for the SDXL LoRA targets (UNet transformer blocks, both CLIPs)."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from lorakit.lora.keys import sdxl_unet_to_sgm

    unet_config = dict(
        sample_size=128,
        cross_attention_dim=2048,
        transformer_layers_per_block=[1, 2, 10],
        block_out_channels=[320, 640, 1280],
        attention_head_dim=[5, 10, 20],
        use_linear_projection=True,
        down_block_types=["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        up_block_types=["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        addition_embed_type="text_time",
        addition_time_embed_dim=256,
        projection_class_embeddings_input_dim=2816,
    )
    with torch.device("meta"):
        unet = UNet2DConditionModel(**unet_config)
        te1 = CLIPTextModel(CLIPTextConfig(hidden_size=768, intermediate_size=3072, num_hidden_layers=12))
        te2 = CLIPTextModelWithProjection(
            CLIPTextConfig(
                hidden_size=1280,
                intermediate_size=5120,
                num_hidden_layers=32,
                num_attention_heads=20,
                projection_dim=1280,
            )
        )
    shapes = {}
    config = dict(unet.config)
    for path, module in unet.named_modules():
        if ".attentions." in path and isinstance(module, torch.nn.Linear):
            shapes["lora_unet_" + sdxl_unet_to_sgm(path, config).replace(".", "_")] = tuple(module.weight.shape)
    for prefix, model in (("lora_te1", te1), ("lora_te2", te2)):
        for path, module in model.named_modules():
            if isinstance(module, torch.nn.Linear) and (".self_attn." in path or ".mlp." in path):
                shapes[f"{prefix}_{path.replace('.', '_')}"] = tuple(module.weight.shape)
    return shapes


def build_lora(shapes: dict[str, tuple[int, ...]], rank: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random factors with decaying spectra. Windows of one random pool stand in for fresh draws per layer:
    drawing ~450 M normal numbers would take longer than the resize being measured."""
    g = torch.Generator().manual_seed(seed)
    pool = torch.randn(1 << 24, generator=g)
    steps = torch.arange(rank, dtype=torch.float32)
    tensors = {}

    def window(n: int) -> torch.Tensor:
        start = int(torch.randint(0, pool.numel() - n, (), generator=g))
        return pool[start : start + n]

    for name, (out, inp) in shapes.items():
        decay = torch.exp(-steps / (8 + 40 * float(torch.rand((), generator=g))))
        tensors[f"{name}.lora_down.weight"] = (window(rank * inp).view(rank, inp) / math.sqrt(inp)).half()
        tensors[f"{name}.lora_up.weight"] = (window(out * rank).view(out, rank) * decay / math.sqrt(rank)).half()
        tensors[f"{name}.alpha"] = torch.tensor(float(rank // 2), dtype=torch.float16)
    return tensors


def naive_resize(modules, k: int, device: str) -> list[float]:
    """The usual way: dense change, full SVD, keep k. Returns retained Frobenius fractions."""
    kept = []
    for m in modules:
        w = m.delta().flatten(1).to(device)
        u, s, vh = torch.linalg.svd(w, full_matrices=False)
        _up, _down = u[:, :k] * s[:k], vh[:k]
        energy = s.double().square()
        kept.append(math.sqrt(float(energy[:k].sum() / energy.sum())))
    return kept


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    from lorakit.lora.modules import from_tensors
    from lorakit.lora.resize import resize_state

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rank", type=int, default=128)
    parser.add_argument("--target", type=int, default=32)
    parser.add_argument("--fro", type=float, default=0.9)
    parser.add_argument("--sample", type=int, default=4, help="layers in the naive-vs-lorakit comparison")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    shapes = sdxl_module_shapes()
    state = from_tensors(build_lora(shapes, args.rank))
    params = sum(v.numel() for v in state.tensors().values())
    step = max(1, len(state.modules) // args.sample)
    sample_names = list(state.modules)[::step][: args.sample]
    sample = from_tensors({k: v for k, v in state.tensors().items() if k.split(".")[0] in sample_names})

    _sync(args.device)
    t0 = time.perf_counter()
    naive_kept = naive_resize(list(sample.modules.values()), args.target, args.device)
    _sync(args.device)
    naive_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, ours_sample = resize_state(sample, rank=args.target, device=args.device)
    _sync(args.device)
    ours_sample_s = time.perf_counter() - t0
    ours_kept = {m.name: m.retained_fro for m in ours_sample.modules}
    agreement = max(abs(ours_kept[name] - kept) for name, kept in zip(sample.modules, naive_kept, strict=True))

    t0 = time.perf_counter()
    _, fixed = resize_state(state, rank=args.target, device=args.device)
    _sync(args.device)
    fixed_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, dynamic = resize_state(state, rank=args.rank, method="sv_fro", value=args.fro, device=args.device)
    _sync(args.device)
    dynamic_s = time.perf_counter() - t0
    # Again, warm: the first whole-LoRA pass also pays for the allocator and page faults of ~GBs of buffers.
    t0 = time.perf_counter()
    resize_state(state, rank=args.target, device=args.device)
    _sync(args.device)
    fixed_warm_s = time.perf_counter() - t0
    dyn = dynamic.to_dict()

    rows = [
        ("layers / parameters", f"{len(state.modules)} / {params / 1e6:.1f} M (rank {args.rank})"),
        (f"naive dense SVD, {len(sample_names)} layers", f"{naive_s:.2f} s"),
        (
            f"lorakit, same {len(sample_names)} layers",
            f"{ours_sample_s:.2f} s ({naive_s / ours_sample_s:.1f}x faster)",
        ),
        ("retained-energy agreement", f"max |Δ| {agreement:.2e}"),
        (f"lorakit fixed rank {args.target}, all layers", f"{fixed_s:.2f} s first run, {fixed_warm_s:.2f} s again"),
        ("  Frobenius kept mean / min", f"{fixed.mean_retained_fro:.4f} / {fixed.min_retained_fro:.4f}"),
        (f"lorakit sv_fro {args.fro}, all layers", f"{dynamic_s:.2f} s"),
        (
            "  ranks mean / min / max",
            f"{dyn['mean_rank']:.1f} / {min(m.new_rank for m in dynamic.modules)} / "
            f"{max(m.new_rank for m in dynamic.modules)}",
        ),
        ("  Frobenius kept mean / min", f"{dynamic.mean_retained_fro:.4f} / {dynamic.min_retained_fro:.4f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"LoRA resize, SDXL layout, device {args.device}, torch threads {torch.get_num_threads()}")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    figures = {
        "bench": "lora_resize",
        "device": args.device,
        "layers": len(state.modules),
        "rank": args.rank,
        "sample_layers": len(sample_names),
        "naive_sample_s": round(naive_s, 3),
        "lorakit_sample_s": round(ours_sample_s, 3),
        "speedup_vs_naive": round(naive_s / ours_sample_s, 2),
        "naive_full_estimate_s": round(naive_s * len(state.modules) / len(sample_names), 1),
        "retained_agreement_max_abs": agreement,
        "fixed_rank": args.target,
        "fixed_s": round(fixed_s, 3),
        "fixed_warm_s": round(fixed_warm_s, 3),
        "fixed_mean_retained_fro": round(fixed.mean_retained_fro, 5),
        "fixed_min_retained_fro": round(fixed.min_retained_fro, 5),
        "sv_fro": args.fro,
        "sv_fro_s": round(dynamic_s, 3),
        "sv_fro_mean_rank": round(dyn["mean_rank"], 2),
        "sv_fro_mean_retained_fro": round(dynamic.mean_retained_fro, 5),
        "sv_fro_min_retained_fro": round(dynamic.min_retained_fro, 5),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
