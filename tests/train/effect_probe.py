"""The harness of tests/train/test_settings_take_effect.py: train the tiny model for a couple of steps and
record what the trainer computed, so two runs that differ in one setting can be compared.

``Probes(root, models)`` runs ``probe(settings)`` once per distinct settings (cached), each in its own
folder; a value written ``"@name"`` is a fixture file made on first use (see :meth:`Probes.resolve`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

# The base every probe starts from: the tiny SD1 model, 4 images of 96x64 (so crops and buckets matter),
# 2 repeats, batch 2, 2 steps, plain AdamW at a high rate so two steps move the weights visibly.
BASE: dict[str, Any] = {
    "model.pretrained_model_name_or_path": "@tiny_sd1",
    "dataset.train_data_dir": "@data",
    "schedule.max_train_epochs": None,
    "schedule.max_train_steps": 2,
    "memory.cache_latents": False,
    "output.output_name": "probe",
}
# Metadata that differs between any two runs (times, paths, hashes of the run itself).
VOLATILE_METADATA = {"ss_training_started_at", "ss_training_finished_at", "ss_output_name", "sshs_model_hash"}


def make_images(folder: Path, count: int = 4, size: tuple[int, int] = (96, 64), seed: int = 0, alpha=False):
    """``count`` PNGs with .txt captions in ``folder``; returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    colours = ["red", "blue", "green", "yellow"]
    for i in range(count):
        pixels = rng.integers(0, 255, (size[1], size[0], 4 if alpha else 3), dtype=np.uint8)
        pixels[:, : size[0] // 2, :3] = (i * 40) % 255
        Image.fromarray(pixels).save(folder / f"img_{i:02d}.png")
        (folder / f"img_{i:02d}.txt").write_text(f"kitbot, robot cat, {colours[i % 4]} background\n")
    return folder


@dataclass
class Probe:
    """What one short run computed and wrote."""

    run: Any  # the lorakit.train.run.Run, after training
    run_dir: Path
    out_dir: Path
    tensors: dict[str, torch.Tensor]
    metadata: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def files(self) -> list[str]:
        """Every file the run left under its output folder (run folder, caches, logs), relative names."""
        found = []
        for path in sorted(self.out_dir.rglob("*")):
            if path.is_file():
                found.append(str(path.relative_to(self.out_dir)))
        return found

    def log_dirs(self) -> set[str]:
        """Folders holding TensorBoard event files: under the output folder, or under logging_dir."""
        roots = {"out": self.out_dir}
        if self.run.cfg.logging.logging_dir:
            roots["logs"] = Path(self.run.cfg.logging.logging_dir)
        found = set()
        for label, root in roots.items():
            for path in root.rglob("events.out.tfevents.*"):
                found.add(f"{label}:{path.parent.relative_to(root)}")
        return found

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("type") == kind]

    def losses(self) -> list[float]:
        return [e["loss"] for e in self.of_type("step")]

    def lrs(self) -> list[Any]:
        return [e["lr"] for e in self.of_type("step")]

    def samples(self) -> dict[str, str]:
        folder = self.run_dir / "samples"
        if not folder.is_dir():
            return {}
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# -- comparisons: True when the two probes differ in that respect ------------------------------------------
def weights_differ(a: Probe, b: Probe, atol: float = 1e-7) -> bool:
    if a.tensors.keys() != b.tensors.keys():
        return True
    for key, x in a.tensors.items():
        y = b.tensors[key]
        if x.shape != y.shape or x.dtype != y.dtype:
            return True
        if not torch.allclose(x.float(), y.float(), rtol=0, atol=atol):
            return True
    return False


def metadata_differs(a: Probe, b: Probe) -> bool:
    strip = lambda m: {k: v for k, v in m.items() if k not in VOLATILE_METADATA}  # noqa: E731
    return strip(a.metadata) != strip(b.metadata)


def files_differ(a: Probe, b: Probe) -> bool:
    return a.files() != b.files()


def log_dirs_differ(a: Probe, b: Probe) -> bool:
    return a.log_dirs() != b.log_dirs()


def lrs_differ(a: Probe, b: Probe) -> bool:
    return a.lrs() != b.lrs()


def steps_differ(a: Probe, b: Probe) -> bool:
    return a.run.total_steps != b.run.total_steps


def plan_differs(a: Probe, b: Probe) -> bool:
    shape = lambda p: [(r.width, r.height, r.images_with_repeats) for r in p.run.plan.buckets]  # noqa: E731
    return shape(a) != shape(b) or weights_differ(a, b)


def samples_differ(a: Probe, b: Probe) -> bool:
    return a.samples() != b.samples()


def events_differ(kind: str):
    def check(a: Probe, b: Probe) -> bool:
        return a.of_type(kind) != b.of_type(kind)

    check.__name__ = f"{kind}_events_differ"
    return check


class Probes:
    """Runs and caches probes; ``resolve`` turns "@name" placeholders into fixture files made on first use."""

    def __init__(self, root: Path, tiny_sd1: Path, tiny_sdxl: Path, single_file=None):
        self.root, self.cache, self.made = root, {}, {"tiny_sd1": tiny_sd1, "tiny_sdxl": tiny_sdxl}
        self.single_file = single_file  # tests/conftest.py's single_file_checkpoint builder
        self.count = 0

    # Fixture files named in rows as "@name".
    def _make(self, name: str) -> Any:
        from lorakit.models.tiny import build_tiny_model

        root = self.root / "fixtures"
        if name == "data":
            make_images(root / "data" / "2_kitbot")
            return root / "data"
        if name == "data2":
            make_images(root / "data2" / "2_kitbot", seed=5)
            return root / "data2"
        if name == "data_rgba":  # images with an alpha channel
            make_images(root / "data_rgba" / "2_kitbot", alpha=True)
            return root / "data_rgba"
        if name == "data_masked":  # the default images with masks/<name>.png: left half ignored
            folder = make_images(root / "data_masked" / "2_kitbot")
            (folder / "masks").mkdir()
            for image in folder.glob("*.png"):
                mask = np.full((64, 96), 255, dtype=np.uint8)
                mask[:, :48] = 0
                Image.fromarray(mask).save(folder / "masks" / image.name)
            return root / "data_masked"
        if name == "data_faces":  # the default images named with a face box: name_<cx>_<cy>_<w>_<h>
            folder = make_images(root / "data_faces" / "2_kitbot")
            for image in sorted(folder.glob("*.png")):
                stem = f"{image.stem}_60_30_20_20"
                image.with_suffix(".txt").rename(folder / f"{stem}.txt")
                image.rename(folder / f"{stem}.png")
            return root / "data_faces"
        if name == "reg":
            make_images(root / "reg" / "1_robot", seed=9)
            return root / "reg"
        if name == "tiny_flux":
            return build_tiny_model("flux", root / "tiny_flux")
        if name == "tiny_sd1_seed1":
            return build_tiny_model("sd1", root / "tiny_sd1_seed1", seed=1)
        if name == "vae_seed1":
            return Path(self.resolve("@tiny_sd1_seed1")) / "vae"
        if name == "prompts":
            path = root / "prompts.txt"
            path.write_text("kitbot, robot cat --w 64 --h 64 --s 2 --d 1\n")
            return path
        if name == "lora":  # a LoRA from another run, to start from
            return Path(self.probe({"schedule.seed": 7}).run_dir) / "probe.safetensors"
        if name == "lora_alpha1":  # the same, trained at alpha 1 (the config's alpha is 4)
            return Path(self.probe({"schedule.seed": 7, "network.alpha": 1.0}).run_dir) / "probe.safetensors"
        if name == "state":  # a resume state from another run, saved after its first step
            p = self.probe({"schedule.seed": 7, "output.save_every_n_steps": 1})
            return p.run_dir / "state"
        if name == "tiny_sd1_file":  # the tiny SD1 as one original-layout .safetensors (as Civitai ships)
            from diffusers import DiffusionPipeline
            from safetensors.torch import save_file

            pipe = DiffusionPipeline.from_pretrained(str(self.resolve("@tiny_sd1")))
            root.mkdir(parents=True, exist_ok=True)
            path = root / "tiny_sd1.safetensors"
            save_file(self.single_file(pipe, whole=True), str(path))
            return path
        if name in ("layout_sd1", "layout_sd1_other_noise"):  # its layout: configs and tokenizer, no weights
            folder = root / name
            shutil.copytree(self.resolve("@tiny_sd1"), folder, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
            if name == "layout_sd1_other_noise":  # another noise schedule: the layout's scheduler is trained with
                scheduler = folder / "scheduler" / "scheduler_config.json"
                settings = json.loads(scheduler.read_text())
                settings["beta_end"] = settings.get("beta_end", 0.012) * 2
                scheduler.write_text(json.dumps(settings))
            return folder
        if name == "other_out":
            return root / "other_out"
        if name == "logs":
            return root / "logs"
        raise KeyError(f"no probe fixture named @{name}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str) and value.startswith("@"):
            name, _, rest = value[1:].partition("/")
            if name not in self.made:
                self.made[name] = self._make(name)
            base = self.made[name]
            return str(Path(str(base)) / rest) if rest else str(base)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def config(self, settings: dict[str, Any], out_dir: Path):
        from lorakit.config.presets import new_config

        values = {**BASE, **settings}
        subset = {k.split(".", 2)[2]: v for k, v in values.items() if k.startswith("dataset.subsets[].")}
        extra = values.pop("dataset.extra_subset", None)  # a second subset, for rows that need two
        values = {k: self.resolve(v) for k, v in values.items() if not k.startswith("dataset.subsets[].")}
        if subset or extra:  # one explicit subset of the @data images instead of the train_data_dir folder
            one = {"image_dir": "@data/2_kitbot", "num_repeats": 2, **subset}
            values["dataset.subsets"] = [self.resolve(one)] + ([self.resolve(extra)] if extra else [])
        if "dataset.subsets" in values:
            values.pop("dataset.train_data_dir", None)
        values["output.output_dir"] = str(out_dir)
        return new_config("tiny-demo", values)

    def probe(self, settings: dict[str, Any]) -> Probe:
        """Train with BASE + ``settings`` (cached by settings) and record what came out."""
        key = json.dumps(settings, sort_keys=True, default=str)
        if key not in self.cache:
            self.cache[key] = self._run(settings)
        return self.cache[key]

    def _run(self, settings: dict[str, Any]) -> Probe:
        from lorakit import events as ev
        from lorakit.lora.kohya import load_lora_file
        from lorakit.train import run as run_module

        self.count += 1
        out_dir = self.root / f"probe{self.count:03d}"
        cfg = self.config(settings, out_dir)
        captured = {}
        original = run_module.Run.setup

        def setup(run):
            captured["run"] = run
            return original(run)

        events: list[dict[str, Any]] = []
        emitter = ev.Emitter(callbacks=[lambda e: events.append({"type": e.type, **e.data})])
        run_module.Run.setup = setup
        try:
            result = run_module.train(cfg, emitter=emitter)
        finally:
            run_module.Run.setup = original
        lora = load_lora_file(result["lora"])
        return Probe(
            captured["run"], Path(result["run_dir"]), out_dir, dict(lora.tensors), dict(lora.metadata), events
        )
