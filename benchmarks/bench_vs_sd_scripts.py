"""lorakit against sd-scripts' train_network.py, side by side: same model, same data, same settings.

    .venv/bin/python benchmarks/bench_vs_sd_scripts.py --sd-scripts /tmp/sd-scripts --sd-python /tmp/sdvenv/bin/python

Both trainers train one LoRA on the same random-weight, full-size SD1.5 diffusers folder (built from lorakit's
shipped layout by ``benchmarks/random_sd15.py``; nothing is downloaded), on the same images and captions, with
the same settings: lorakit's config is written once, and sd-scripts gets lorakit's own export of it
(``config.toml`` + ``dataset.toml``, lorakit.config.kohya_export). The runs alternate, A B A B A B, one process
each, so a change in the machine's load falls on both.

Both processes carry the same timing hook (a ``sitecustomize`` put first on their ``PYTHONPATH``): a global
PyTorch optimizer-step post-hook that records the wall clock, the process CPU time and the memory after every
optimizer step (after a CUDA synchronize on a GPU). A step's time is the time between two optimizer steps; the
first ``--warmup`` steps are left out. Memory: ``peak`` is the process' highest resident memory (CPU) or
``torch.cuda.max_memory_allocated`` (GPU) over the whole run, loading included; ``before step 1`` is that peak
when the first step ends (loading, caching and one step); ``training`` is the highest value seen at the timed
steps (resident memory on the CPU, allocated memory on a GPU).

sd-scripts needs its own venv (its pinned diffusers/transformers), for example::

    python3 -m venv /tmp/sdvenv && /tmp/sdvenv/bin/pip install torch accelerate==1.6.0 transformers==4.54.1 \\
        diffusers==0.32.1 safetensors voluptuous toml einops opencv-python-headless imagesize ftfy rich

Its CLIP tokenizer is put into its ``--tokenizer_cache_dir`` from the vocabulary lorakit ships, so it reads
nothing from the Hub either. ``--with-mmap`` adds a third trainer: lorakit with its frozen weights left as views
of the memory-mapped files (``load_model(in_memory=False)``, how lorakit loaded before), for the before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

HOOK = r'''
"""Timing hook of benchmarks/bench_vs_sd_scripts.py (the same in both trainers)."""
import atexit, json, os, resource, time

_OUT = os.environ.get("BENCH_HOOK_OUT")


def _rss_mb():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_mb():
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if os.uname().sysname == "Linux" else peak / 2**20


if _OUT:
    import torch
    from torch.optim.optimizer import register_optimizer_step_post_hook

    _steps, _info = [], {}

    def _hook(optimizer, args, kwargs):
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        if cuda:
            torch.cuda.synchronize()
        record = {"wall": time.perf_counter(), "cpu": time.process_time(), "rss_mb": _rss_mb()}
        if cuda:
            record["cuda_mb"] = torch.cuda.memory_allocated() / 2**20
            record["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
        if not _info:
            params = {id(p): p for g in optimizer.param_groups for p in g["params"] if p.requires_grad}
            _info["trainable_params"] = sum(p.numel() for p in params.values())
            _info["peak_before_first_step_mb"] = record.get("cuda_peak_mb", _peak_mb())
            _info["optimizer"] = type(optimizer).__name__
            _info["threads"] = torch.get_num_threads()
        _steps.append(record)

    register_optimizer_step_post_hook(_hook)

    if os.environ.get("BENCH_LORAKIT_MMAP") == "1":  # lorakit as it loaded before: weights left as file views
        import functools

        import lorakit.models.loading as _loading

        _loading.load_model = functools.partial(_loading.load_model, in_memory=False)

    @atexit.register
    def _write():
        cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
        peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _peak_mb()
        with open(_OUT, "w") as f:
            json.dump({"steps": _steps, "info": _info, "peak_mb": peak, "torch": torch.__version__}, f)
'''

# sd-scripts imports torchvision for two transforms of its data loader; a venv without it (no torchvision wheel
# matches every torch build) gets these, which do what torchvision's do to an HWC uint8 image.
TORCHVISION_STANDIN = {
    "__init__.py": "from . import transforms  # stand-in written by bench_vs_sd_scripts.py\n",
    "transforms/__init__.py": """
import numpy as np
import torch

from . import functional


class Compose:
    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x


class ToTensor:
    def __call__(self, pic):
        a = np.asarray(pic)
        if a.ndim == 2:
            a = a[:, :, None]
        t = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))
        return t.float().div(255) if t.dtype == torch.uint8 else t.float()


class Normalize:
    def __init__(self, mean, std):
        self.mean, self.std = torch.tensor(mean), torch.tensor(std)

    def __call__(self, t):
        return (t - self.mean.to(t.dtype)[:, None, None]) / self.std.to(t.dtype)[:, None, None]
""",
    "transforms/functional.py": """
import numpy as np
import torch


def pil_to_tensor(pic):
    a = np.asarray(pic)
    if a.ndim == 2:
        a = a[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def gaussian_blur(*args, **kwargs):
    raise NotImplementedError("torchvision stand-in: gaussian_blur is not available")
""",
}

CAPTION = "kitbot, robot cat, orange body, teal eyes, standing, blue background"


def make_images(folder: Path, count: int, resolution: int) -> Path:
    """``count`` random images with captions, in sd-scripts' ``<repeats>_<name>`` folder layout."""
    import numpy as np
    from PIL import Image

    images = folder / "1_kitbot"
    if images.is_dir() and len(list(images.glob("*.png"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        pixels = rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"{i:03d}.png")
        (images / f"{i:03d}.txt").write_text(f"{CAPTION}, pose {i}\n", encoding="utf-8")
    return folder


def write_configs(args, model: Path, data: Path, work: Path) -> tuple[Path, Path]:
    """lorakit's config (from the sd15-character preset) and lorakit's sd-scripts export of it."""
    from lorakit.config import kohya_export
    from lorakit.config.io import save_config
    from lorakit.config.presets import new_config

    gpu = args.device != "cpu"
    steps = args.warmup + args.steps
    cfg = new_config(
        "sd15-character",
        {
            "model.pretrained_model_name_or_path": str(model),
            "dataset.train_data_dir": str(data),
            "dataset.resolution": args.resolution,
            "dataset.enable_bucket": False,
            "schedule.train_batch_size": args.batch,
            "schedule.max_train_epochs": None,
            "schedule.max_train_steps": steps,
            "network.dim": args.rank,
            "network.alpha": args.rank / 2,
            "optimizer.optimizer_type": "AdamW",
            "memory.mixed_precision": "bf16" if gpu else "no",
            "memory.gradient_checkpointing": args.gradient_checkpointing,
            "memory.cache_latents": True,
            "memory.max_data_loader_n_workers": 0,
            "output.output_dir": str(work / "out"),
            "output.save_every_n_epochs": None,
            "output.save_precision": "fp16",
        },
    )
    lorakit_toml = work / "lorakit-config.toml"
    save_config(cfg, lorakit_toml)
    kohya_export.write(cfg, work / "sd-scripts")
    return lorakit_toml, work / "sd-scripts" / "config.toml"


def tokenizer_cache(work: Path) -> Path:
    """sd-scripts' --tokenizer_cache_dir, holding CLIP-L's tokenizer from the vocabulary lorakit ships."""
    from lorakit.models.clip_vocab import tokenizer_folder

    cache = work / "tokenizers"
    shutil.copytree(tokenizer_folder("clip-l"), cache / "openai_clip-vit-large-patch14", dirs_exist_ok=True)
    return cache


def commands(args, lorakit_toml: Path, kohya_toml: Path, work: Path) -> dict[str, tuple[list[str], dict, Path]]:
    hook = work / "hook"
    hook.mkdir(parents=True, exist_ok=True)
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BENCH_LORAKIT_MMAP")}
    base |= {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    if args.threads:
        base |= {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
    if args.device == "cpu":
        base["CUDA_VISIBLE_DEVICES"] = ""
    sd_path = str(hook)
    has_tv = subprocess.run([args.sd_python, "-c", "import torchvision"], capture_output=True).returncode == 0
    if not has_tv:
        for name, text in TORCHVISION_STANDIN.items():
            (work / "standin" / "torchvision" / name).parent.mkdir(parents=True, exist_ok=True)
            (work / "standin" / "torchvision" / name).write_text(text, encoding="utf-8")
        sd_path += os.pathsep + str(work / "standin")
        print("sd-scripts' venv has no working torchvision: a stand-in for its two transforms is used")
    ours_env = base | {"PYTHONPATH": f"{hook}{os.pathsep}{ROOT / 'src'}"}
    ours = [sys.executable, "-c", "from lorakit.cli.main import run; run()", "train", str(lorakit_toml)]
    theirs = [
        args.sd_python,
        str(Path(args.sd_scripts) / "train_network.py"),
        "--config_file",
        str(kohya_toml),
        "--tokenizer_cache_dir",
        str(tokenizer_cache(work)),
        "--output_dir",
        str(work / "out-sd-scripts"),
    ]
    runs = {
        "lorakit": ([*ours, "-o", str(work / "out-lorakit")], ours_env, ROOT),
        "sd-scripts": (theirs, base | {"PYTHONPATH": sd_path}, Path(args.sd_scripts)),
    }
    if args.with_mmap:
        mmap_env = ours_env | {"BENCH_LORAKIT_MMAP": "1"}
        runs["lorakit-mmap"] = ([*ours, "-o", str(work / "out-lorakit-mmap")], mmap_env, ROOT)
    return runs


def run_once(name: str, spec, work: Path, round_no: int, timeout: int) -> dict:
    cmd, env, cwd = spec
    out = work / "results" / f"{name}-{round_no}.json"
    log = work / "logs" / f"{name}-{round_no}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    shutil.rmtree(work / f"out-{name}", ignore_errors=True)  # lorakit refuses to reuse a finished run folder
    load = os.getloadavg()[0]
    start = time.perf_counter()
    env = env | {"BENCH_HOOK_OUT": str(out)}
    with open(log, "w", encoding="utf-8") as f:
        proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout)
    if proc.returncode != 0 or not out.is_file():
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        raise SystemExit(f"{name} (round {round_no}) failed with exit code {proc.returncode}; log {log}:\n{tail}")
    result = json.loads(out.read_text(encoding="utf-8"))
    result.update(total_s=time.perf_counter() - start, load_before=load, load_after=os.getloadavg()[0])
    return result


def summarise(result: dict, warmup: int, gpu: bool) -> dict:
    steps = result["steps"]
    timed = steps[warmup:]
    if len(timed) < 2:
        raise SystemExit(f"only {len(steps)} optimizer steps were recorded; raise --steps")
    wall = [b["wall"] - a["wall"] for a, b in zip(steps[warmup - 1 :], timed, strict=False)]
    cpu = [b["cpu"] - a["cpu"] for a, b in zip(steps[warmup - 1 :], timed, strict=False)]
    memory_key = "cuda_mb" if gpu else "rss_mb"
    return {
        "s_per_step": statistics.median(wall),
        "cpu_s_per_step": statistics.median(cpu),
        "peak_mb": result["peak_mb"],
        "before_first_step_mb": result["info"]["peak_before_first_step_mb"],
        "training_mb": max(s[memory_key] for s in timed),
        "trainable_params": result["info"]["trainable_params"],
        "threads": result["info"]["threads"],
        "load": (result["load_before"] + result["load_after"]) / 2,
        "total_s": result["total_s"],
    }


def spread(values: list[float]) -> str:
    return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"


def report(rows: dict[str, list[dict]], args) -> dict:
    names = list(rows)
    print(
        f"\nSD1.5 full size, random weights; {args.device}, batch {args.batch} at {args.resolution}px, LoRA rank"
        f" {args.rank}, {args.rounds} rounds x {args.steps} timed steps (+{args.warmup} warm-up), interleaved"
    )
    print(f"{'':14}{'s/step':>9}{'CPU s/step':>12}{'peak MB':>10}{'before step 1':>15}{'training MB':>13}"
          f"{'LoRA params':>14}{'load avg':>10}")  # fmt: skip
    for name in names:
        r = rows[name]
        med = {k: statistics.median(x[k] for x in r) for k in r[0] if isinstance(r[0][k], (int, float))}
        print(f"{name:14}{med['s_per_step']:>9.3f}{med['cpu_s_per_step']:>12.3f}{med['peak_mb']:>10.0f}"
              f"{med['before_first_step_mb']:>15.0f}{med['training_mb']:>13.0f}{int(med['trainable_params']):>14,}"
              f"{med['load']:>10.1f}")  # fmt: skip
    figures: dict = {"rounds": rows}
    print("\nSpeed (sd-scripts s/step ÷ the other's, per round; > 1 = faster than sd-scripts), min / median / max")
    for name in names:
        if name == "sd-scripts" or "sd-scripts" not in rows:
            continue
        for key, label in (("s_per_step", "wall"), ("cpu_s_per_step", "CPU")):
            ratios = [t[key] / o[key] for o, t in zip(rows[name], rows["sd-scripts"], strict=True)]
            figures[f"ratio_{name}_{label}"] = ratios
            print(f"  {name} ({label} time): {spread(ratios)}")
        peaks = [o["peak_mb"] / t["peak_mb"] for o, t in zip(rows[name], rows["sd-scripts"], strict=True)]
        print(f"  {name} peak memory / sd-scripts': {spread(peaks)}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="See the module docstring.")
    parser.add_argument("--sd-scripts", required=True, help="a checkout of kohya-ss/sd-scripts")
    parser.add_argument("--sd-python", required=True, help="the python of sd-scripts' own venv")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    parser.add_argument("--model", type=Path, default=None, help="an SD1.5 diffusers folder (default: random weights)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/lorakit-vs-sd-scripts"))
    parser.add_argument("--resolution", type=int, default=None, help="default 256 on the CPU, 512 on a GPU")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--steps", type=int, default=6, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=2, help="steps left out at the start of each run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="OMP/MKL threads for both (default: torch's)")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--with-mmap", action="store_true", help="add lorakit with weights left as file views")
    parser.add_argument("--trainers", default="lorakit,sd-scripts", help="which to run, in this order per round")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per run")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args()
    if args.device is None:
        import torch

        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.resolution = args.resolution or (256 if args.device == "cpu" else 512)
    if not (Path(args.sd_scripts) / "train_network.py").is_file():
        raise SystemExit(f"{args.sd_scripts} is no sd-scripts checkout (no train_network.py)")
    import random_sd15

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or random_sd15.build(work / "sd15-random")
    # One image per step: a single epoch, so no epoch-end work (saving, shuffling) falls between timed steps.
    data = make_images(work / "data", args.warmup + args.steps + 1, args.resolution)
    lorakit_toml, kohya_toml = write_configs(args, model, data, work)
    every = commands(args, lorakit_toml, kohya_toml, work)
    names = args.trainers.split(",") + (["lorakit-mmap"] if args.with_mmap else [])
    unknown = [name for name in names if name not in every]
    if unknown:
        raise SystemExit(f"unknown trainer(s) {', '.join(unknown)}: choose from {', '.join(every)}")
    runs = {name: every[name] for name in names}
    versions = subprocess.run(
        [args.sd_python, "-c", "import torch,diffusers,transformers;print(torch.__version__,diffusers.__version__,"
         "transformers.__version__)"], capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    git = ["git", "-C", args.sd_scripts, "rev-parse", "--short", "HEAD"]
    commit = subprocess.run(git, capture_output=True, text=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"sd-scripts {commit.stdout.strip() or '(no git)'} with torch {versions[0]}, diffusers {versions[1]},"
          f" transformers {versions[2]}")  # fmt: skip
    rows: dict[str, list[dict]] = {name: [] for name in runs}
    for round_no in range(1, args.rounds + 1):
        for name, spec in runs.items():
            result = summarise(run_once(name, spec, work, round_no, args.timeout), args.warmup, args.device != "cpu")
            rows[name].append(result)
            print(f"round {round_no} {name:12} {result['s_per_step']:.3f} s/step"
                  f" ({result['cpu_s_per_step']:.3f} CPU s), peak {result['peak_mb']:.0f} MB,"
                  f" load avg {result['load']:.1f}", flush=True)  # fmt: skip
    figures = report(rows, args)
    if args.json:
        args.json.write_text(json.dumps(figures | {"args": {k: str(v) for k, v in vars(args).items()}}, indent=1))


if __name__ == "__main__":
    main()
