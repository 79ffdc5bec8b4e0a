"""CLI: ``lorakit studio`` — projects, characters, images, approve/reject and the train gate, for scripting.

Thin over :mod:`lorakit.studio`; only typer is imported at the top.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

studio_app = typer.Typer(
    name="studio", help="The character studio: projects, characters, approve/reject, train.", no_args_is_help=True
)
projects_app = typer.Typer(name="projects", help="List and create projects.", no_args_is_help=True)
characters_app = typer.Typer(name="characters", help="List and create characters.", no_args_is_help=True)
studio_app.add_typer(projects_app)
studio_app.add_typer(characters_app)

WORKSPACE = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: see `lorakit doctor`).")


def register(app: typer.Typer) -> None:
    """Add ``lorakit studio ...`` to the main app."""
    app.add_typer(studio_app, name="studio")


def _store(workspace: Path | None):
    from lorakit.studio.store import StudioStore
    from lorakit.workspace import Workspace

    return StudioStore(Workspace(workspace))


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@projects_app.command("list")
def projects_list(workspace: Path | None = WORKSPACE) -> None:
    """List the projects."""
    with _store(workspace) as store:
        for p in store.projects():
            typer.echo(f"{p.id}\t{p.name}\tcheckpoint={p.checkpoint or '-'}\tloras={p.lora_folder}")


@projects_app.command("create")
def projects_create(
    name: str,
    checkpoint: str = typer.Option("", help="A workspace model path, tiny:sd1, or a Hugging Face repo id."),
    style: str = typer.Option("", help="The project's style words."),
    negative: list[str] = typer.Option([], "--negative", "-n", help="A base negative term (repeatable)."),
    lora_folder: str = typer.Option("models/loras", help="Where trained LoRAs are copied (in the workspace)."),
    preset: str = typer.Option("sd15-character", help="The training preset."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """Create a project."""
    with _store(workspace) as store:
        p = store.create_project(
            name,
            checkpoint=checkpoint,
            style=style,
            base_negatives=negative,
            lora_folder=lora_folder,
            train_preset=preset,
        )
        typer.echo(f"Project {p.id} {p.name!r} created.")


@characters_app.command("list")
def characters_list(
    project: str | None = typer.Option(None, "--project", "-p", help="Only this project's (name or id)."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """List characters with their image counts."""
    with _store(workspace) as store:
        for c in store.characters(project):
            counts = " ".join(f"{k}={v}" for k, v in c.counts.items())
            typer.echo(f"{c.id}\t{c.name}\ttrigger={c.trigger_word}\t{counts}")


@characters_app.command("create")
def characters_create(
    project: str,
    name: str,
    prompt: str = typer.Option("", "--prompt", help="The design prompt."),
    trigger: str | None = typer.Option(None, "--trigger", help="The trigger word (default: from the name)."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """Create a character in a project."""
    with _store(workspace) as store:
        c = store.create_character(project, name, design_prompt=prompt, trigger_word=trigger)
        typer.echo(f"Character {c.id} {c.name!r} created (trigger word {c.trigger_word}).")


@studio_app.command("add")
def add(
    character: int,
    files: list[Path],
    source: str = typer.Option("upload", help="generated, video_frame, upload or comfyui_scan."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """Add image files to a character (copied into the workspace, pending)."""
    with _store(workspace) as store:
        for file in files:
            image = store.add_image(character, file, source=source)
            typer.echo(f"{image.id}\t{image.path}")


@studio_app.command("images")
def images(
    character: int,
    status: str | None = typer.Option(None, help="pending, approved or rejected."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """List a character's images, newest first."""
    with _store(workspace) as store:
        for image in store.images(character, status=status):
            typer.echo(f"{image.id}\t{image.status}\t{image.source}\t{image.path}")


@studio_app.command("approve")
def approve(image: int, notes: str = typer.Option("", help="A note."), workspace: Path | None = WORKSPACE) -> None:
    """Approve a pending image."""
    from lorakit.studio import feedback

    with _store(workspace) as store:
        feedback.approve(store, image, notes)
        typer.echo(f"Image {image} approved.")


@studio_app.command("reject")
def reject(
    image: int,
    category: list[str] = typer.Option([], "--category", "-c", help="A rejection category (repeatable)."),
    notes: str = typer.Option("", help="What was wrong, in words."),
    prompt: str | None = typer.Option(None, "--prompt", help="A new design prompt for the character."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """Reject a pending image; its categories' negative terms join the character's learned negatives."""
    from lorakit.studio import feedback

    with _store(workspace) as store:
        decided = feedback.reject(store, image, category, notes, prompt)
        character = store.character(decided.character_id)
        typer.echo(f"Image {image} rejected. Learned negatives: {', '.join(character.learned_negatives) or '-'}")
        if len(feedback.structured_rejections(store, character.id)) >= feedback.PROPOSAL_AFTER:
            proposal = feedback.propose_prompt(store, character.id)
            if proposal.message:
                typer.echo(proposal.message)
            typer.echo(f"Proposed design prompt ({proposal.source}): {proposal.prompt}")


@studio_app.command("train")
def train_command(
    character: int,
    set_: list[str] = typer.Option([], "--set", help="A config override, e.g. schedule.max_train_epochs=4."),
    repeats: int = typer.Option(1, min=1, max=100, help="Repeats of each image per epoch."),
    wait: bool = typer.Option(False, help="Wait for the job, then copy the LoRA to the project's folder."),
    workspace: Path | None = WORKSPACE,
) -> None:
    """Train a character's LoRA (needs 10 approved images and a project checkpoint)."""
    from lorakit.errors import LorakitError
    from lorakit.jobs.runner import JobRunner
    from lorakit.studio import train

    overrides = {}
    for item in set_:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise LorakitError(f"--set {item!r} is not key=value.", "Write e.g. --set network.dim=16.")
        overrides[key.strip()] = _value(value)
    with _store(workspace) as store, JobRunner(store.workspace, start=wait) as runner:
        started = train.start_training(store, runner, character, overrides, repeats=repeats)
        typer.echo(f"Training job {started.job_id} started on {started.dataset}.")
        if not wait:
            typer.echo("`lorakit studio trainings` copies its LoRA to the project's folder once it has finished.")
            return
        job = runner.wait(started.job_id)
        train.collect(store, runner)
        (done,) = [t for t in train.trainings(store, character) if t.id == started.id]
        typer.echo(f"Job {job.state}. " + (f"LoRA: {done.lora_path}" if done.lora_path else (done.message or "")))


@studio_app.command("trainings")
def trainings(
    character: int | None = typer.Option(None, help="Only this character's."), workspace: Path | None = WORKSPACE
) -> None:
    """List trainings, newest first; copies the LoRA of each finished one to its project's folder."""
    from lorakit.jobs.runner import JobRunner
    from lorakit.studio import train

    with _store(workspace) as store, JobRunner(store.workspace, start=False, paused=True) as runner:
        train.collect(store, runner)
        for t in train.trainings(store, character):
            outcome = t.lora_path or t.message or ""
            typer.echo(f"{t.id}\tcharacter={t.character_id}\tjob={t.job_id}\t{t.state}\t{outcome}")
