"""CLI: ``lorakit dataset import|check|dedup|tag|caption|tags ...|undo|trash``.

Thin: each command parses, calls the core (``lorakit.data``, ``lorakit.tagging``) and renders. Long work
shows a rich progress bar attached to the core's events. ``--json`` prints what a script needs.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import typer

from lorakit.cli.dataset_tags import existing_folder, tags_app

dataset_app = typer.Typer(
    name="dataset",
    help="Build and clean a dataset: import images, check its health, remove duplicates, tag, caption, edit tags.",
    no_args_is_help=True,
)
dataset_app.add_typer(tags_app, name="tags")

FOLDER = typer.Argument(
    ..., help="The dataset folder (images with .txt captions).", show_default=False, callback=existing_folder
)
JSON = typer.Option(False, "--json", help="Print the result as JSON (for scripts).")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(dataset_app, name="dataset")


def command_line(*words, **options) -> str:
    """A command to print as a hint, quoted so that it runs as printed; options left at None are omitted."""
    from shlex import quote

    parts = ["lorakit", "dataset", *(quote(str(w)) for w in words)]
    for name, value in options.items():
        if value is not None and value is not False:
            flag = "--" + name.replace("_", "-")
            parts += [flag] if value is True else [flag, quote(str(value))]
    return " ".join(parts)


def print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@contextlib.contextmanager
def progress_emitter(label: str, enabled: bool = True):
    """An Emitter whose progress events drive a rich progress bar (on stderr, so --json stays clean)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from lorakit.cli.render import err_console, escape
    from lorakit.events import PROGRESS, WARNING, Emitter

    if not enabled:
        yield Emitter()
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def on_event(event) -> None:
            if event.type == PROGRESS:
                stage = event.data.get("stage")
                progress.update(
                    task,
                    completed=event.data.get("done", 0),
                    total=event.data.get("total"),
                    description=f"{label} ({stage})" if stage else label,
                )
            elif event.type == WARNING:
                progress.console.print(f"[yellow]![/] {escape(str(event.data.get('message')))}", highlight=False)

        yield Emitter(callbacks=[on_event])


@dataset_app.command("import")
def import_command(
    sources: list[Path] = typer.Argument(..., help="Folders, ZIP archives or image files.", show_default=False),
    to: Path = typer.Option(..., "--to", help="The dataset folder to import into (created if needed)."),
    as_json: bool = JSON,
) -> None:
    """Import images (with their captions) from folders, ZIP archives and single files.

    Folders named like '10_name' become subsets with 10 repeats. Nothing in the dataset is overwritten:
    a name already taken gets a new one.
    """
    from lorakit.cli.jobparams import checked
    from lorakit.data.importer import import_images, require_images

    checked(
        "ImportParams", {"sources": [str(p) for p in sources], "to": str(to)}, "dataset import", {"sources": "SOURCES"}
    )
    with progress_emitter("Importing", not as_json) as emitter:
        report = import_images(sources, to, emitter=emitter)
    if as_json:
        print_json(report.to_dict())
    else:
        typer.echo(report.summary())
    require_images(report)


@dataset_app.command("check")
def check_command(
    folder: Path = FOLDER,
    resolution: int | None = typer.Option(
        None, help="Training resolution (512 for SD1.5, 1024 for SDXL). Default: 512."
    ),
    trigger: str | None = typer.Option(None, "--trigger", help="Your trigger word: checked in every caption."),
    batch_size: int | None = typer.Option(None, help="Batch size, for the step count and bucket advice. Default: 1."),
    epochs: int | None = typer.Option(None, help="Epochs, for the step count. Default: 10."),
    max_tokens: int | None = typer.Option(None, help="Caption length limit in tokens: 75 (the default), 150 or 225."),
    fix: list[str] = typer.Option([], "--fix", help="Apply a safe fix by its id (repeatable). See the report."),
    as_json: bool = JSON,
) -> None:
    """Check a dataset's health: damaged files, sizes, captions, trigger word, duplicates, buckets, steps."""
    from lorakit.cli.jobparams import checked
    from lorakit.data.health import check_dataset
    from lorakit.data.health_fixes import apply_fix

    values = {"dataset": str(folder), "resolution": resolution, "trigger_word": trigger, "batch_size": batch_size}
    values |= {"epochs": epochs, "max_token_length": max_tokens}
    names = {"dataset": "FOLDER", "trigger_word": "--trigger", "max_token_length": "--max-tokens"}
    # What the health job passes: the options given; the check's own defaults for the rest.
    options = checked("HealthParams", values, "dataset check", names).model_dump(
        exclude={"dataset"}, exclude_none=True
    )

    def run():
        with progress_emitter("Checking images", not as_json) as emitter:
            return check_dataset(folder, emitter=emitter, **options)

    report = run()
    fixes = []
    for fix_id in fix:
        fixes.append(apply_fix(folder, fix_id, report=report, trigger_word=trigger))
    if fixes:
        report = run()
    if as_json:
        print_json({**report.to_dict(), "fixes": [f.to_dict() for f in fixes]})
        return
    for result in fixes:
        undo = f" (undo: {command_line('undo', folder)})" if result.journal_id else ""
        typer.echo(f"Fix {result.fix_id}: {result.message}{undo}")
        if result.trashed:
            _show_restore(folder, result.trashed)
    # Fix hints repeat the options given, so "--fix ID" checks the same way (trigger word, resolution, ...).
    given = {"resolution": resolution, "trigger": trigger, "batch_size": batch_size, "epochs": epochs}
    given |= {"max_tokens": max_tokens}
    typer.echo(report.summary(command_line("check", folder, **given)))
    if not report.ok:
        raise typer.Exit(1)


@dataset_app.command("dedup")
def dedup_command(
    folder: Path = FOLDER,
    threshold: int | None = typer.Option(
        None, help="How different two images may be and still count as duplicates (0-64). Default: 6."
    ),
    remove: bool = typer.Option(
        False, "--remove", help="Move all but the suggested keeper of each group to the trash."
    ),
    as_json: bool = JSON,
) -> None:
    """Find near-duplicate images (perceptual hashes); optionally move the extras to the restorable trash."""
    from lorakit.cli.jobparams import checked
    from lorakit.data.dedup import find_duplicates, remove_duplicates
    from lorakit.data.health_fixes import dataset_trash

    values = {"dataset": str(folder), "threshold": threshold, "remove": remove}
    checked("DedupParams", values, "dataset dedup", {"dataset": "FOLDER"})
    kwargs = {"threshold": threshold} if threshold is not None else {}  # as the dedup job: the core's default
    with progress_emitter("Hashing", not as_json) as emitter:
        report = find_duplicates(folder, emitter=emitter, **kwargs)
    moved = remove_duplicates(report.groups, dataset_trash(folder)) if remove else []
    if as_json:
        print_json({**report.to_dict(), "trashed": [m.to_dict() for m in moved]})
        return
    typer.echo(
        f"{report.images} images, {len(report.groups)} groups of near-duplicates ({report.duplicate_count} extra)."
    )
    for group in report.groups:
        typer.echo(f"  keep {group.keeper.name}: " + ", ".join(p.name for p in group.duplicates))
    if moved:
        typer.echo(f"Moved {len(moved)} files to the trash.")
        _show_restore(folder, [m.id for m in moved])
    elif report.groups:
        again = command_line("dedup", folder, threshold=threshold, remove=True)
        typer.echo(f"Move the extras to the trash (restorable) with: {again}")


def _show_restore(folder: Path, item_ids: list[str]) -> None:
    """How to see and put back what was just moved to the dataset's trash, as commands that run as printed."""
    from shlex import quote

    typer.echo(f"See them with: {command_line('trash', folder)}")
    if len(item_ids) <= 10:
        restore = " ".join(f"--restore {quote(item_id)}" for item_id in item_ids)
        typer.echo(f"Put them back with: {command_line('trash', folder)} {restore}")


def _images(folder: Path, only: list[Path] | None) -> list[Path]:
    from lorakit.data.images import list_images

    return [Path(p) for p in only] if only else list_images(folder)


@dataset_app.command("tag")
def tag_command(
    folder: Path = FOLDER,
    model: str = typer.Option("SmilingWolf/wd-vit-tagger-v3", help="Hugging Face repo id or a local folder."),
    threshold: float | None = typer.Option(None, help="General tag threshold (default: the model's own)."),
    character_threshold: float = typer.Option(0.85, help="Character tag threshold."),
    mcut: bool = typer.Option(False, "--mcut", help="Pick the general threshold per image automatically (MCut)."),
    character_mcut: bool = typer.Option(False, "--character-mcut", help="MCut for character tags too."),
    rating: str = typer.Option("none", help="Add the rating tag: none, first or last."),
    characters_first: bool = typer.Option(True, help="Put character tags before general tags."),
    always_first: str = typer.Option("", help="Tags moved to the front when found, e.g. '1girl, solo'."),
    undesired: str = typer.Option("", help="Tags never written, e.g. 'simple background, white background'."),
    replace: list[str] = typer.Option([], help="Replace a tag: 'old=new' (repeatable)."),
    drop_overlap: bool = typer.Option(False, "--drop-overlap", help="Drop 'shirt' when 'white shirt' is there."),
    existing: str = typer.Option("skip", help="Images that have captions: skip, append or overwrite."),
    underscores: bool = typer.Option(False, "--underscores", help="Write tags with underscores."),
    escape_brackets: bool = typer.Option(False, "--escape-brackets", help="Write ( ) as \\( \\) for A1111 prompts."),
    batch_size: int = typer.Option(8, help="Images per model call."),
    as_json: bool = JSON,
) -> None:
    """Tag every image with a WD14 tagger (undoable with 'lorakit dataset undo')."""
    from lorakit.tagging.tag_rules import TagSettings
    from lorakit.tagging.wd14 import Tagger, tag_images

    settings = TagSettings(
        general_threshold=threshold,
        character_threshold=character_threshold,
        general_mcut=mcut,
        character_mcut=character_mcut,
        rating=rating,
        character_first=characters_first,
        always_first=[t for t in always_first.split(",") if t.strip()],
        undesired=[t for t in undesired.split(",") if t.strip()],
        replacements=dict(_pair(r) for r in replace),
        drop_overlap=drop_overlap,
        existing=existing,
        underscores=underscores,
        escape_brackets=escape_brackets,
        batch_size=batch_size,
    )
    tagger = Tagger(model)
    if not as_json:
        typer.echo(f"Tagger {model}: input {tagger.size}px, running on {tagger.provider}.")
        if tagger.provider_note:
            typer.secho(tagger.provider_note, fg="yellow")
    with progress_emitter("Tagging", not as_json) as emitter:
        report = tag_images(folder, _images(folder, None), tagger, settings, emitter=emitter)
    if as_json:
        print_json(report.to_dict())
        return
    typer.echo(
        f"Tagged {len(report.tagged)} images ({report.images_per_second} images/s); skipped {len(report.skipped)}."
    )
    _show_skipped(report.skipped)
    if report.tagged:
        typer.echo(f"Undo with: {command_line('undo', folder)}")


def _pair(text: str) -> tuple[str, str]:
    old, sep, new = text.partition("=")
    if not sep:
        raise typer.BadParameter(f"{text!r}: write a replacement as old=new (new may be empty to remove).")
    return old.strip(), new.strip()


def _show_skipped(skipped: dict[str, str]) -> None:
    reasons: dict[str, int] = {}
    for reason in skipped.values():
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {count} skipped: {reason}")


@dataset_app.command("caption")
def caption_command(
    folder: Path = FOLDER,
    model: str = typer.Option("Salesforce/blip-image-captioning-large", help="Image-to-text model id or folder."),
    prefix: str = typer.Option("", help="Text put before each caption (e.g. your trigger word)."),
    suffix: str = typer.Option("", help="Text put after each caption."),
    mode: str = typer.Option("replace", help="replace, before_tags, after_tags or skip_existing."),
    prompt: str | None = typer.Option(None, help="Task or start text, e.g. '<MORE_DETAILED_CAPTION>' (Florence-2)."),
    batch_size: int = typer.Option(8, help="Images per model call."),
    trust_remote_code: bool = typer.Option(False, help="Allow models that ship their own code (Florence-2)."),
    as_json: bool = JSON,
) -> None:
    """Write sentence captions with a transformers model (BLIP, Florence-2, ...). Undoable."""
    from lorakit.tagging.captioner import Captioner, CaptionSettings, caption_images

    settings = CaptionSettings(prefix=prefix, suffix=suffix, mode=mode, prompt=prompt, batch_size=batch_size)
    captioner = Captioner(model, trust_remote_code=trust_remote_code)
    with progress_emitter("Captioning", not as_json) as emitter:
        report = caption_images(folder, _images(folder, None), captioner, settings, emitter=emitter)
    if as_json:
        print_json(report.to_dict())
        return
    typer.echo(f"Captioned {len(report.captioned)} images on {report.device}; skipped {len(report.skipped)}.")
    _show_skipped(report.skipped)
    if report.captioned:
        typer.echo(f"Undo with: {command_line('undo', folder)}")


@dataset_app.command("undo")
def undo_command(
    folder: Path = FOLDER,
    count: int = typer.Option(1, "--count", "-n", help="How many edits to undo, newest first."),
    show: bool = typer.Option(False, "--list", help="List the recorded edits instead of undoing."),
    force: bool = typer.Option(False, help="Undo even captions changed again since the edit."),
    as_json: bool = JSON,
) -> None:
    """Undo the last caption edits (tagging, captioning, tag edits, fixes), restoring files byte for byte."""
    from lorakit.data.journal import Journal

    journal = Journal(folder)
    if show:
        entries = [e.summary() for e in journal.entries()]
        if as_json:
            print_json(entries)
        for e in [] if as_json else entries:
            typer.echo(f"{e['id']}  {e['files']:>6} files  {e['description']}")
        if not entries and not as_json:
            typer.echo("No edits recorded.")
        return
    results = journal.undo(count, force=force)
    if as_json:
        print_json(
            [
                {"id": r.entry.id, "restored": len(r.restored), "conflicts": [str(p) for p in r.conflicts]}
                for r in results
            ]
        )
        return
    if not results:
        typer.echo("Nothing to undo.")
    for r in results:
        if r.conflicts:
            typer.secho(
                f"Not undone: {r.entry.description}: {len(r.conflicts)} captions were changed since"
                f" (e.g. {r.conflicts[0].name}). Use --force to undo anyway.",
                fg="yellow",
            )
        else:
            typer.echo(f"Undone: {r.entry.description} ({len(r.restored)} files restored)")


@dataset_app.command("trash")
def trash_command(
    folder: Path = FOLDER,
    restore: list[str] = typer.Option([], "--restore", help="Put an item back by its id (repeatable)."),
    empty_days: float | None = typer.Option(None, "--empty-older-than", help="Delete items older than N days."),
    as_json: bool = JSON,
) -> None:
    """List, restore or empty the dataset's trash (where dedup and fixes move files)."""
    from lorakit.data.health_fixes import dataset_trash

    trash = dataset_trash(folder)
    restored = [str(trash.restore(item_id)) for item_id in restore]
    removed = trash.empty(older_than=empty_days * 86400) if empty_days is not None else []
    items = trash.list()
    if as_json:
        print_json({"restored": restored, "deleted": [i.id for i in removed], "items": [i.to_dict() for i in items]})
        return
    for path in restored:
        typer.echo(f"Restored {path}")
    if removed:
        typer.echo(f"Deleted {len(removed)} items for good.")
    for item in items:
        typer.echo(f"{item.id}  {item.original_path}")
    if not items:
        typer.echo("The trash is empty.")
