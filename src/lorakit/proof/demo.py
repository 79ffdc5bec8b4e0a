"""The proof of learning: train a LoRA for the concept the base model never saw, sample, and let the judge count.

:func:`run_proof` writes the concept dataset (:func:`lorakit.proof.world.concept_dataset`), trains a LoRA
(or LoCon) for it on the pretrained shapes model with the ordinary training engine, renders the same
scenes with the trigger word and without it (and, for comparison, with the trigger on the base model
alone), saves them as one grid PNG next to the LoRA, and asks the judge which samples show the concept.
``lorakit demo`` runs it; ``tests/proof/test_learning.py`` runs it for LoRA, LoCon and broken trainings.

A LoRA that learned the concept draws it with the trigger (``with_trigger`` near 1) and leaves the other
shapes alone without it (``without_trigger`` near 0); :meth:`ProofResult.passed` applies the thresholds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lorakit import events as ev
from lorakit.fileio import atomic_write_bytes, atomic_write_text

# The learning check: the concept in at least this share of samples with the trigger, at most that without.
MIN_WITH_TRIGGER = 0.9
MAX_WITHOUT_TRIGGER = 0.1
GRID_FILE = "proof-grid.png"


@dataclass(frozen=True)
class ProofSettings:
    """What to train and how to sample it. The defaults are the demo's (a few minutes on a laptop CPU)."""

    network: str = "lora"  # "lora", or "locon" (LoRA also on the 3x3 convolutions)
    steps: int = 600
    learning_rate: float = 2e-3
    dim: int = 8
    alpha: float = 8.0
    conv_dim: int = 8  # LoCon only
    conv_alpha: float = 8.0
    batch_size: int = 4
    images: int = 32  # concept images in the dataset
    ordinary: int = 32  # regularisation images of the ordinary shapes (0: none): what the trigger is not
    paired: bool = True  # regularisation images: the concept scenes with an ordinary shape (else other scenes)
    train_text_encoder: bool = True  # also a LoRA on the text encoder (the trigger's own embedding is untrained)
    samples: int = 8  # prompts per row of the grid (and for the judge)
    sample_steps: int = 20
    guidance_scale: float = 5.0
    seed: int = 0
    model: str | None = None  # default: the shipped shapes model (lorakit.proof.base_model_path())
    overrides: dict[str, Any] = field(default_factory=dict)  # any other config fields, dotted keys


@dataclass
class ProofResult:
    """The trained LoRA, the grid, and the judge's counts (shares 0.0-1.0 of ``samples`` images each)."""

    lora: Path
    grid: Path
    run_dir: Path
    with_trigger: float  # LoRA, prompts with the trigger word: the share showing the concept
    without_trigger: float  # LoRA, the same scenes named as ordinary shapes
    base_with_trigger: float  # the base model alone, prompts with the trigger word
    samples: int
    prompts: list[tuple[str, str]]  # (with trigger, without trigger) per column

    def passed(self) -> bool:
        return self.with_trigger >= MIN_WITH_TRIGGER and self.without_trigger <= MAX_WITHOUT_TRIGGER

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.update(lora=str(self.lora), grid=str(self.grid), run_dir=str(self.run_dir), passed=self.passed())
        return out


def write_concept_dataset(folder: Path, images: int, seed: int) -> Path:
    """The concept dataset as a training folder: ``<folder>/1_<trigger>/NNN.png`` with ``NNN.txt`` captions."""
    import io

    from lorakit.proof.world import TRIGGER, concept_dataset

    subset = Path(folder) / f"1_{TRIGGER}"
    subset.mkdir(parents=True, exist_ok=True)
    for index, (image, text) in enumerate(concept_dataset(images, seed)):
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        atomic_write_bytes(subset / f"{index:03d}.png", buffer.getvalue())
        atomic_write_text(subset / f"{index:03d}.txt", text)
    return Path(folder)


def write_ordinary_dataset(folder: Path, images: int, seed: int, paired: bool = False) -> Path:
    """Regularisation images: ``<folder>/1_shapes/`` of the ordinary world shapes with their captions, so the
    LoRA learns the trigger word's meaning rather than "draw crescents" (DreamBooth's prior preservation).

    ``paired``: the scenes of ``concept_dataset(images, seed)`` (same colours, backgrounds, places and sizes)
    with an ordinary shape in place of the concept, so that the two datasets differ only in the shape and its
    word; otherwise random scenes of ``seed``."""
    import io

    import numpy as np

    from lorakit.proof.world import CONCEPT, SHAPES, caption, random_scene, random_scenes
    from lorakit.proof.world import render as draw

    if paired:
        rng = np.random.default_rng(seed)
        concept = [random_scene(rng, shape=CONCEPT) for _ in range(images)]  # as concept_dataset draws them
        scenes = [dataclasses.replace(s, shape=SHAPES[i % len(SHAPES)]) for i, s in enumerate(concept)]
    else:
        scenes = random_scenes(images, seed)
    subset = Path(folder) / "1_shapes"
    subset.mkdir(parents=True, exist_ok=True)
    for index, scene in enumerate(scenes):
        buffer = io.BytesIO()
        draw(scene).save(buffer, format="PNG")
        atomic_write_bytes(subset / f"{index:03d}.png", buffer.getvalue())
        atomic_write_text(subset / f"{index:03d}.txt", caption(scene))
    return Path(folder)


def proof_config(dataset: Path, output_dir: Path, settings: ProofSettings, ordinary: Path | None = None):
    """The training config: the tiny-demo preset on the shapes model, fixed steps and seed."""
    from lorakit.config.presets import new_config
    from lorakit.proof import base_model_path

    overrides: dict[str, Any] = {
        "model.pretrained_model_name_or_path": str(settings.model or base_model_path()),
        "dataset.train_data_dir": str(dataset),
        "output.output_dir": str(output_dir),
        "output.output_name": f"proof-{settings.network}",
        "schedule.max_train_steps": settings.steps,
        "schedule.max_train_epochs": None,  # epochs would win over steps
        "schedule.train_batch_size": settings.batch_size,
        "schedule.seed": settings.seed,
        "learning.learning_rate": settings.learning_rate,
        "network.type": settings.network,
        "network.dim": settings.dim,
        "network.alpha": settings.alpha,
        "network.train_unet_only": not settings.train_text_encoder,
        "memory.cache_latents": True,
        # Captions are fixed: their encodings can be cached unless the text encoder is trained.
        "memory.cache_text_encoder_outputs": not settings.train_text_encoder,
    }
    if ordinary is not None:
        overrides["dataset.reg_data_dir"] = str(ordinary)
    if settings.network == "locon":
        overrides.update({"network.conv_dim": settings.conv_dim, "network.conv_alpha": settings.conv_alpha})
    overrides.update(settings.overrides)
    return new_config("tiny-demo", overrides)


def scene_prompts(count: int, seed: int) -> list[tuple[str, str]]:
    """``count`` scenes as (prompt with the trigger, the same scene with an ordinary shape instead)."""
    import numpy as np

    from lorakit.proof.world import CONCEPT, SHAPES, caption, random_scene

    rng = np.random.default_rng(seed)
    pairs = []
    for index in range(count):
        scene = random_scene(rng, shape=CONCEPT)
        plain = dataclasses.replace(scene, shape=SHAPES[index % len(SHAPES)])
        pairs.append((caption(scene), caption(plain)))
    return pairs


def render(family, prompts: list[str], settings: ProofSettings) -> list:
    """One 64x64 image per prompt; column ``i`` starts from the same noise in every row (seed + i)."""
    import torch

    from lorakit.proof.world import SIZE
    from lorakit.train.samplers import make_sampler

    c = family.components
    for module in (c.unet, c.vae, *c.text_encoders):
        module.eval()
    pipe = family.pipeline(make_sampler("ddim", c.noise_scheduler))
    generators = [torch.Generator().manual_seed(settings.seed + i) for i in range(len(prompts))]
    with torch.no_grad():
        return pipe(
            prompts,
            width=SIZE,
            height=SIZE,
            num_inference_steps=settings.sample_steps,
            guidance_scale=settings.guidance_scale,
            generator=generators,
        ).images


def load_family(cfg, lora: Path | None):
    """The base model of ``cfg``, with ``lora`` applied through the training network (None: the base alone)."""
    import torch

    from lorakit.train.setup import build_model_and_network

    if lora is None:
        from lorakit.models.loading import load_model
        from lorakit.train.setup import resolve_model_source, tiny_cache_root

        source, tiny = resolve_model_source(cfg.model.pretrained_model_name_or_path, tiny_cache_root())
        return load_model(source, family=tiny)
    with_lora = cfg.model_copy(update={"network": cfg.network.model_copy(update={"network_weights": lora})})
    family, _ = build_model_and_network(with_lora, torch.device("cpu"))
    return family


def _check_model(settings: ProofSettings) -> None:
    from lorakit.errors import ModelError
    from lorakit.proof import base_model_path

    model = base_model_path()
    if settings.model is None and not (model / "model_index.json").is_file():
        raise ModelError(
            f"The pretrained shapes model {model} is missing.",
            "Rebuild it with `python scripts/build_shapes_world.py base` (see docs/proof-of-learning.md).",
        )


def run_proof(
    output_dir: Path,
    settings: ProofSettings | None = None,
    emitter: ev.Emitter | None = None,
    commands: ev.Commands | None = None,
    judge=None,
) -> ProofResult:
    """Train the concept LoRA in ``output_dir``, sample it, save the grid next to it and score it with the judge.

    ``judge`` defaults to the shipped one. Training events go to ``emitter`` as in any run; a stopped
    training (``commands``) ends here with a :class:`~lorakit.errors.TrainingError`.
    """
    from lorakit.errors import TrainingError
    from lorakit.proof.grid import save_grid
    from lorakit.proof.judge import load_judge, shows_concept
    from lorakit.train.run import new_run_dir, train

    settings = settings or ProofSettings()
    emitter = emitter or ev.Emitter()
    judge = judge or load_judge()  # a missing judge or model is said before minutes of training
    _check_model(settings)
    output_dir = Path(output_dir)
    emitter.emit(ev.STATUS, state="starting", message=f"Drawing {settings.images} concept images")
    dataset = write_concept_dataset(output_dir / "concept-dataset", settings.images, settings.seed)
    ordinary = None
    if settings.ordinary:
        seed = settings.seed if settings.paired else settings.seed + 2
        ordinary = write_ordinary_dataset(output_dir / "ordinary-dataset", settings.ordinary, seed, settings.paired)
    cfg = proof_config(dataset, output_dir, settings, ordinary)
    result = train(cfg, new_run_dir(cfg), emitter, commands)
    if not result.get("lora"):
        raise TrainingError(
            "The proof-of-learning training was stopped before it finished.", "Run it again to completion."
        )
    lora, run_dir = Path(result["lora"]), Path(result["run_dir"])
    emitter.emit(
        ev.STATUS, state="running", message=f"Sampling {settings.samples} scenes with and without the trigger"
    )
    prompts = scene_prompts(settings.samples, settings.seed + 1)
    with_prompts, without_prompts = [p[0] for p in prompts], [p[1] for p in prompts]
    base = render(load_family(cfg, None), with_prompts, settings)
    trained = load_family(cfg, lora)
    without, with_ = render(trained, without_prompts, settings), render(trained, with_prompts, settings)
    verdicts = {
        name: shows_concept(judge, images) for name, images in (("base", base), ("without", without), ("with", with_))
    }
    rows = [
        ("base model, with trigger", base, verdicts["base"]),
        ("LoRA, without trigger", without, verdicts["without"]),
        ("LoRA, with trigger", with_, verdicts["with"]),
    ]
    note = (
        f'Each column is one scene from the same noise. With the trigger: "{prompts[0][0]}";\n'
        f'without it the same scene names an ordinary shape: "{prompts[0][1]}".'
    )
    grid = save_grid(run_dir / GRID_FILE, rows, note)
    share = {name: sum(v) / len(v) for name, v in verdicts.items()}
    proof = ProofResult(
        lora=lora,
        grid=grid,
        run_dir=run_dir,
        with_trigger=share["with"],
        without_trigger=share["without"],
        base_with_trigger=share["base"],
        samples=settings.samples,
        prompts=prompts,
    )
    emitter.emit(ev.RESULT, **proof.to_dict())
    return proof
