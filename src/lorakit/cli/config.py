"""CLI: ``lorakit config`` — make, check, explain, export and import training configs.

Only typer is imported at the top; the config core (pydantic models) loads inside each command so
``lorakit --help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

config_app = typer.Typer(
    name="config",
    help="Make, check and explain training configs; move them to and from sd-scripts.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add ``lorakit config ...`` to the main app."""
    app.add_typer(config_app, name="config")


def _overrides(pairs: list[str] | None) -> dict:
    """``["network.dim=32", "learning.lr_scheduler=cosine"]`` -> ``{"network.dim": 32, ...}`` (TOML values)."""
    from lorakit.config.io import tomllib
    from lorakit.errors import ConfigError

    values: dict = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {pair!r} is not KEY=VALUE.", "Write it like --set network.dim=32.")
        try:
            values[key.strip()] = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            values[key.strip()] = text.strip()  # bare words are text: --set learning.lr_scheduler=cosine
    return values


@config_app.command("new")
def new(
    preset: str = typer.Option(None, "--preset", "-p", help="Start from this preset (see `lorakit config presets`)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the config here (default: print it)."),
    model: str = typer.Option(None, "--model", "-m", help="The base model file, diffusers folder or Hugging Face id."),
    images: list[Path] = typer.Option(None, "--images", "-i", help="A folder of training images (repeatable)."),
    repeats: int = typer.Option(1, "--repeats", "-r", min=1, help="Repeats for each --images folder."),
    set_: list[str] = typer.Option(None, "--set", "-s", help="Change a setting: --set network.dim=32 (repeatable)."),
    full: bool = typer.Option(False, "--full", help="Write every setting, not only those that differ from defaults."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file if it exists."),
) -> None:
    """Make a new config from a preset, with your changes."""
    from lorakit.cli.render import console
    from lorakit.config.io import save_config, to_toml
    from lorakit.config.presets import new_config
    from lorakit.errors import ConfigError

    overrides = _overrides(set_)
    if model:
        overrides["model.pretrained_model_name_or_path"] = model
    if images:
        # Relative to the config file (where the CLI reads relative paths from), so the config can move
        # with its images; printed to the screen, as the user typed it.
        base = output.resolve().parent if output is not None else None
        overrides["dataset.subsets"] = [{"image_dir": _relative_to(p, base), "num_repeats": repeats} for p in images]
    cfg = new_config(preset, overrides)
    text = to_toml(cfg, only_changed=not full) + _todo(cfg)
    if output is None:
        typer.echo(text, nl=False)
        _machine_notes(cfg)
        return
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists.", "Choose another name with -o, or add --force to replace it.")
    save_config(cfg, output, only_changed=not full)
    if _todo(cfg):
        with open(output, "a", encoding="utf-8") as f:  # the hint lines are comments; the file is already safe
            f.write(_todo(cfg))
    console.print(f"[green]✓[/] Wrote {output}. Check it with `lorakit config validate {output}`.", highlight=False)
    _machine_notes(cfg)


def _machine_notes(cfg) -> None:
    """Say now (on stderr, so a printed config stays clean) what this machine cannot run, e.g. a preset's
    8-bit optimizer without a CUDA GPU: the presets are written for GPU users, the fix is one setting."""
    from rich.markup import escape

    from lorakit.cli.render import err_console
    from lorakit.config.validate import check_machine

    for problem in check_machine(cfg).problems:
        err_console.print(f"[yellow]! On this machine:[/] {escape(problem.problem)}", highlight=False)
        if problem.fix:
            err_console.print(f"  [cyan]→ {escape(problem.fix)}[/]", highlight=False)


def _relative_to(path: Path, base: Path | None) -> str:
    import os

    if base is None:
        return str(path)
    try:
        return Path(os.path.relpath(path.resolve(), base)).as_posix()
    except ValueError:  # another drive (Windows): only an absolute path can say where it is
        return str(path.resolve())


def _todo(cfg) -> str:
    """Commented lines telling what a new config still needs (TOML comments, so the file stays valid)."""
    todo = []
    if not cfg.model.pretrained_model_name_or_path:
        todo.append('#   under [model]: pretrained_model_name_or_path = "path/to/model.safetensors"  (or use --model)')
    if not cfg.dataset.subsets and cfg.dataset.train_data_dir is None:
        todo.append(
            '#   at the end: [[dataset.subsets]] then image_dir = "path/to/images" and num_repeats = 10'
            "  (or use --images)"
        )
    return "\n# Still to set before training:\n" + "\n".join(todo) + "\n" if todo else ""


@config_app.command("validate")
def validate_cmd(
    file: Path = typer.Argument(..., help="A lorakit config TOML."),
    family: str = typer.Option(None, "--family", help="The model family if the config says 'auto' (sd1, sdxl, flux)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check a config: every problem and warning at once, each with its fix. Exits 1 when there are problems."""
    import json

    from rich.markup import escape

    from lorakit.cli.render import console
    from lorakit.config.validate import validate_file

    report = validate_file(file, family=family)  # type/unknown-key problems and cross-field ones together
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        for problem in report.problems:
            console.print(f"[red]✗ problem[/] {escape(problem.problem)}", highlight=False)
            if problem.fix:
                console.print(f"    [cyan]→ {escape(problem.fix)}[/]", highlight=False)
        for warning in report.warnings:
            console.print(f"[yellow]! warning[/] {escape(warning.problem)}", highlight=False)
            if warning.fix:
                console.print(f"    [cyan]→ {escape(warning.fix)}[/]", highlight=False)
        p, w = len(report.problems), len(report.warnings)
        if report.ok:
            console.print(f"[green]✓[/] {file} is ready to train" + (f" ({w} warning{'s' * (w != 1)})." if w else "."))
        else:
            console.print(f"[red]{p} problem{'s' * (p != 1)}[/], {w} warning{'s' * (w != 1)}. Fix the problems first.")
    if not report.ok:
        raise typer.Exit(1)


@config_app.command("explain")
def explain_cmd(
    field: str = typer.Argument(None, help="A setting: network.dim, dim or sd-scripts' network_dim. Empty = all."),
    level: str = typer.Option(None, "--level", "-l", help="With no FIELD: show only basic, advanced or expert."),
    section: str = typer.Option(None, "--section", help="With no FIELD: show only this section (e.g. network)."),
) -> None:
    """Explain a setting in plain words, or list them all by section."""
    from rich.table import Table

    from lorakit.cli.render import console
    from lorakit.config.schema import SECTIONS
    from lorakit.config.schema_export import explain, form_schema

    if field in SECTIONS:  # `lorakit config explain network` lists that section
        field, section = None, field
    if field:
        info = explain(field)
        console.print(f"[bold]{info.path}[/]  ({info.level}, {info.type})", highlight=False)
        console.print(info.help, highlight=False)
        facts = [
            ("default", info.default),
            ("recommended", info.recommended),
            ("unit", info.unit),
            (
                "range",
                f"{info.minimum} to {info.maximum}" if info.minimum is not None or info.maximum is not None else None,
            ),
            ("choices", ", ".join(map(str, info.choices)) if info.choices else None),
            ("sd-scripts", info.kohya_note or info.kohya or "(lorakit only: kept in lorakit.toml on export)"),
        ]
        for name, value in facts:
            if value not in (None, "", []):
                console.print(f"  [dim]{name}:[/] {value}", highlight=False)
        return
    for group in form_schema()["sections"]:
        if section and group["name"] != section:
            continue
        rows = [f for f in group["fields"] if level is None or f["level"] == level]
        if not rows:
            continue
        table = Table(title=group["title"], title_justify="left", show_lines=False, expand=True)
        table.add_column("setting", style="bold", no_wrap=True)
        table.add_column("level", style="dim")
        table.add_column("default")
        table.add_column("what it does", ratio=1)
        for row in rows:
            default = "" if row["default"] in (None, [], {}) else str(row["default"])
            table.add_row(row["path"], row["level"], default, row["help"])
        console.print(table)


@config_app.command("export")
def export_cmd(
    file: Path = typer.Argument(..., help="A lorakit config TOML."),
    kohya: Path = typer.Option(..., "--kohya", help="Folder to write sd-scripts' config.toml and dataset.toml into."),
) -> None:
    """Write a config as sd-scripts config.toml + dataset.toml (+ lorakit.toml for lorakit-only settings)."""
    from lorakit.cli.render import console
    from lorakit.config.io import load_config
    from lorakit.config.kohya import export_kohya, to_kohya

    cfg = load_config(file)
    files = to_kohya(cfg)  # the script can differ from the family's when the family is "auto"
    written = export_kohya(cfg, kohya)
    for note in files.notes:
        console.print(f"[yellow]![/] {note}", highlight=False)
    for path in written:
        console.print(f"[green]✓[/] {path}", highlight=False)
    console.print(
        f"Run with sd-scripts: accelerate launch {files.script} --config_file {kohya / 'config.toml'}",
        highlight=False,
    )


@config_app.command("import")
def import_cmd(
    files: list[Path] = typer.Argument(..., help="sd-scripts config.toml / dataset.toml, or a LoRA .safetensors."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the lorakit config here (default: print it)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file if it exists."),
) -> None:
    """Turn sd-scripts TOML files (or a LoRA's training metadata) into a lorakit config."""
    from lorakit.cli.render import err_console
    from lorakit.config.io import save_config, to_toml
    from lorakit.config.kohya import import_kohya, import_lora_metadata
    from lorakit.config.kohya_metadata import read_safetensors_metadata
    from lorakit.errors import ConfigError

    loras = [f for f in files if f.suffix.lower() == ".safetensors"]
    if loras and len(files) > 1:
        raise ConfigError(
            "Give either one LoRA file or sd-scripts TOML files, not both.", "Import them one at a time."
        )
    result = import_lora_metadata(read_safetensors_metadata(loras[0])) if loras else import_kohya(*files)
    for note in result.notes:
        err_console.print(f"[yellow]![/] {note}", highlight=False)
    if output is None:
        typer.echo(to_toml(result.config), nl=False)
        return
    if output.exists() and not force:
        raise ConfigError(f"{output} already exists.", "Choose another name with -o, or add --force to replace it.")
    save_config(result.config, output)
    err_console.print(f"[green]✓[/] Wrote {output}. Check it with `lorakit config validate {output}`.")


@config_app.command("presets")
def presets_cmd(
    user_folder: Path = typer.Option(None, "--folder", help="Also list your own presets saved in this folder."),
) -> None:
    """List the presets: what each is for and for whom."""
    from rich.table import Table

    from lorakit.cli.render import console
    from lorakit.config.presets import list_presets

    table = Table(expand=True)
    table.add_column("preset", style="bold", no_wrap=True)
    table.add_column("family", no_wrap=True)
    table.add_column("for whom / what", ratio=1)
    for info in list_presets(user_folder):
        own = "" if info.builtin else " [dim](yours)[/]"
        table.add_row(info.name + own, info.family, f"[bold]{info.title}[/]: {info.for_whom}\n{info.what}")
    console.print(table)
    console.print("Start one: lorakit config new --preset NAME -o my_lora.toml", highlight=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(config_app())
