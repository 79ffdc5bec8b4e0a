"""The train gate: a character's approved images become a dataset, trained through the job runner.

:func:`start_training` refuses a character with fewer than :data:`MIN_APPROVED` approved images (saying how
many it has) or a project without a checkpoint. Otherwise it writes the approved images with captions
(``trigger word, design prompt``) to a new dataset folder ``datasets/studio/<project>-<character>-<time>/
<repeats>_<trigger>/``, builds a config from the project's training preset, its training settings and the
caller's overrides, and submits a ``train`` job. :func:`collect` (called by the CLI and the API whenever
trainings are listed) copies the LoRA of each completed job to the project's LoRA folder as
``<trigger>.safetensors`` (replacing an older one), or records why the job ended without one; a
conditional update makes sure two collectors copy it once.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update

from lorakit.fileio import atomic_copy, atomic_write_text
from lorakit.jobs.store import COMPLETED, FINISHED
from lorakit.studio.models import APPROVED, TrainingRow
from lorakit.studio.store import StudioError, StudioStore, _model, slug

MIN_APPROVED = 10
QUEUED, COPIED, FAILED = "queued", "copied", "failed"


class Training(BaseModel):
    id: int
    character_id: int
    job_id: str
    dataset: str
    state: str
    lora_path: str | None = None
    message: str | None = None
    created_at: float


def check_gate(store: StudioStore, character_id: int) -> None:
    """Raise a :class:`StudioError` saying why the character cannot be trained yet."""
    character = store.character(character_id)
    approved = character.counts.get(APPROVED, 0)
    if approved < MIN_APPROVED:
        raise StudioError(
            f"{character.name} has {approved} approved image(s); training needs at least {MIN_APPROVED}.",
            f"Approve {MIN_APPROVED - approved} more.",
            field="character",
        )
    if not store.project(character.project_id).checkpoint:
        raise StudioError(
            "The project has no checkpoint to train on.", "Set the project's checkpoint first.", field="checkpoint"
        )


def build_dataset(store: StudioStore, character_id: int, repeats: int = 1) -> str:
    """Copy the approved images with their captions to a new dataset folder; its workspace path."""
    character = store.character(character_id)
    project = store.project(character.project_id)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    name = f"{slug(project.name)}-{slug(character.name)}-{stamp}"
    folder = store.workspace.datasets / "studio" / name
    images_dir = folder / f"{repeats}_{character.trigger_word}"
    images_dir.mkdir(parents=True, exist_ok=False)
    caption = ", ".join(p for p in (character.trigger_word, character.design_prompt.strip()) if p)
    for i, image in enumerate(reversed(store.images(character_id, status=APPROVED))):
        source = store.workspace.resolve_inside(image.path, must_exist=True)
        target = images_dir / f"{i:04d}{source.suffix}"
        atomic_copy(source, target)
        atomic_write_text(target.with_suffix(".txt"), caption + "\n")
    return store.workspace.relative(images_dir)


def training_config(
    store: StudioStore, character_id: int, images_dir: str, overrides: dict[str, Any] | None, repeats: int = 1
) -> dict:
    """The train job's config as JSON: the project's preset and settings, the overrides, the dataset."""
    from lorakit.config.io import config_to_dict
    from lorakit.config.presets import new_config

    character = store.character(character_id)
    project = store.project(character.project_id)
    values: dict[str, Any] = {
        "model.pretrained_model_name_or_path": project.checkpoint,
        "output.output_dir": "outputs/studio",
        "output.output_name": character.trigger_word,
    }
    values.update(project.train_settings)
    values.update(overrides or {})
    config = config_to_dict(new_config(project.train_preset, values))
    config["dataset"]["subsets"] = [{"image_dir": images_dir, "num_repeats": repeats}]
    config["dataset"].pop("train_data_dir", None)
    return config


def start_training(
    store: StudioStore, runner, character_id: int, overrides: dict[str, Any] | None = None, *, repeats: int = 1
) -> Training:
    """Check the gate, build the dataset and submit the training job (``runner``: a JobRunner)."""
    check_gate(store, character_id)
    character = store.character(character_id)
    images_dir = build_dataset(store, character_id, repeats)
    config = training_config(store, character_id, images_dir, overrides, repeats)
    job = runner.submit("train", {"config": config}, title=f"Studio: train {character.name}")
    row = TrainingRow(
        character_id=character_id, job_id=job.id, dataset=images_dir, state=QUEUED, created_at=time.time()
    )
    with store.session() as s, s.begin():
        s.add(row)
    return _model(Training, row)


def trainings(store: StudioStore, character_id: int | None = None) -> list[Training]:
    """Newest first."""
    query = select(TrainingRow).order_by(TrainingRow.id.desc())
    if character_id is not None:
        query = query.where(TrainingRow.character_id == character_id)
    with store.session() as s:
        return [_model(Training, r) for r in s.scalars(query)]


def collect(store: StudioStore, runner) -> list[Training]:
    """Settle the trainings whose job finished: copy the LoRA, or record why there is none. The changed ones."""
    changed = []
    for training in trainings(store):
        if training.state != QUEUED:
            continue
        job = runner.get(training.job_id)
        if job.state not in FINISHED:
            continue
        lora = (job.result or {}).get("lora") if job.state == COMPLETED else None
        if lora:
            character = store.character(training.character_id)
            project = store.project(character.project_id)
            folder = store.workspace.resolve_inside(project.lora_folder)
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{character.trigger_word}.safetensors"
            source = store.workspace.resolve_inside(lora, must_exist=True)
            atomic_copy(source, target)  # two collectors at once copy the same file; one records it
            if not _settle(store, training.id, COPIED, lora_path=store.workspace.relative(target)):
                continue
        else:
            message = f"The training job ended {job.state}" + (
                f": {job.error.get('message')}" if job.error else " without a LoRA."
            )
            if not _settle(store, training.id, FAILED, message=message):
                continue
        changed.append(training.id)
    return [t for t in trainings(store) if t.id in changed]


def _settle(store: StudioStore, training_id: int, state: str, **fields: Any) -> bool:
    query = (
        update(TrainingRow)
        .where(TrainingRow.id == training_id, TrainingRow.state == QUEUED)
        .values(state=state, **fields)
    )
    with store.session() as s, s.begin():
        return s.execute(query).rowcount > 0
