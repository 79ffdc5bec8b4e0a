"""Peak memory and time of loading a full-size SD1.5 model: lorakit against sd-scripts' own loader.

    .venv/bin/python benchmarks/bench_load_memory.py --sd-scripts /tmp/sd-scripts --sd-python /tmp/sdvenv/bin/python

Each load runs in its own process, which reports its peak resident memory (``ru_maxrss``) when loading ends,
then its resident memory once every weight has been read (what a training step reads; weights left as views of
a mapped file become resident only then) and how much of that is file-backed (``RssFile``). Rows:

- lorakit: ``load_model`` as training calls it on the CPU (weights copied into ordinary memory);
- lorakit, weights as file views: ``load_model(in_memory=False)``, how lorakit loaded before;
- sd-scripts: ``train_util._load_target_model`` as train_network.py calls it (a diffusers folder is read with
  diffusers, then its UNet is copied into sd-scripts' own UNet class; a single file is read into memory and
  converted).

The model is the random-weight SD1.5 folder of ``benchmarks/random_sd15.py``, and a single-file checkpoint of it
written with sd-scripts' own ``model_util.save_stable_diffusion_checkpoint``. sd-scripts' venv and torchvision
stand-in are as in ``bench_vs_sd_scripts.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

PROBE = r"""
import json, resource, sys, time
import torch

def status():
    out = {}
    for line in open("/proc/self/status"):
        if line.startswith(("VmRSS", "RssAnon", "RssFile")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    return out

kind, source = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if kind.startswith("lorakit"):
    from lorakit.models.loading import load_model
    family = load_model(source, in_memory=kind == "lorakit", config="sd1" if source.endswith(".safetensors") else None)
    c = family.components
    modules = [c.unet, c.vae, *c.text_encoders]
else:
    import argparse
    sys.path.insert(0, sys.argv[3])
    from library import train_util
    args = argparse.Namespace(pretrained_model_name_or_path=source, vae=None, v2=False)
    te, vae, unet, _ = train_util._load_target_model(args, torch.float32)
    modules = [unet, vae, te]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
loaded = status()
with torch.no_grad():
    for m in modules:
        for t in m.state_dict().values():
            t.float().sum()
touched = status()
print(json.dumps({"seconds": seconds, "peak_mb": peak, "loaded": loaded, "touched": touched,
                  "final_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

WRITE_SINGLE_FILE = r"""
import sys, torch
sys.path.insert(0, sys.argv[1])
import argparse
from library import train_util, model_util
args = argparse.Namespace(pretrained_model_name_or_path=sys.argv[2], vae=None, v2=False)
te, vae, unet, _ = train_util._load_target_model(args, torch.float32)
model_util.save_stable_diffusion_checkpoint(False, sys.argv[3], te, unet, None, 0, 0, {}, torch.float32, vae)
"""


def run(cmd: list[str], env: dict) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    import os

    import random_sd15

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sd-scripts", required=True)
    parser.add_argument("--sd-python", required=True)
    parser.add_argument("--work", type=Path, default=Path("/tmp/lorakit-vs-sd-scripts"))
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--standin", type=Path, default=None, help="where the torchvision stand-in is written")
    parser.add_argument("--only", default="folder,single", help="folder, single or both")
    args = parser.parse_args()
    work = args.work.resolve()
    model = args.model or random_sd15.build(work / "sd15-random")
    standin = args.standin or work / "standin"
    if not (standin / "torchvision").is_dir():
        from bench_vs_sd_scripts import TORCHVISION_STANDIN

        for name, text in TORCHVISION_STANDIN.items():
            (standin / "torchvision" / name).parent.mkdir(parents=True, exist_ok=True)
            (standin / "torchvision" / name).write_text(text, encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"HF_HUB_OFFLINE": "1"}
    ours = base | {"PYTHONPATH": str(ROOT / "src")}
    has_tv = subprocess.run([args.sd_python, "-c", "import torchvision"], capture_output=True).returncode == 0
    theirs = base | {"PYTHONPATH": "" if has_tv else str(standin)}  # the stand-in only where torchvision fails
    single = work / "sd15-random.safetensors"
    sources = {"folder": str(model), "single": str(single)}
    if "single" in args.only and not single.is_file():
        subprocess.run(
            [args.sd_python, "-c", WRITE_SINGLE_FILE, args.sd_scripts, str(model), str(single)], env=theirs, check=True
        )
    print(f"{'':34}{'load s':>8}{'peak MB':>9}{'RSS after':>11}{'RSS all read':>14}{'of it file':>12}")
    for what in args.only.split(","):
        for kind, python, env in (
            ("lorakit", sys.executable, ours),
            ("lorakit-mmap", sys.executable, ours),
            ("sd-scripts", args.sd_python, theirs),
        ):
            r = run([python, "-c", PROBE, kind, sources[what], args.sd_scripts], env)
            label = {"lorakit": "lorakit", "lorakit-mmap": "lorakit, weights as file views"}.get(kind, kind)
            print(
                f"{label + ' (' + what + ')':34}{r['seconds']:>8.1f}{r['peak_mb']:>9.0f}{r['loaded']['VmRSS']:>11.0f}"
                f"{r['touched']['VmRSS']:>14.0f}{r['touched']['RssFile']:>12.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
