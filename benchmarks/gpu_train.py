"""lorakit's training step on a GPU: s/step, images/s, peak VRAM and MFU, optionally against sd-scripts.

One command on a CUDA machine (no downloads: the models are the full-size SD1.5 and SDXL architectures from
lorakit's shipped layouts, src/lorakit/models/arch_configs, with random weights):

    .venv/bin/python benchmarks/gpu_train.py
    .venv/bin/python benchmarks/gpu_train.py --sd-scripts ~/sd-scripts --sd-python ~/sd-scripts/venv/bin/python
    .venv/bin/python benchmarks/gpu_train.py --preset sdxl-lowvram-12gb      # a preset's peak VRAM
    .venv/bin/python benchmarks/gpu_train.py --device cpu --tiny             # smoke run on a CPU (tiny models)
    .venv/bin/python benchmarks/gpu_train.py --dry-run                       # what would run, nothing built

Run --help for every option. What runs, per case (model × batch × gradient checkpointing):

- the model: SD1.5 at 512² or SDXL at 1024², random weights (seed 0) saved once as a diffusers folder under
  --work (about 2 GB for SD1.5 and 7 GB for SDXL, in fp16); the tokenizers are built from lorakit's shipped
  CLIP vocabulary (and written where sd-scripts' --tokenizer_cache_dir looks, so it downloads nothing);
- the data: 8 random images (more for large batches) of the model's resolution with one-line captions;
- the training: LoRA rank 32 (alpha 32) on kohya's usual UNet layers (attention, feed-forward, projections),
  UNet only (the text encoder runs every step, frozen), latents cached, bf16 mixed precision, AdamW (torch;
  lorakit uses its fused kernel on CUDA), constant LR 1e-4, --warmup + --steps optimizer steps;
- each run is its own process, so its peak memory is its own. With --sd-scripts, sd-scripts' train_network.py
  (SD1.5) or sdxl_train_network.py (SDXL) runs right after lorakit's run of the case, on the same model folder,
  data and lorakit's exported settings (`lorakit config export`), repeated --repeats times (A B A B ...).

Measured the same way in both trainers: a global torch optimizer-step hook (installed in sd-scripts through a
generated sitecustomize.py) synchronises CUDA and records the time of every optimizer step; s/step is the
median interval after the warm-up steps; images/s = batch / s/step; peak VRAM is torch's
max_memory_allocated over the steps ("steps") and over the whole process ("run", loading and caching
included). FLOPs are counted once with torch.utils.flop_counter.FlopCounterMode on one of lorakit's warm-up
steps (forward + backward, executed work: with gradient checkpointing the recomputed forward counts too);
TFLOP/s = FLOPs / s/step; MFU = TFLOP/s / the GPU's dense bf16 peak (table below, or --peak-tflops). The
sd-scripts rows use lorakit's FLOP count for the same case. "speed ×" = sd-scripts s/step ÷ lorakit s/step
(above 1: lorakit is faster).
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

MODELS = {"sd15": ("sd1", 512), "sdxl": ("sdxl", 1024)}
# Dense bf16 tensor-core peak, TFLOP/s, from the vendors' datasheets (without sparsity). Matched as a
# substring of torch.cuda.get_device_name(), first match wins; --peak-tflops overrides.
PEAK_BF16_TFLOPS = [
    ("H200", 989.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("GH200", 989.0),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("RTX 6000 Ada", 364.0),
    ("RTX A6000", 155.0),
    ("RTX 5090", 209.5),
    ("RTX 4090", 165.2),
    ("RTX 4080", 97.5),
    ("RTX 3090", 71.0),
]

# The probe: one optimizer-step hook, the same in lorakit's process and (as sitecustomize.py) in sd-scripts'.
PROBE = r"""
import atexit, json, os, resource, time
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

_OUT = os.environ.get("LORAKIT_BENCH_OUT")
_WARMUP = int(os.environ.get("LORAKIT_BENCH_WARMUP", "2"))
_TIMES = []
_PEAK = {"setup": 0}


def _lorakit_bench_hook(optimizer, args, kwargs):
    if type(optimizer).__name__ == "AcceleratedOptimizer":
        return  # the wrapper's step calls the real optimizer's, which is the one counted
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    _TIMES.append(time.perf_counter())
    if len(_TIMES) == _WARMUP and torch.cuda.is_available():
        _PEAK["setup"] = torch.cuda.max_memory_allocated()
        torch.cuda.reset_peak_memory_stats()


def _lorakit_bench_write():
    if not _OUT:
        return
    cuda = torch.cuda.is_available()
    steps_peak = torch.cuda.max_memory_allocated() if cuda else None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {"times": _TIMES, "peak_steps": steps_peak, "peak_run": max(_PEAK["setup"], steps_peak or 0) if cuda
              else None, "peak_rss": rss}
    with open(_OUT, "w") as f:
        json.dump(result, f)


if _OUT:
    register_optimizer_step_post_hook(_lorakit_bench_hook)
    atexit.register(_lorakit_bench_write)
"""


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="gpu_train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--models", default="sd15,sdxl", help="comma list of sd15 (512²) and sdxl (1024²)")
    p.add_argument("--batch", default="1,4", help="comma list of batch sizes (default 1,4)")
    p.add_argument("--checkpointing", default="off,on", help="gradient checkpointing: comma list of off/on")
    p.add_argument("--steps", type=int, default=20, help="timed optimizer steps per run (default 20)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first; FLOPs are counted on the 2nd")
    p.add_argument(
        "--precision",
        choices=["bf16", "fp16", "no"],
        help="mixed precision (default: bf16; 'no' with --device cpu, where bf16 is emulated and slow)",
    )
    p.add_argument("--rank", type=int, default=32, help="LoRA rank (alpha = rank)")
    p.add_argument("--repeats", type=int, default=1, help="runs per case and trainer, interleaved (A B A B)")
    p.add_argument(
        "--preset",
        help="instead of the grid: run this preset (its own batch, resolution, optimizer,"
        " precision...) on its family's random full-size model and report its peak VRAM",
    )
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"], help="cpu: hide the GPUs (smoke runs)")
    p.add_argument(
        "--tiny",
        action="store_true",
        help="lorakit's tiny models at 64² instead of the full-size"
        " ones (a seconds-long smoke run that checks the whole path, e.g. on a CPU)",
    )
    p.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak in TFLOP/s (for MFU)")
    p.add_argument("--sd-scripts", type=Path, help="an sd-scripts checkout (kohya-ss/sd-scripts) to compare with")
    p.add_argument("--sd-python", type=Path, help="the Python of sd-scripts' own environment (default: this one)")
    p.add_argument(
        "--work",
        type=Path,
        help="folder for models, data and runs (default: a temp folder; the"
        " random models are reused from it on the next run)",
    )
    p.add_argument("--json", type=Path, help="also write the results as JSON here")
    p.add_argument("--timeout", type=int, default=3600, help="seconds allowed per training run")
    p.add_argument("--dry-run", action="store_true", help="print the cases and commands; build and run nothing")
    p.add_argument("--worker", help=argparse.SUPPRESS)  # internal: one lorakit run, described in JSON
    return p.parse_args(argv)


# -- models and data ------------------------------------------------------------------------------------------
def build_random_model(family: str, folder: Path) -> Path:
    """The full-size ``family`` architecture (lorakit's shipped layout) with random weights, as a diffusers
    folder in fp16; reused when already built."""
    import shutil

    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    from lorakit.models.clip_vocab import clip_tokenizer
    from lorakit.models.single_file import builtin_layout

    marker = folder / "lorakit-bench.json"
    if marker.exists():
        return folder
    layout = builtin_layout(family)
    shutil.copytree(layout, folder, dirs_exist_ok=True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(layout / "unet"))
        unet.to(torch.float16).save_pretrained(folder / "unet")
        del unet
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(layout / "vae"))
        vae.to(torch.float16).save_pretrained(folder / "vae")
        encoders = [("text_encoder", CLIPTextModel, "clip-l")]
        if family == "sdxl":
            encoders.append(("text_encoder_2", CLIPTextModelWithProjection, "openclip"))
        for i, (slot, cls, kind) in enumerate(encoders):
            encoder = cls(CLIPTextConfig.from_pretrained(layout / slot))
            encoder.to(torch.float16).save_pretrained(folder / slot)
            clip_tokenizer(kind).save_pretrained(folder / ("tokenizer" if i == 0 else "tokenizer_2"))
    marker.write_text(json.dumps({"family": family, "seed": 0}))
    return folder


def sd_scripts_tokenizers(model: Path, folder: Path) -> Path:
    """sd-scripts' --tokenizer_cache_dir: the model's tokenizers under the Hub names it would download."""
    from transformers import CLIPTokenizer

    names = {"tokenizer": "openai_clip-vit-large-patch14", "tokenizer_2": "laion_CLIP-ViT-bigG-14-laion2B-39B-b160k"}
    for slot, name in names.items():
        if (model / slot).is_dir() and not (folder / name).exists():
            CLIPTokenizer.from_pretrained(model / slot).save_pretrained(folder / name)
    return folder


def make_data(folder: Path, resolution: int, count: int) -> Path:
    import numpy as np
    from PIL import Image

    subset = folder / "1_bench"
    if len(list(subset.glob("*.png"))) >= count:
        return folder
    subset.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 255, (resolution, resolution, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(subset / f"img_{i:03d}.png")
        (subset / f"img_{i:03d}.txt").write_text(f"bench, image {i}, a photo of a random pattern\n")
    return folder


# -- one run -------------------------------------------------------------------------------------------------
def case_config(spec: dict):
    from lorakit.config.presets import new_config

    common = {
        "model.pretrained_model_name_or_path": spec["model"],
        "dataset.train_data_dir": spec["data"],
        "schedule.max_train_epochs": None,
        "schedule.max_train_steps": spec["warmup"] + spec["steps"],
        "schedule.seed": 0,
        "output.output_dir": spec["out"],
        "output.output_name": "bench",
        "samples.sample_prompts": None,
    }
    if spec.get("tiny"):  # the tiny models are trained at 64², whatever the preset says
        common.update({"dataset.resolution": 64, "dataset.enable_bucket": False})
    if spec.get("preset"):
        return new_config(spec["preset"], {**common, "model.family": spec["family"]})
    return new_config(
        "tiny-demo",
        {
            **common,
            "model.family": spec["family"],
            "dataset.resolution": spec["resolution"],
            "dataset.enable_bucket": False,
            "schedule.train_batch_size": spec["batch"],
            "network.dim": spec["rank"],
            "network.alpha": spec["rank"],
            "network.train_unet_only": True,
            "memory.mixed_precision": spec["precision"],
            "memory.gradient_checkpointing": spec["checkpointing"],
            "memory.cache_latents": True,
            "optimizer.optimizer_type": "AdamW",
            "learning.learning_rate": 1e-4,
            "learning.lr_scheduler": "constant",
            "output.save_precision": None,
        },
    )


def worker(spec: dict) -> None:
    """One lorakit run in this process: the probe times its steps; one warm-up step is FLOP-counted."""
    os.environ["LORAKIT_BENCH_OUT"] = spec["result"]
    os.environ["LORAKIT_BENCH_WARMUP"] = str(spec["warmup"])
    exec(compile(PROBE, "lorakit_bench_probe", "exec"), {"__name__": "lorakit_bench_probe"})
    from torch.utils.flop_counter import FlopCounterMode

    from lorakit.train import run as run_module
    from lorakit.train import trainer

    flops = {}
    original = trainer.training_step

    def counted(*args, **kwargs):
        flops["calls"] = flops.get("calls", 0) + 1
        if flops["calls"] != 2:  # the 2nd step: warm (allocations made), and never a timed one (warmup ≥ 2)
            return original(*args, **kwargs)
        with FlopCounterMode(display=False) as counter:
            loss = original(*args, **kwargs)
        flops["step"] = counter.get_total_flops()
        return loss

    trainer.training_step = counted
    cfg = case_config(spec)
    run_module.train(cfg)
    # Per optimizer step: with gradient accumulation (a preset's) a step is that many counted micro-steps.
    accumulate = int(cfg.schedule.gradient_accumulation_steps)
    per_step = flops["step"] * accumulate if flops.get("step") else None
    images = int(cfg.schedule.train_batch_size) * accumulate
    Path(spec["result"] + ".flops").write_text(json.dumps({"flops": per_step, "batch": images}))


def _read_result(path: Path, warmup: int) -> dict:
    data = json.loads(path.read_text())
    times = data["times"][max(warmup - 1, 0) :]
    intervals = [b - a for a, b in itertools.pairwise(times)]
    data["s_per_step"] = statistics.median(intervals) if intervals else None
    extra = Path(str(path) + ".flops")
    if extra.exists():
        data.update(json.loads(extra.read_text()))
    return data


def run_lorakit(spec: dict, env: dict, timeout: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    subprocess.run(cmd, env=env, check=True, timeout=timeout)
    return _read_result(Path(spec["result"]), spec["warmup"])


def run_sd_scripts(spec: dict, args, env: dict, work: Path) -> dict:
    """sd-scripts on the same model, data and lorakit's exported settings, timed by the same probe."""
    import tomli_w
    import tomllib

    from lorakit.config.kohya import export_kohya, to_kohya

    cfg = case_config({**spec, "out": str(Path(spec["out"]) / "sd-scripts")})
    folder = Path(spec["out"]) / "kohya"
    export_kohya(cfg, folder)
    config = tomllib.loads((folder / "config.toml").read_text())
    config["tokenizer_cache_dir"] = str(sd_scripts_tokenizers(Path(spec["model"]), work / "sd-scripts-tokenizers"))
    (folder / "config.toml").write_text(tomli_w.dumps(config))
    probe = work / "probe"
    probe.mkdir(exist_ok=True)
    (probe / "sitecustomize.py").write_text(PROBE)
    result = Path(spec["result"] + ".sd-scripts.json")
    run_env = {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(probe), env.get("PYTHONPATH", "")])),
        "LORAKIT_BENCH_OUT": str(result),
        "LORAKIT_BENCH_WARMUP": str(spec["warmup"]),
    }
    script = args.sd_scripts / to_kohya(cfg).script
    python = str(args.sd_python or sys.executable)
    subprocess.run(
        [python, str(script), "--config_file", str(folder / "config.toml")],
        cwd=args.sd_scripts,
        env=run_env,
        check=True,
        timeout=args.timeout,
    )
    return _read_result(result, spec["warmup"])


# -- the grid and the table ----------------------------------------------------------------------------------
def cases(args) -> list[dict]:
    if args.preset:
        from lorakit.config.presets import preset_data

        family = str(preset_data(args.preset).get("model", {}).get("family", "sdxl"))
        name = {"sd1": "sd15", "sdxl": "sdxl"}.get(family, "sdxl")
        return [{"name": name, "family": family, "resolution": MODELS[name][1], "preset": args.preset}]
    found = []
    for name in args.models.split(","):
        family, resolution = MODELS[name.strip()]
        for batch in (int(b) for b in args.batch.split(",")):
            for ckpt in (c.strip() == "on" for c in args.checkpointing.split(",")):
                found.append(
                    {
                        "name": name.strip(),
                        "family": family,
                        "resolution": resolution,
                        "batch": batch,
                        "checkpointing": ckpt,
                    }
                )
    return found


def peak_tflops(args) -> tuple[str, float | None]:
    import torch

    if args.device == "cpu" or not torch.cuda.is_available():
        return "CPU", args.peak_tflops
    name = torch.cuda.get_device_name(0)
    if args.peak_tflops:
        return name, args.peak_tflops
    return name, next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


def _gb(value) -> str:
    return f"{value / 2**30:.2f}" if value else "-"


def row(case: dict, lk: dict, sd: dict | None, peak: float | None) -> str:
    s = lk["s_per_step"]
    batch = lk.get("batch") or case.get("batch")
    tflop = (lk.get("flops") or 0) / 1e12
    tflops = tflop / s if s and tflop else None
    mfu = f"{100 * tflops / peak:.1f} %" if tflops and peak else "n/a"
    memory = lk["peak_steps"] if lk.get("peak_steps") is not None else lk.get("peak_rss")
    cells = [
        case["name"] + (f" ({case['preset']})" if case.get("preset") else ""),
        f"{case['resolution'] if not case.get('tiny') else 64}²",
        str(batch),
        "-" if case.get("preset") else ("on" if case["checkpointing"] else "off"),
        f"{s:.4f}" if s else "-",
        f"{batch / s:.2f}" if s else "-",
        _gb(memory),
        _gb(lk.get("peak_run")),
        f"{tflop:.3g}" if tflop else "-",
        f"{tflops:.3g}" if tflops else "-",
        mfu,
    ]
    if sd is not None:
        ratio = sd["s_per_step"] / s if s and sd.get("s_per_step") else None
        cells += [
            f"{sd['s_per_step']:.4f}" if sd.get("s_per_step") else "-",
            _gb(sd.get("peak_steps")),
            f"{ratio:.2f}×" if ratio else "-",
        ]
    return "| " + " | ".join(cells) + " |"


HEADER = [
    "model",
    "res",
    "batch",
    "ckpt",
    "s/step",
    "images/s",
    "peak GB (steps)",
    "peak GB (run)",
    "TFLOP/step",
    "TFLOP/s",
    "MFU",
]
SD_HEADER = ["sd-scripts s/step", "sd-scripts peak GB", "speed ×"]


def _median(results: list[dict]) -> dict:
    if len(results) == 1:
        return results[0]
    merged = dict(results[0])
    for key in ("s_per_step", "peak_steps", "peak_run"):
        values = [r[key] for r in results if r.get(key) is not None]
        merged[key] = statistics.median(values) if values else None
    return merged


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    if args.precision is None:
        args.precision = "no" if args.device == "cpu" else "bf16"
    if args.tiny and args.steps == 20 and args.warmup == 5:
        args.steps, args.warmup = 3, 2  # the smoke run's defaults
    if args.warmup < 2:
        raise SystemExit("--warmup must be at least 2 (the FLOP-counted step is the 2nd, and is never timed)")
    if args.sd_scripts and args.tiny:
        raise SystemExit("--sd-scripts needs the full-size models: sd-scripts builds the standard architectures only")
    if args.sd_scripts and not (args.sd_scripts / "train_network.py").is_file():
        raise SystemExit(f"--sd-scripts {args.sd_scripts}: no train_network.py there (give an sd-scripts checkout)")
    todo = cases(args)
    work = args.work or (
        Path("<a new temp folder>") if args.dry_run else Path(tempfile.mkdtemp(prefix="lorakit-gpu-"))
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    if args.dry_run:
        print(f"work folder: {work}")
        for case in todo:
            what = (
                f"preset {case['preset']}"
                if case.get("preset")
                else (f"batch {case['batch']}, gradient checkpointing {'on' if case['checkpointing'] else 'off'}")
            )
            model = f"tiny:{case['family']} at 64²" if args.tiny else f"random full-size {case['name']}"
            print(
                f"- {model} at {case['resolution']}², {what}, {args.precision}, rank {args.rank},"
                f" {args.warmup}+{args.steps} steps × {args.repeats}" + (" + sd-scripts" if args.sd_scripts else "")
            )
        return 0
    gpu, peak = peak_tflops(args)
    import diffusers
    import torch

    import lorakit

    rows = []
    for i, case in enumerate(todo):
        if args.tiny:
            from lorakit.models.tiny import build_tiny_model

            model = build_tiny_model(case["family"], work / f"tiny-{case['family']}")
            resolution = 64
            case["tiny"] = True
        else:
            model = build_random_model(case["family"], work / f"random-{case['name']}")
            resolution = case["resolution"]
        data = make_data(work / f"data-{resolution}", resolution, max(8, 2 * case.get("batch", 1)))
        lk_results, sd_results = [], []
        for r in range(args.repeats):
            spec = {
                "model": str(model),
                "family": case["family"],
                "data": str(data),
                "resolution": resolution,
                "batch": case.get("batch"),
                "checkpointing": case.get("checkpointing"),
                "rank": args.rank,
                "precision": args.precision,
                "steps": args.steps,
                "warmup": args.warmup,
                "preset": case.get("preset"),
                "tiny": args.tiny,
                "out": str(work / f"run-{i}-{r}"),
                "result": str(work / f"run-{i}-{r}.json"),
            }
            lk_results.append(run_lorakit(spec, env, args.timeout))
            if args.sd_scripts:
                sd_results.append(run_sd_scripts(spec, args, env, work))
        lk = _median(lk_results)
        sd = _median(sd_results) if sd_results else None
        rows.append({"case": case, "lorakit": lk, "sd_scripts": sd, "line": row(case, lk, sd, peak)})
        print(rows[-1]["line"], flush=True)
    header = HEADER + (SD_HEADER if args.sd_scripts else [])
    today = datetime.date.today().isoformat()
    print(
        f"\n{today}, {gpu} (bf16 peak {peak or 'unknown'} TFLOP/s), torch {torch.__version__}"
        f" (CUDA {torch.version.cuda}), diffusers {diffusers.__version__}, lorakit {lorakit.__version__},"
        f" {args.precision}, rank {args.rank}, {args.steps} timed steps after {args.warmup}, repeats {args.repeats}"
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        print(r["line"])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "date": today,
                    "device": gpu,
                    "peak_tflops": peak,
                    "rows": [{k: v for k, v in r.items() if k != "line"} for r in rows],
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
