"""Model detection over 100 files of mixed families, against merely reading each file's header bytes.

The benchmark writes 100 real safetensors files with full-size key layouts (SD1.5, SD2, SDXL base and
refiner checkpoints, Flux dev/schnell, SD3, VAEs, text encoders, kohya SDXL and SD1 LoRAs) as sparse
files: real headers and real sizes (GBs each), no data blocks on disk. Then it times, per file:

- reference: open, read the 8-byte length and the header bytes (the least any detector must do);
- reference + JSON: the same plus ``json.loads`` of the header;
- ``detect()``: our full detection (header parse and checks, family rules, dtype histogram, metadata).

Target: detect() under 50 ms per file (p95) on a laptop disk.

    .venv/bin/python benchmarks/bench_detect.py [--files 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the layout generators live with the tests

from tests.models import layouts

TARGET_MS = 50.0


def _lora_from_unet(unet: dict, prefix: str) -> dict:
    """A kohya LoRA over every attention projection of a UNet layout (what a real SDXL/SD1 LoRA holds).

    kohya names SDXL modules after the original (SGM) layout and SD1 modules after diffusers' layout."""
    shapes: dict[str, tuple[int, ...]] = {}
    for key, shape in unet.items():
        if ".attn" in key and key.endswith(".weight") and len(shape) == 2:
            name = "lora_unet_" + key.removeprefix(prefix).removesuffix(".weight").replace(".", "_")
            shapes[f"{name}.lora_down.weight"] = (16, shape[1])
            shapes[f"{name}.lora_up.weight"] = (shape[0], 16)
            shapes[f"{name}.alpha"] = ()
    return shapes


def _diffusers_sd1_unet() -> dict:
    """SD1.5's UNet in diffusers naming, from the diffusers class built on the meta device (no weights)."""
    import torch
    from diffusers import UNet2DConditionModel

    with torch.device("meta"):
        unet = UNet2DConditionModel(cross_attention_dim=768)
    return {k: tuple(v.shape) for k, v in unet.state_dict().items()}


def _kinds() -> list[tuple[str, dict, str, dict | None]]:
    sdxl_unet = layouts.ldm_unet(**layouts.UNETS["sdxl"])
    sd1_unet = _diffusers_sd1_unet()
    lora_meta = {"ss_network_module": "networks.lora", "ss_network_dim": "16", "ss_network_alpha": "8",
                 "ss_tag_frequency": json.dumps({"10_x": {f"tag{i}": i for i in range(300)}})}  # fmt: skip
    return [
        ("sd15", layouts.sd_checkpoint("sd1"), "F16", None),
        ("sd21", layouts.sd_checkpoint("sd2"), "F16", None),
        ("sdxl", layouts.sd_checkpoint("sdxl"), "F16", None),
        ("refiner", layouts.sd_checkpoint("sdxl_refiner"), "F16", None),
        ("flux-dev", layouts.flux_transformer(True), "BF16", None),
        ("flux-schnell", layouts.flux_transformer(False), "F8_E4M3", None),
        ("sd3", layouts.sd3_transformer(), "F16", None),
        ("vae", layouts.ldm_vae(""), "F32", None),
        ("clip-g", layouts.open_clip_text("", 1280, 32), "F16", None),
        ("lora-sdxl", _lora_from_unet(sdxl_unet, "model.diffusion_model."), "F16", lora_meta),
        ("lora-sd1", _lora_from_unet(sd1_unet, ""), "F16", lora_meta),
    ]


def _reference(path: Path, parse: bool) -> None:
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        raw = f.read(n)
    if parse:
        json.loads(raw)


def _time(fn, paths: list[Path], rounds: int) -> list[float]:
    per_file: list[float] = []
    for _ in range(rounds):
        for path in paths:
            start = time.perf_counter()
            fn(path)
            per_file.append((time.perf_counter() - start) * 1000)
    return per_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from lorakit.models.detect import detect

    kinds = _kinds()
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.files):
            name, shapes, dtype, metadata = kinds[i % len(kinds)]
            paths.append(layouts.write_sparse(Path(tmp) / f"{i:03d}-{name}.safetensors", shapes, dtype, metadata))
        apparent = sum(p.stat().st_size for p in paths)
        detected = {detect(p).label for p in paths}  # one warm-up pass (page cache, imports)
        results = {
            "reference_read_header": _time(lambda p: _reference(p, False), paths, args.rounds),
            "reference_read_and_parse": _time(lambda p: _reference(p, True), paths, args.rounds),
            "detect": _time(detect, paths, args.rounds),
        }

    def p95(values: list[float]) -> float:
        return statistics.quantiles(values, n=20)[18]

    print(f"{args.files} files, {apparent / 1e9:.0f} GB apparent size, {len(detected)} kinds: {sorted(detected)}")
    print(f"{'what':28} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for what, values in results.items():
        print(f"{what:28} {statistics.median(values):10.3f} {p95(values):8.3f} {max(values):8.3f}")
    figures = {
        "benchmark": "detect",
        "files": args.files,
        "detect_median_ms": round(statistics.median(results["detect"]), 3),
        "detect_p95_ms": round(p95(results["detect"]), 3),
        "read_header_median_ms": round(statistics.median(results["reference_read_header"]), 3),
        "read_and_parse_median_ms": round(statistics.median(results["reference_read_and_parse"]), 3),
        "ratio_detect_vs_read": round(
            statistics.median(results["detect"]) / statistics.median(results["reference_read_header"]), 2
        ),
        "ratio_detect_vs_parse": round(
            statistics.median(results["detect"]) / statistics.median(results["reference_read_and_parse"]), 2
        ),
        "target_ms": TARGET_MS,
        "meets_target": p95(results["detect"]) < TARGET_MS,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
