"""The step plan: exactly how many steps a training run takes, and whether that suits the goal.

From the subsets (scanned by :mod:`lorakit.data.scan`), the bucket settings and the schedule, this
computes what sd-scripts computes before it trains (``DreamBoothDataset.__init__``, ``BaseDataset.
make_buckets``, ``train_network.py``):

- each image is placed in a bucket and counted ``num_repeats`` times;
- regularization images are repeated until they match the training images with repeats;
- batches per epoch B = Σ over buckets of ceil(images × repeats in the bucket / batch size);
- steps per epoch = ceil(B / processes / gradient accumulation);
- total steps = epochs × steps per epoch, or ``max_train_steps`` and the epochs that implies;
- warmup = int(ratio × total steps × processes), restart points of cosine-with-restarts.

The count is exact or it is an error: a dataset with no usable images raises :class:`DatasetError`.
Images that cannot be read are left out and listed, so the trainer (which trains on ``plan.images``)
and the plan agree. The advice uses widely shared rules of thumb; see ``docs/plan.md``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from lorakit.config.dataset import ResolvedSubset
from lorakit.config.sections.runtime import MultiGPUSection, SamplesSection
from lorakit.config.sections.training import LearningSection, ScheduleSection
from lorakit.data.buckets import BucketSet, BucketSettings, Placement
from lorakit.data.plan_advice import STEP_RANGES, advise, caption_token_stats
from lorakit.data.scan import ScannedImage, SizeCache, SubsetScan, scan_subsets, split_for_validation
from lorakit.errors import ConfigError, DatasetError
from lorakit.events import Emitter


def _default(section: type[BaseModel], name: str) -> Any:
    return section.model_fields[name].get_default(call_default_factory=True)


# Schedule fields read from the config by the same name, in these TrainConfig sections (first match wins).
SCHEDULE_SECTIONS = ("schedule", "learning", "multigpu", "samples")
# Schedule fields whose config field has another name: the field → (section, config name).
SCHEDULE_RENAMED = {"batch_size": ("schedule", "train_batch_size"), "epochs": ("schedule", "max_train_epochs")}
# Schedule fields made from another config field: warmup_steps / warmup_ratio from learning.lr_warmup_steps.
SCHEDULE_DERIVED = {"warmup_steps": "lr_warmup_steps", "warmup_ratio": "lr_warmup_steps"}


@dataclass(frozen=True)
class Schedule:
    """The schedule numbers a plan needs (sd-scripts names). ``epochs`` wins over ``max_train_steps``.

    The defaults are the config's (:meth:`from_config` of a default config builds ``Schedule()``); plans that
    have no config (``lorakit plan`` on a folder, the dataset health check) build one by hand.
    """

    batch_size: int = _default(ScheduleSection, "train_batch_size")
    epochs: int | None = _default(ScheduleSection, "max_train_epochs")  # None: as planned_epochs() says
    max_train_steps: int | None = _default(ScheduleSection, "max_train_steps")
    gradient_accumulation_steps: int = _default(ScheduleSection, "gradient_accumulation_steps")
    num_processes: int = _default(MultiGPUSection, "num_processes")
    warmup_steps: int = _default(LearningSection, "lr_warmup_steps")
    warmup_ratio: float | None = None  # of the total steps; used instead of warmup_steps when set
    lr_scheduler: str = _default(LearningSection, "lr_scheduler")
    lr_scheduler_num_cycles: int = _default(LearningSection, "lr_scheduler_num_cycles")
    validation_split: float = _default(SamplesSection, "validation_split")  # share of each training subset held back
    seed: int = _default(ScheduleSection, "seed")  # picks the held-back images (sd-scripts' validation_seed)

    @classmethod
    def from_config(cls, cfg: Any) -> Schedule:
        """The schedule of a :class:`~lorakit.config.schema.TrainConfig`, read from its sections by field name.

        ``lr_warmup_steps`` below 1 is a share of all steps, as in sd-scripts; an empty seed becomes 0 (a run
        resolves an empty seed before it plans).
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in SCHEDULE_DERIVED:
                continue
            section, name = SCHEDULE_RENAMED.get(f.name, ("", f.name))
            for part in [getattr(cfg, s) for s in ((section,) if section else SCHEDULE_SECTIONS)]:
                if name in type(part).model_fields:
                    values[f.name] = getattr(part, name)
                    break
        warmup = cfg.learning.lr_warmup_steps
        is_ratio = isinstance(warmup, float) and warmup < 1
        values["warmup_steps"] = 0 if is_ratio else int(warmup)
        values["warmup_ratio"] = float(warmup) if is_ratio else None
        values["lr_scheduler"] = str(values["lr_scheduler"])
        values["seed"] = 0 if values["seed"] is None else values["seed"]
        return cls(**values)

    def planned_epochs(self) -> int | None:
        """The epochs the plan runs for, by the config's rule (:meth:`ScheduleSection.planned_epochs`): epochs
        win; else None when max_train_steps is set; else the config's default number of epochs."""
        section = ScheduleSection.model_construct(max_train_epochs=self.epochs, max_train_steps=self.max_train_steps)
        return section.planned_epochs()


@dataclass
class SubsetSummary:
    label: str
    image_dir: str
    is_reg: bool
    images: int  # usable images (size known, placed in a bucket)
    unreadable: int
    num_repeats: int  # as configured
    images_with_repeats: int  # what one epoch shows: for reg subsets after matching the training images
    missing_captions: int


@dataclass
class BucketRow:
    width: int
    height: int
    images: int
    images_with_repeats: int
    batches: int


@dataclass
class PlanNote:
    """Something the user should know: ``level`` is "warning" (likely a problem) or "advice" (a hint)."""

    level: str
    message: str
    fix: str | None = None


@dataclass
class PlannedImage:
    """One image as it will be trained: its subset, how often per epoch, its caption, its bucket and crop."""

    path: Path
    subset_index: int
    is_reg: bool
    repeats: int
    caption: str
    caption_source: str
    placement: Placement


@dataclass
class TrainPlan:
    subsets: list[SubsetSummary]
    buckets: list[BucketRow]
    bucket_description: str
    train_images: int
    train_images_with_repeats: int
    reg_images: int
    reg_images_with_repeats: int  # after matching the training images: what an epoch shows
    reg_images_before_matching: int  # reg images × their own repeats (sd-scripts' num_reg_images, ss_num_reg_images)
    batch_size: int
    gradient_accumulation_steps: int
    num_processes: int
    batches_per_epoch: int
    steps_per_epoch: int
    epochs: int
    total_steps: int
    samples_seen: int  # images shown in the whole run: total steps × batch × accumulation × processes
    warmup_steps: int
    restart_steps: list[int]
    lr_scheduler: str
    mean_aspect_error: float
    upscaled_images: int
    caption_tokens: dict[str, Any]
    notes: list[PlanNote] = field(default_factory=list)
    images: list[PlannedImage] = field(default_factory=list, repr=False)
    validation_images: list[PlannedImage] = field(default_factory=list, repr=False)  # shown once each
    unreadable: list[ScannedImage] = field(default_factory=list, repr=False)

    @property
    def warnings(self) -> list[PlanNote]:
        return [n for n in self.notes if n.level == "warning"]

    @property
    def advice(self) -> list[PlanNote]:
        return [n for n in self.notes if n.level == "advice"]

    def to_dict(self, *, include_images: bool = False) -> dict[str, Any]:
        """A JSON-able dict (paths as strings). ``include_images`` adds every image's bucket and crop."""
        out = {k: v for k, v in asdict(self).items() if k not in ("images", "unreadable", "validation_images")}
        out["validation_images"] = len(self.validation_images)
        out["unreadable"] = [{"path": str(i.path), "error": i.error} for i in self.unreadable]
        if include_images:
            out["images"] = [
                {
                    "path": str(i.path),
                    "subset": i.subset_index,
                    "repeats": i.repeats,
                    "bucket": list(i.placement.bucket),
                    "resized": list(i.placement.resized),
                    "crop_box": list(i.placement.crop_box),
                    "caption": i.caption,
                }
                for i in self.images
            ]
        return out


def make_plan(
    subsets: Sequence[ResolvedSubset],
    buckets: BucketSettings,
    schedule: Schedule,
    *,
    goal: str | None = None,
    max_token_length: int | None = None,
    scans: Sequence[SubsetScan] | None = None,
    cache: SizeCache | None = None,
    recursive: bool = False,
    emitter: Emitter | None = None,
) -> TrainPlan:
    """Scan the subsets (unless ``scans`` are given) and compute the exact plan.

    ``goal`` ("character", "style", "concept") picks the step ranges the advice compares against.
    Raises :class:`DatasetError` when no exact count is possible and :class:`ConfigError` for
    impossible schedule numbers.
    """
    _check_schedule(schedule)
    if goal is not None and goal not in STEP_RANGES:
        raise ConfigError(
            f"The goal {goal!r} is not one the advice knows.", f"Use one of: {', '.join(STEP_RANGES)}.", field="goal"
        )
    if not subsets:
        raise DatasetError(
            "The dataset has no subsets.",
            "Add a folder of images: a [[dataset.subsets]] entry with image_dir, or set train_data_dir.",
        )
    if scans is None:
        scans = scan_subsets(subsets, recursive=recursive, cache=cache, emitter=emitter)
    bucket_set = BucketSet(buckets)
    notes: list[PlanNote] = []

    # Place every readable image (sd-scripts keys images by path: a path in two subsets keeps the last).
    planned: dict[Path, PlannedImage] = {}
    too_small: list[Path] = []
    twice: list[Path] = []
    counts = []  # per subset: images that train (readable, placed, not held back for validation)
    held_out: list[PlannedImage] = []
    for index, scan in enumerate(scans):
        usable = 0
        trained: set[Path] | None = None  # None: every image trains
        validation: set[Path] = set()
        if schedule.validation_split > 0 and not scan.subset.is_reg:
            # Split the whole listing, readable or not, so the same files are held back as in sd-scripts
            # (whose rounding can put one image in both parts).
            everything = sorted([i.path for i in scan.images + scan.unreadable], key=str)
            keep, held = split_for_validation(everything, schedule.validation_split, schedule.seed)
            trained, validation = set(keep), set(held)
        for image in scan.images:
            try:
                placement = bucket_set.place(image.width, image.height)
            except ValueError:
                too_small.append(image.path)
                continue
            planned_image = PlannedImage(
                image.path, index, scan.subset.is_reg, scan.subset.num_repeats, image.caption, image.caption_source,
                placement,
            )  # fmt: skip
            if image.path in validation:  # validation shows each image once
                held_out.append(replace(planned_image, repeats=1))
            if trained is not None and image.path not in trained:
                continue
            usable += 1
            if image.path in planned:
                twice.append(image.path)
            planned[image.path] = planned_image
        counts.append(usable)

    if twice:
        notes.append(
            PlanNote(
                "warning",
                f"{len(twice)} image(s) are in two subsets (e.g. {twice[0]}); only the last subset's settings count.",
                "List each folder once, or move the shared pictures into one subset.",
            )
        )
    with_repeats = [(c * s.subset.num_repeats, s.subset.is_reg) for c, s in zip(counts, scans, strict=True)]
    train_with_repeats = sum(n for n, is_reg in with_repeats if not is_reg)
    reg_with_repeats = sum(n for n, is_reg in with_repeats if is_reg)
    if train_with_repeats == 0:
        raise DatasetError(
            "No training images can be used: every subset is empty, unreadable or marked as regularization.",
            "Add pictures to a subset that is not is_reg, or fix the files listed as unreadable.",
        )
    reg_used = _match_reg_repeats(planned, train_with_repeats)
    images = [p for p in planned.values() if p.repeats > 0]

    rows = _bucket_rows(images, schedule.batch_size)
    batches = sum(r.batches for r in rows)
    P, G = schedule.num_processes, schedule.gradient_accumulation_steps
    # sd-scripts: max_train_steps = epochs × ceil(len(dataloader) / processes / accumulation) before
    # accelerate shards the loader; the epoch count comes after sharding: ceil(ceil(B / P) / G) per epoch.
    steps_per_epoch = math.ceil(batches / P / G)
    steps_per_epoch_sharded = math.ceil(math.ceil(batches / P) / G)
    planned_epochs = schedule.planned_epochs()
    if planned_epochs is not None:
        total = planned_epochs * steps_per_epoch
    else:
        total = schedule.max_train_steps or 0
    epochs = math.ceil(total / steps_per_epoch_sharded)
    warmup = _warmup_steps(schedule, total)

    subset_rows = []
    for index, (scan, usable) in enumerate(zip(scans, counts, strict=True)):
        mine = [p for p in images if p.subset_index == index]
        subset_rows.append(
            SubsetSummary(
                label=scan.label,
                image_dir=str(scan.subset.image_dir),
                is_reg=scan.subset.is_reg,
                images=usable,
                unreadable=len(scan.unreadable),
                num_repeats=scan.subset.num_repeats,
                images_with_repeats=sum(p.repeats for p in mine),
                missing_captions=sum(1 for i in scan.images if i.caption_source != "file"),
            )
        )
    placements = [p.placement for p in images]
    plan = TrainPlan(
        subsets=subset_rows,
        buckets=rows,
        bucket_description=bucket_set.describe(),
        train_images=sum(1 for p in images if not p.is_reg),
        train_images_with_repeats=train_with_repeats,
        reg_images=sum(c for c, s in zip(counts, scans, strict=True) if s.subset.is_reg),
        reg_images_with_repeats=reg_used,
        reg_images_before_matching=reg_with_repeats,
        batch_size=schedule.batch_size,
        gradient_accumulation_steps=G,
        num_processes=P,
        batches_per_epoch=batches,
        steps_per_epoch=steps_per_epoch,
        epochs=epochs,
        total_steps=total,
        samples_seen=total * schedule.batch_size * G * P,
        warmup_steps=warmup,
        restart_steps=_restart_steps(schedule, total * P, warmup),
        lr_scheduler=schedule.lr_scheduler,
        mean_aspect_error=sum(abs(p.aspect_error) for p in placements) / len(placements),
        upscaled_images=sum(1 for p in placements if p.upscaled),
        caption_tokens=caption_token_stats(images, [s.subset for s in scans], max_token_length),
        notes=notes,
        images=images,
        validation_images=held_out,
        unreadable=[i for s in scans for i in s.unreadable],
    )
    plan.notes.extend(advise(plan, scans, goal=goal, too_small=too_small))
    return plan


def _check_schedule(s: Schedule) -> None:
    checks = [
        (s.batch_size >= 1, "train_batch_size", f"The batch size is {s.batch_size}.", "Use 1 or more."),
        (s.gradient_accumulation_steps >= 1, "gradient_accumulation_steps", "Accumulation is below 1.", "Use 1."),
        (s.num_processes >= 1, "num_processes", "The number of processes is below 1.", "Use 1 for one GPU."),
        (s.epochs is None or s.epochs >= 1, "max_train_epochs", f"Epochs is {s.epochs}.", "Use 1 or more epochs."),
        (
            s.planned_epochs() is not None or (s.max_train_steps or 0) >= 1,
            "max_train_steps",
            f"max_train_steps is {s.max_train_steps} and no epochs are set.",
            "Set max_train_steps to 1 or more, or set the number of epochs (e.g. 10).",
        ),
        (s.warmup_steps >= 0, "lr_warmup_steps", "Warmup steps are negative.", "Use 0 or more."),
        (
            s.warmup_ratio is None or 0 <= s.warmup_ratio < 1,
            "lr_warmup_ratio",
            f"The warmup ratio {s.warmup_ratio} is not between 0 and 1.",
            "Use e.g. 0.05 (5% of the steps).",
        ),
        (s.lr_scheduler_num_cycles >= 1, "lr_scheduler_num_cycles", "Restart cycles are below 1.", "Use 1 or more."),
        (0 <= s.validation_split < 1, "validation_split", "validation_split must be from 0 to below 1.", "Use 0.1."),
    ]
    issues = [ConfigError(problem, fix, field=name) for ok, name, problem, fix in checks if not ok]
    if issues:
        raise ConfigError(issues[0].problem, issues[0].fix, field=issues[0].field, issues=issues)


def _match_reg_repeats(planned: dict[Path, PlannedImage], train_with_repeats: int) -> int:
    """Repeat regularization images until they match the training images (sd-scripts DreamBoothDataset).

    First pass: each reg image in order with its own repeats, stopping once the count is reached (later reg
    images are then not used at all). Further passes add one repeat per image in order until it is reached.
    Returns the reg images with repeats actually used.
    """
    reg = [p for p in planned.values() if p.is_reg]
    if not reg:
        return 0
    configured = {id(p): p.repeats for p in reg}
    for p in reg:
        p.repeats = 0
    n, first = 0, True
    while n < train_with_repeats:
        for p in reg:
            if first:
                p.repeats = configured[id(p)]
                n += p.repeats
            else:
                p.repeats += 1
                n += 1
            if n >= train_with_repeats:
                break
        first = False
    return n


def _bucket_rows(images: Sequence[PlannedImage], batch_size: int) -> list[BucketRow]:
    per_bucket: dict[tuple[int, int], list[int]] = {}
    for p in images:
        row = per_bucket.setdefault(p.placement.bucket, [0, 0])
        row[0] += 1
        row[1] += p.repeats
    return [
        BucketRow(w, h, n, n_rep, math.ceil(n_rep / batch_size)) for (w, h), (n, n_rep) in sorted(per_bucket.items())
    ]


def _warmup_steps(schedule: Schedule, total: int) -> int:
    # sd-scripts get_scheduler_fix: a float warmup is a ratio of max_train_steps × processes, truncated.
    if schedule.warmup_ratio is not None:
        return int(schedule.warmup_ratio * total * schedule.num_processes)
    return schedule.warmup_steps


def _restart_steps(schedule: Schedule, scheduler_steps: int, warmup: int) -> list[int]:
    """First step of each new cycle of cosine with (hard) restarts, as in transformers' schedule.

    The learning rate jumps back up when cycles × (step − warmup) / (total − warmup) reaches a whole number.
    """
    cycles = schedule.lr_scheduler_num_cycles
    if schedule.lr_scheduler != "cosine_with_restarts" or cycles <= 1:
        return []
    span = max(1, scheduler_steps - warmup)
    # Integer arithmetic: ceil(warmup + k × span / cycles) without float error.
    return [warmup + -(-k * span // cycles) for k in range(1, cycles)]


def plan_for_config(
    cfg: Any, *, goal: str | None = None, cache: SizeCache | None = None, emitter: Emitter | None = None
) -> TrainPlan:
    """The plan for a :class:`~lorakit.config.schema.TrainConfig` (its subsets, buckets and schedule).

    Epochs win over ``max_train_steps`` when both are set, as in sd-scripts (and the config's check warns);
    ``lr_warmup_steps`` below 1 is a share of all steps, as in sd-scripts.
    """
    data = cfg.dataset
    return make_plan(
        cfg.resolved_subsets(),
        BucketSettings(
            resolution=tuple(data.resolution_wh),
            enable_bucket=data.enable_bucket,
            min_bucket_reso=data.min_bucket_reso,
            max_bucket_reso=data.max_bucket_reso,
            bucket_reso_steps=data.bucket_reso_steps,
            bucket_no_upscale=data.bucket_no_upscale,
        ),
        Schedule.from_config(cfg),
        goal=goal,
        max_token_length=cfg.captions.max_token_length,
        cache=cache,
        emitter=emitter,
    )
