"""Tagging: images/s of the whole pipeline ÷ images/s of the bare ONNX model on prepared tensors.

The model is a ViT with random weights and the WD14 signature (NHWC float32 BGR input at 448 px with a
dynamic batch, sigmoid over 10,861 tags, as SmilingWolf's v3 taggers), built in torch and exported to
ONNX here. The reference runs the same onnxruntime session on tensors prepared in advance; the pipeline
(:func:`lorakit.tagging.wd14.tag_images`) decodes real-size JPEG/PNG files, preprocesses, runs the model,
selects tags and writes every caption (journaled). Target: ratio >= 0.9 (preprocessing is not the
bottleneck).

    .venv/bin/python benchmarks/bench_tagging.py [--n 32] [--rounds 3] [--batch 8] [--depth 6] [--dim 384]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET = 0.9
SIZE, PATCH, TAGS = 448, 16, 10_861


def build_model(folder: Path, depth: int, dim: int) -> None:
    """A plain ViT (patch 16, pre-norm blocks, mean pooling) exported with the WD14 input/output signature."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
            self.heads = dim // 64

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(b, n, 3, self.heads, 64).permute(2, 0, 3, 1, 4)
            attn = torch.softmax(q @ k.transpose(-2, -1) * 64**-0.5, dim=-1)
            x = x + self.proj((attn @ v).transpose(1, 2).reshape(b, n, dim))
            return x + self.mlp(self.norm2(x))

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, dim, PATCH, PATCH)
            self.pos = nn.Parameter(torch.randn(1, (SIZE // PATCH) ** 2, dim) * 0.02)
            self.blocks = nn.Sequential(*[Block() for _ in range(depth)])
            self.norm, self.head = nn.LayerNorm(dim), nn.Linear(dim, TAGS)

        def forward(self, x):  # x: (N, H, W, 3) BGR 0-255, as WD14 models take it
            x = self.patch(x.permute(0, 3, 1, 2) / 127.5 - 1.0).flatten(2).transpose(1, 2) + self.pos
            return torch.sigmoid(self.head(self.norm(self.blocks(x)).mean(1)))

    torch.manual_seed(0)
    model = Tagger().eval()
    with torch.no_grad():
        # Like a trained tagger, most tags improbable and a few dozen likely (a random head would put half
        # of 10,861 tags near 0.5, and the benchmark would time writing 5,000-tag captions).
        model.head.bias.uniform_(-9.0, -3.0)
        model.head.bias[4:44] = 2.0
    folder.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.zeros(1, SIZE, SIZE, 3),),
            str(folder / "model.onnx"),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    rows = ["tag_id,name,category,count"]
    rows += [f"{i},{['general', 'sensitive', 'questionable', 'explicit'][i]},9,1" for i in range(4)]
    rows += [f"{i},tag_{i},{4 if i % 50 == 0 else 0},1" for i in range(4, TAGS)]
    (folder / "selected_tags.csv").write_text("\n".join(rows) + "\n")


def make_images(folder: Path, n: int) -> list[Path]:
    """Photo-sized images (600-1400 px, smooth content that compresses like photos), JPEG and PNG."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        w, h = int(rng.integers(600, 1400)), int(rng.integers(600, 1400))
        img = Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
        path = folder / (f"img{i:04d}.jpg" if i % 3 else f"img{i:04d}.png")
        img.save(path, **({"quality": 90} if path.suffix == ".jpg" else {"compress_level": 1}))
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32, help="images")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is kept")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--depth", type=int, default=6, help="ViT blocks (WD14 ViT: 12)")
    parser.add_argument("--dim", type=int, default=384, help="ViT width (WD14 ViT: 768)")
    parser.add_argument("--workers", type=int, default=None, help="decode threads (default: automatic)")
    args = parser.parse_args()

    from lorakit.data.images import load_rgb
    from lorakit.tagging.tag_rules import TagSettings
    from lorakit.tagging.wd14 import Tagger, prepare_image, tag_images

    with tempfile.TemporaryDirectory(prefix="lorakit-bench-tag-") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        build_model(tmp_path / "model", args.depth, args.dim)
        build_s = time.perf_counter() - t0
        images = make_images(tmp_path / "ds", args.n)
        tagger = Tagger(tmp_path / "model")
        settings = TagSettings(general_threshold=0.5, batch_size=args.batch, existing="overwrite")

        prepared = np.stack([prepare_image(load_rgb(p), tagger.size) for p in images])
        tagger.predict(prepared[: args.batch])  # warm-up: onnxruntime plans memory on the first run
        # Interleaved rounds, best of each: a shared machine's load changes from second to second.
        bare_times, pipeline_times = [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for i in range(0, len(prepared), args.batch):
                tagger.predict(prepared[i : i + args.batch])
            bare_times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            report = tag_images(tmp_path / "ds", images, tagger, settings, workers=args.workers)
            pipeline_times.append(time.perf_counter() - t0)
            assert len(report.tagged) == len(images), report.skipped
        bare_s, pipeline_s = min(bare_times), min(pipeline_times)

    bare_ips, pipe_ips = len(images) / bare_s, len(images) / pipeline_s
    ratio = pipe_ips / bare_ips
    rows = [
        ("model", f"ViT depth {args.depth} width {args.dim}, {SIZE}px, {TAGS} tags, {tagger.provider}"),
        ("images", f"{len(images)} (600-1400 px JPEG/PNG), batch {args.batch}, best of {args.rounds} rounds"),
        ("build + export model (not timed)", f"{build_s:.1f} s"),
        ("bare model on prepared tensors", f"{bare_ips:.2f} images/s"),
        ("full pipeline (decode..captions)", f"{pipe_ips:.2f} images/s"),
        ("ratio", f"{ratio:.3f} (target >= {TARGET})"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(
        json.dumps(
            {
                "bench": "tagging",
                "images": len(images),
                "batch": args.batch,
                "depth": args.depth,
                "dim": args.dim,
                "provider": tagger.provider,
                "bare_images_per_s": round(bare_ips, 3),
                "pipeline_images_per_s": round(pipe_ips, 3),
                "ratio": round(ratio, 3),
                "target_met": ratio >= TARGET,
            }
        )
    )


if __name__ == "__main__":
    main()
