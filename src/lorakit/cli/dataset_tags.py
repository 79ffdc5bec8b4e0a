"""CLI: ``lorakit dataset tags ...``: bulk tag edits (journaled, undoable) and tag frequency.

Every edit takes the same selection options: ``--with`` (all of), ``--any`` (one of), ``--without``
(none of) filter by tags; ``--only`` names image files.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

tags_app = typer.Typer(
    name="tags",
    help="Edit tags in all, filtered or selected captions (every edit can be undone), or count them.",
    no_args_is_help=True,
)


def existing_folder(folder: Path) -> Path:
    """Argument callback: a dataset command on a folder that does not exist fails (exit 2), never "0 images"."""
    from lorakit.data.folders import require_dataset_folder

    return require_dataset_folder(folder) if folder is not None else folder


FOLDER = typer.Argument(..., help="The dataset folder.", show_default=False, callback=existing_folder)
WITH = typer.Option([], "--with", help="Only captions with ALL of these tags (repeatable).")
ANY = typer.Option([], "--any", help="Only captions with AT LEAST ONE of these tags (repeatable).")
WITHOUT = typer.Option([], "--without", help="Only captions with NONE of these tags (repeatable).")
ONLY = typer.Option([], "--only", help="Only these image files (repeatable).")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _split(values: list[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def _run(folder: Path, edit, with_: list[str], any_: list[str], without: list[str], only: list[Path], as_json: bool):
    from lorakit.data.images import list_images
    from lorakit.data.tags import TagFilter, edit_captions

    images = [Path(p) for p in only] if only else list_images(folder)
    where = TagFilter(_split(with_), _split(any_), _split(without))
    report = edit_captions(folder, images, edit, where=where)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    changed = len(report.result.changed)
    typer.echo(f"{edit.describe()}: changed {changed} of {report.matched} captions.")
    for path, reason in list(report.skipped.items())[:10]:
        typer.secho(f"  skipped {Path(path).name}: {reason}", fg="yellow")
    if changed:
        from shlex import quote

        typer.echo(f"Undo with: lorakit dataset undo {quote(str(folder))}")


@tags_app.command("add")
def add(
    folder: Path = FOLDER,
    tags: list[str] = typer.Argument(..., help="Tags to add (comma-separated or separate words)."),
    front: bool = typer.Option(False, "--front", help="Put them first instead of last."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Add tags to captions that lack them."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("add", tags=_split(tags), front=front), with_, any_, without, only, as_json)


@tags_app.command("remove")
def remove(
    folder: Path = FOLDER,
    tags: list[str] = typer.Argument(..., help="Tags to remove."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Remove tags."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("remove", tags=_split(tags)), with_, any_, without, only, as_json)


@tags_app.command("replace")
def replace(
    folder: Path = FOLDER,
    old: str = typer.Argument(..., help="The tag to replace."),
    new: str = typer.Argument(..., help="Its replacement (several: 'a, b'; empty '' removes it)."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Replace one whole tag by another (not a substring: 'hair' does not touch 'long hair')."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("replace", mapping={old: new}), with_, any_, without, only, as_json)


@tags_app.command("trigger")
def trigger(
    folder: Path = FOLDER,
    word: str = typer.Argument(..., help="Your trigger word."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Make the trigger word the first tag of every caption."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("trigger", tags=[word]), with_, any_, without, only, as_json)


@tags_app.command("front")
def front(
    folder: Path = FOLDER,
    tags: list[str] = typer.Argument(..., help="Tags to move to the front, in this order."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Move tags to the front where they appear."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("front", tags=_split(tags)), with_, any_, without, only, as_json)


@tags_app.command("dedupe")
def dedupe(
    folder: Path = FOLDER,
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Remove repeated tags within each caption."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("dedupe"), with_, any_, without, only, as_json)


@tags_app.command("sort")
def sort(
    folder: Path = FOLDER,
    keep_first: int = typer.Option(0, help="Leave this many leading tags (e.g. the trigger word) in place."),
    by_frequency: bool = typer.Option(False, "--by-frequency", help="Most common tags first instead of A-Z."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Sort tags alphabetically or by how common they are."""
    from lorakit.data.tags import TagEdit

    edit = TagEdit("sort", keep_first=keep_first, by_frequency=by_frequency)
    _run(folder, edit, with_, any_, without, only, as_json)


@tags_app.command("regex")
def regex(
    folder: Path = FOLDER,
    pattern: str = typer.Argument(..., help="A regular expression searched in the caption text."),
    replacement: str = typer.Argument(..., help="The replacement (\\1 refers to a group)."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Search and replace in caption text with a regular expression."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("regex", pattern=pattern, replacement=replacement), with_, any_, without, only, as_json)


@tags_app.command("normalize")
def normalize(
    folder: Path = FOLDER,
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    only: list[Path] = ONLY,
    as_json: bool = JSON,
) -> None:
    """Rewrite captions in one form: 'a, b', underscores as spaces (kaomoji like ^_^ kept), plain brackets."""
    from lorakit.data.tags import TagEdit

    _run(folder, TagEdit("normalize"), with_, any_, without, only, as_json)


@tags_app.command("freq")
def freq(
    folder: Path = FOLDER,
    top: int = typer.Option(50, help="How many tags to show."),
    with_: list[str] = WITH,
    any_: list[str] = ANY,
    without: list[str] = WITHOUT,
    as_json: bool = JSON,
) -> None:
    """Count how many captions carry each tag."""
    from lorakit.data.images import list_images
    from lorakit.data.tags import TagFilter, read_all_tags, tag_frequency

    where = TagFilter(_split(with_), _split(any_), _split(without))
    images = list_images(folder)
    captions = read_all_tags(images)
    tag_lists = [t for t in captions.values() if where.matches(t)]
    counts = tag_frequency(tag_lists).most_common(top)
    uncaptioned = len(images) - len(captions)
    if as_json:
        data = {"captions": len(tag_lists), "images_without_caption": uncaptioned, "tags": dict(counts)}
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    none = f" ({uncaptioned} images have no readable caption)" if uncaptioned else ""
    typer.echo(f"{len(tag_lists)} captions{none}")
    for tag, count in counts:
        typer.echo(f"{count:>6}  {tag}")
