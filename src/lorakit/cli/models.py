"""CLI: ``lorakit models list|inspect|download|verify|token``: the local model library and downloads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import typer

models_app = typer.Typer(
    name="models",
    help="Your model library: list and inspect models, download from Civitai / Hugging Face / links, tokens.",
    no_args_is_help=True,
)

MODELS_DIR_HELP = "A models folder or a workspace (default: the workspace's models/; `lorakit doctor` shows which)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.add_typer(models_app)


def _models_dir(models_dir: Path | None, *, listing: bool = False) -> Path:
    """The library folder: ``-m`` (a models folder, or a workspace: its models/), else the workspace's.

    ``listing``: the folder must exist and look like a library (a download may create one).
    """
    from lorakit.workspace import default_root, is_workspace

    if models_dir is None:
        return default_root() / "models"
    if is_workspace(models_dir):
        return models_dir / "models"
    if not listing:
        return models_dir
    from lorakit.errors import LorakitError
    from lorakit.models.library import FOLDERS

    if not models_dir.is_dir():
        raise LorakitError(f"The models folder {models_dir} does not exist.", "Check the path given with -m.")
    if not any((models_dir / name).is_dir() for name in FOLDERS):
        raise LorakitError(
            f"{models_dir} has none of the library folders ({', '.join(FOLDERS)}).",
            "Give a models folder that has them (a workspace's models/, or ComfyUI's models/), or the workspace"
            " itself; to look at one file, use: lorakit models inspect FILE",
        )
    return models_dir


def _must_exist(path: Path) -> None:
    from lorakit.errors import ModelError

    if not path.exists():
        raise ModelError(
            f"There is no file or folder at {path}.",
            "Check the path; `lorakit models list` shows the models in your library.",
        )


def _spread(values: list) -> str:
    """``16``, or ``1–9`` when the layers differ."""
    low, high = min(values), max(values)
    return f"{low:g}" if low == high else f"{low:g}–{high:g}"


def _rank_alpha(result: dict) -> str:
    ranks = result.get("ranks") or [result["rank"]]
    rank = _spread(ranks) + (f" (varies by layer; most often {result['rank']})" if len(ranks) > 1 else "")
    alphas = result.get("alphas") or ([result["alpha"]] if result.get("alpha") is not None else [])
    # kohya's rule: a LoRA that stores no alpha uses alpha = rank (strength 1).
    return f"{rank} / {_spread(alphas) if alphas else 'not stored, so alpha = rank'}"


def _size(n: int | None) -> str:
    from lorakit.models.transfer import human_size

    return human_size(n)


def _params(n: int) -> str:
    return f"{n / 1e9:.2f} B" if n >= 1e9 else f"{n / 1e6:.1f} M" if n >= 1e6 else str(n)


@models_app.command("list")
def list_models(
    models_dir: Path = typer.Option(None, "--models-dir", "-m", help=MODELS_DIR_HELP),
    folder: str = typer.Option(None, "--folder", "-f", help="Only one folder: checkpoints, vae, loras, embeddings."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the models in your library with what each one is (read from the files, not their names)."""
    from rich.table import Table

    from lorakit.cli.render import console
    from lorakit.models.library import ModelLibrary

    library = ModelLibrary(_models_dir(models_dir, listing=True))
    entries = library.entries(folder)
    if as_json:
        typer.echo(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=2))
        return
    if not entries:
        console.print(f"No models in {library.root} yet. Add one with [bold]lorakit models download <link>[/].")
        return
    table = Table(title=f"Models in {library.root}")
    for column in ("Folder", "Name", "What it is", "Precision", "Size"):
        table.add_column(column)
    for entry in entries:
        name = str(entry.path.relative_to(library.root / entry.folder))
        if entry.info is None:
            table.add_row(entry.folder, name, f"[red]unreadable: {(entry.problem or '').splitlines()[0]}[/]", "", "")
            continue
        info = entry.info
        what = info.label + ("" if info.safe else " [red](unsafe pickle)[/]")
        if info.kind == "lora" and info.rank:
            what += f", rank {_spread(info.ranks or [info.rank])}"
        table.add_row(entry.folder, name, what, info.precision or "", _size(info.file_size))
    console.print(table)


@models_app.command()
def inspect(
    path: Path = typer.Argument(..., help="A model file or diffusers folder."),
    hashes: bool = typer.Option(False, "--hashes", help="Also compute sha256 and A1111/kohya hashes."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    metadata: bool = typer.Option(False, "--metadata", help="Show every metadata entry, untruncated."),
) -> None:
    """Show what a model file is: family, type, precision, parameters, hashes and metadata."""
    from rich.table import Table

    from lorakit.cli.render import console
    from lorakit.models.library import ModelLibrary

    _must_exist(path)
    # The detection and hash caches live in the workspace's models folder (keyed by absolute path), never
    # beside the file: a look at a model in someone's ComfyUI folder must not write into that folder.
    library = ModelLibrary(_models_dir(None))
    result = library.inspect(path, hashes=hashes)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    table = Table(show_header=False, title=result["name"])
    rows = [
        ("What it is", result["label"]),
        ("Format", result["format"] + ("" if result["safe"] else " (unsafe: never loaded)")),
        ("Prediction", f"{result['prediction']} ({result['prediction_source']})" if result["prediction"] else ""),
        ("Network", f"{result['network']} ({result['network_source']})" if result["network"] else ""),
        ("Rank / alpha", _rank_alpha(result) if result["rank"] else ""),
        ("Base model from", result["base_source"] or ""),
        ("Components", ", ".join(result["components"])),
        ("Precision", ", ".join(f"{k}: {_params(v)}" for k, v in result["dtypes"].items())),
        ("Parameters", _params(result["parameters"])),
        ("Size", _size(result["file_size"])),
    ]
    rows += [(f"Hash {k}", v) for k, v in (result.get("hashes") or {}).items()]
    for key, value in sorted(result["metadata"].items()):
        rows.append((key, value if metadata or len(value) < 100 else value[:97] + "…"))
    for note in result["notes"]:
        rows.append(("Note", note))
    for key, value in rows:
        if value:
            table.add_row(key, str(value))
    console.print(table)


@models_app.command()
def download(
    link: str = typer.Argument(..., help="A Civitai or Hugging Face link, or a direct https:// file link."),
    models_dir: Path = typer.Option(None, "--models-dir", "-m", help=MODELS_DIR_HELP),
    to: Path = typer.Option(None, "--to", help="Download into this folder instead of the library."),
    name: str = typer.Option(None, "--name", help="Save under this file (or folder) name."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download a model; it is checked, then filed in the right library folder. Interrupted? Run it again."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console, err_console
    from lorakit.events import PROGRESS, STATUS, WARNING, Emitter
    from lorakit.models.download import download as run_download

    values = {"link": link, "to": None if to is None else str(to), "name": name}
    checked("DownloadParams", values, "models download", {"link": "LINK"})

    with Progress(
        "[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn(),
        TimeRemainingColumn(), console=err_console, transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("Starting", total=None)

        def show(event) -> None:
            if event.type == PROGRESS:
                bar.update(task, completed=event.data["done"], total=event.data.get("total"),
                           description=event.data.get("file", ""))  # fmt: skip
            elif event.type == STATUS and event.data.get("message"):
                bar.console.print(f"[dim]{event.data['message']}[/]")
            elif event.type == WARNING:
                bar.console.print(f"[yellow]! {event.data['message']}[/]")

        result = run_download(
            link,
            _models_dir(models_dir) if to is None else None,
            to=to,
            name=name,
            emitter=Emitter(callbacks=[show]),
            civitai_base_url=os.environ.get("LORAKIT_CIVITAI_URL"),
            hf_endpoint=os.environ.get("HF_ENDPOINT"),
        )
    if as_json:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        return
    verb = "Already had" if result.skipped else "Downloaded"
    kind = f", {result.kind}" if result.kind else ""
    console.print(f"[green]✓[/] {verb} {result.path} ({_size(result.size)}{kind})")
    if result.sha256:
        console.print(f"  sha256 {result.sha256}")
    for note in result.notes:
        console.print(f"  [yellow]{note}[/]")


@models_app.command()
def verify(
    path: Path = typer.Argument(..., help="A model file."),
    sha256: str = typer.Option(None, "--sha256", help="The sha256 the model page lists, to compare with."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a model file is intact: header, sha256 (against --sha256 and the download record), LoRA hashes."""
    from lorakit.cli.render import console
    from lorakit.models.library import ModelLibrary
    from lorakit.models.library import verify as run_verify

    _must_exist(path)
    result = run_verify(path, sha256, library=ModelLibrary(_models_dir(None)))
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        for check in result["checks"]:
            mark = "[green]✓[/]" if check["ok"] else "[red]✗[/]"
            console.print(f"{mark} {check['check']}: {check['detail']}", highlight=False)
        if result["sha256"]:
            console.print(f"  sha256 {result['sha256']} (short {result['short']})")
    if not result["ok"]:
        raise typer.Exit(1)


@models_app.command()
def token(
    service: str = typer.Argument(None, help="huggingface (hf) or civitai. Leave out to see which tokens are set."),
    delete: bool = typer.Option(False, "--delete", help="Forget the stored token."),
    value: str = typer.Option(None, "--value", help="The token (otherwise you are asked, without echo)."),
    settings_dir: Path = typer.Option(None, "--settings-dir", help="Token folder (default ~/.config/lorakit)."),
) -> None:
    """Set, remove or show (masked) your Hugging Face and Civitai tokens. Stored owner-only."""
    from lorakit import credentials
    from lorakit.cli.render import console

    if service is None:
        for name, status in credentials.token_status(settings_dir).items():
            where = f" (from {status['source']})" if status["source"] else ""
            console.print(f"{name}: {status['masked']}{where}", highlight=False)
        return
    key = credentials.service_name(service)
    if delete:
        removed = credentials.delete_token(key, settings_dir)
        console.print(f"Removed the stored {key} token." if removed else f"No {key} token was stored.")
        return
    secret = value or typer.prompt(f"Paste your {key} token ({credentials.WHERE_TO_GET[key]})", hide_input=True)
    path = credentials.set_token(key, secret, settings_dir)
    console.print(f"[green]✓[/] Saved {credentials.mask(secret.strip())} in {path} (only you can read it).")
