"""CLI: ``lorakit lora`` — inspect, resize, merge, bake, convert, extract and upload LoRA files.

Only typer is imported at the top; torch and the LoRA core load inside each command.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

lora_app = typer.Typer(
    name="lora",
    help="Look inside, shrink, merge, bake, convert, extract and publish LoRA files.",
    no_args_is_help=True,
)

METHOD_HELP = "fixed (uses --rank), or a dynamic rank per layer: sv_fro, sv_cumulative or sv_ratio (uses --value)."
DEVICE_HELP = "cpu, cuda or mps (default: the GPU if there is one)."


def register(app: typer.Typer) -> None:
    """Add ``lorakit lora ...`` to the main app."""
    app.add_typer(lora_app, name="lora")


def _dtype(precision: str):
    from typing import get_args

    from lorakit.errors import LorakitError
    from lorakit.jobs.params import Precision, torch_dtype

    if precision not in get_args(Precision):
        raise LorakitError(f"Unknown precision {precision!r}.", f"Use one of: {', '.join(get_args(Precision))}.")
    return torch_dtype(precision)


def _check_output(output: Path, force: bool) -> None:
    from lorakit.errors import LorakitError

    if output.exists() and not force:
        raise LorakitError(f"{output} already exists.", "Choose another name with -o, or add --force to replace it.")


def _weighted(items: list[str]) -> list[tuple[Path, float]]:
    """``a.safetensors:0.7`` -> (a.safetensors, 0.7); no weight means 1.0."""
    out = []
    for item in items:
        head, sep, tail = item.rpartition(":")
        try:
            out.append((Path(head), float(tail)) if sep and head else (Path(item), 1.0))
        except ValueError:
            out.append((Path(item), 1.0))  # a colon in the path, not a weight
    return out


def _spinner(message: str):
    from lorakit.cli.render import console

    return console.status(message)


def _print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@lora_app.command("inspect")
def inspect(
    file: Path = typer.Argument(..., help="The LoRA file (.safetensors), or a peft adapter folder."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as JSON for programs."),
    modules: bool = typer.Option(False, "--modules", help="List every module with its rank, alpha and strength."),
    no_hash: bool = typer.Option(False, "--no-hash", help="Skip hashing the file (faster for big files)."),
) -> None:
    """Show what a LoRA is for, how it was trained, and what is inside."""
    from rich.table import Table

    from lorakit.cli.render import console
    from lorakit.lora.inspect import describe_parts, inspect_lora

    report = inspect_lora(file, full_hash=not no_hash)
    if as_json:
        _print_json(report.to_dict())
        return
    summary = Table(title=file.name, show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("made for", f"{report.base_label}  [dim]({report.base_source})[/]")
    summary.add_row("network", f"{report.network}  [dim]layout: {report.layout}[/]")
    summary.add_row("ranks", ", ".join(f"{r} ×{n}" for r, n in report.ranks.items()) or "-")
    summary.add_row("alphas", ", ".join(f"{a:g} ×{n}" for a, n in report.alphas.items()) or "-")
    summary.add_row("conv layers", str(report.conv_modules))
    for text in describe_parts(report).values():
        summary.add_row("trains", text)
    if not report.text_encoder_trained:
        summary.add_row("text encoder", "not trained (UNet only)")
    if report.trigger_words:
        summary.add_row("trigger words", ", ".join(report.trigger_words))
    for name, value in report.training.items():
        summary.add_row(name, str(value))
    for name, value in report.modelspec.items():
        summary.add_row(f"modelspec {name}", str(value)[:120])
    for name, value in report.hashes.items():
        if value:
            summary.add_row(name, str(value))
    console.print(summary)
    if report.top_tags:
        tags = Table(title="most frequent tags", title_justify="left")
        tags.add_column("tag")
        tags.add_column("count", justify="right")
        for tag, count in report.top_tags[:15]:
            tags.add_row(tag, str(count))
        console.print(tags)
    if modules:
        table = Table(title="modules", title_justify="left")
        for column in ("module", "layer", "type", "rank", "alpha", "strength"):
            table.add_column(column, justify="right" if column in ("rank", "alpha", "strength") else "left")
        for m in report.modules:
            table.add_row(m.name, m.layer, m.network, str(m.rank), f"{m.alpha:g}", f"{m.strength:.4g}")
        console.print(table)
    if report.unknown_keys:
        console.print(
            f"[yellow]![/] {len(report.unknown_keys)} keys lorakit does not understand, e.g. "
            f"{', '.join(report.unknown_keys[:5])}"
        )


@lora_app.command("resize")
def resize(
    file: Path = typer.Argument(..., help="The LoRA to shrink."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the resized LoRA."),
    rank: int = typer.Option(None, "--rank", "-r", help="Target rank (fixed), or the most any layer keeps (dynamic)."),
    method: str = typer.Option(None, "--method", "-m", help=METHOD_HELP + " Default: fixed."),
    value: float = typer.Option(
        None,
        "--value",
        "-v",
        help="sv_fro/sv_cumulative: fraction kept, e.g. 0.9; sv_ratio: largest/smallest singular value kept, e.g. 10.",
    ),
    alpha: float = typer.Option(None, "--alpha", help="Write this alpha (weights adjust so strength is unchanged)."),
    precision: str = typer.Option(None, "--precision", help="fp16, bf16 or fp32 (default: as the input)."),
    device: str = typer.Option(None, "--device", help=DEVICE_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file."),
    as_json: bool = typer.Option(False, "--json", help="Print the per-layer report as JSON."),
) -> None:
    """Shrink a LoRA with SVD, to a fixed rank or a rank per layer that keeps a chosen share of it."""
    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console
    from lorakit.lora.resize import resize_lora

    values = {"source": str(file), "output": str(output), "rank": rank, "method": method, "value": value}
    values |= {"alpha": alpha, "precision": precision, "device": device}
    params = checked("ResizeParams", values, "lora resize", {"source": "FILE"})
    _check_output(output, force)
    with _spinner(f"Resizing {file.name}"):
        report = resize_lora(file, output, **params.tool_options())
    if as_json:
        _print_json(report.to_dict())
        return
    data = report.to_dict()
    console.print(
        f"[green]✓[/] Wrote {output}: mean rank {data['mean_rank']:.1f}, Frobenius kept "
        f"{data['mean_retained_fro']:.3f} on average (lowest {data['min_retained_fro']:.3f})."
    )
    notes = {m.note for m in report.modules if m.note}
    for note in notes:
        console.print(f"[yellow]![/] some layers: {note}")


@lora_app.command("merge")
def merge(
    files: list[str] = typer.Argument(..., help="LoRA files, each optionally with a weight: a.safetensors:0.7"),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the merged LoRA."),
    rank: int = typer.Option(None, "--rank", "-r", help="Compress to this rank with SVD (default: exact, ranks add)."),
    method: str = typer.Option(None, "--method", "-m", help="SVD compression: " + METHOD_HELP),
    value: float = typer.Option(None, "--value", "-v", help="The value for a dynamic --method."),
    precision: str = typer.Option(None, "--precision", help="fp16, bf16 or fp32. Default: fp16."),
    device: str = typer.Option(None, "--device", help=DEVICE_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file."),
) -> None:
    """Merge several LoRAs into one, each with its own strength."""
    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console
    from lorakit.lora.merge import merge_lora_files

    sources = _weighted(files)
    values = {"sources": [[str(path), weight] for path, weight in sources], "output": str(output), "rank": rank}
    values |= {"method": method, "value": value, "precision": precision, "device": device}
    params = checked("MergeParams", values, "lora merge", {"sources": "FILES"})
    _check_output(output, force)
    with _spinner("Merging"):
        out, report = merge_lora_files(sources, output, **params.tool_options())
    extra = f", Frobenius kept {report.mean_retained_fro:.3f} on average" if report else " (exact)"
    console.print(f"[green]✓[/] Wrote {out}{extra}.")


@lora_app.command("bake")
def bake(
    checkpoint: Path = typer.Argument(..., help="The base checkpoint (single-file .safetensors)."),
    loras: list[str] = typer.Argument(..., help="LoRA files, each optionally with a weight: a.safetensors:0.8"),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the new checkpoint."),
    precision: str = typer.Option("fp16", "--precision", help="fp16, bf16 or fp32."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file."),
) -> None:
    """Bake LoRAs into a checkpoint, making a new single-file model."""
    from lorakit.cli.render import console
    from lorakit.lora.bake import bake_loras

    _check_output(output, force)
    _dtype(precision)
    with _spinner(f"Baking into {checkpoint.name}"):
        out = bake_loras(checkpoint, _weighted(loras), output, dtype=precision)
    console.print(f"[green]✓[/] Wrote {out}.")


@lora_app.command("convert")
def convert(
    file: Path = typer.Argument(..., help="The LoRA (a file, or a peft adapter folder)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write it (a folder for --to peft)."),
    to: str = typer.Option(
        None, "--to", "-t", help="kohya (A1111/Forge/ComfyUI; the default), diffusers, peft or comfyui."
    ),
    arch: str = typer.Option(None, "--arch", help="sd1, sd2 or sdxl, when the file does not say."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output."),
) -> None:
    """Convert a LoRA between the key layouts of kohya, diffusers, peft and ComfyUI."""
    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console
    from lorakit.lora.convert import convert_lora, output_path

    values = {"source": str(file), "output": str(output), "layout": to, "arch": arch}
    params = checked("ConvertParams", values, "lora convert", {"source": "FILE", "layout": "--to"})
    target = output_path(output, params.layout)
    if target != output:
        console.print(f"A peft adapter is a folder, not a file: writing the folder {target} instead of {output}.")
    _check_output(target, force)
    out = convert_lora(file, target, params.layout, arch=params.arch)
    console.print(f"[green]✓[/] Wrote {out} ({params.layout} layout).")


@lora_app.command("extract")
def extract(
    base: Path = typer.Argument(..., help="The base checkpoint (.safetensors)."),
    tuned: Path = typer.Argument(..., help="The fine-tuned checkpoint (.safetensors)."),
    output: Path = typer.Option(..., "--output", "-o", help="Where to write the LoRA."),
    rank: int = typer.Option(
        None, "--rank", "-r", help="Rank of the linear layers (the most kept when dynamic). Default: 32."
    ),
    conv_rank: int = typer.Option(None, "--conv-rank", help="Also extract 3x3 conv layers at this rank (LoCon)."),
    method: str = typer.Option(None, "--method", "-m", help=METHOD_HELP + " Default: fixed."),
    value: float = typer.Option(None, "--value", "-v", help="The value for a dynamic --method."),
    clamp_quantile: float = typer.Option(
        None, "--clamp-quantile", help="Clip factor outliers (1.0: off). Default: 0.99."
    ),
    no_text_encoder: bool = typer.Option(False, "--no-text-encoder", help="Leave the text encoder out."),
    device: str = typer.Option(None, "--device", help=DEVICE_HELP),
    precision: str = typer.Option(None, "--precision", help="fp16, bf16 or fp32. Default: fp16."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output file."),
) -> None:
    """Extract a LoRA from the difference between a fine-tuned model and its base."""
    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console
    from lorakit.lora.extract import extract_lora

    values = {"base": str(base), "tuned": str(tuned), "output": str(output), "rank": rank, "conv_rank": conv_rank}
    values |= {"method": method, "value": value, "clamp_quantile": clamp_quantile, "device": device}
    values |= {"precision": precision, "text_encoder": False if no_text_encoder else None}
    params = checked("ExtractParams", values, "lora extract", {"base": "BASE", "tuned": "TUNED"})
    _check_output(output, force)
    with _spinner("Extracting (SVD per layer)"):
        summary = extract_lora(base, tuned, output, **params.tool_options())
    kept = sum(v["retained_fro"] for v in summary.values()) / len(summary)
    console.print(f"[green]✓[/] Wrote {output}: {len(summary)} layers, Frobenius kept {kept:.3f} on average.")


@lora_app.command("upload")
def upload(
    file: Path = typer.Argument(..., help="The LoRA file to publish."),
    repo: str = typer.Argument(..., help="The Hugging Face repo: name or user/name (created if needed)."),
    private: bool = typer.Option(False, "--private", help="Make a new repo private."),
    image: list[str] = typer.Option(
        None, "--image", help="A sample image, optionally with its prompt: 'img.png::a photo of mira' (repeatable)."
    ),
    prompt: list[str] = typer.Option(None, "--prompt", help="An example prompt for the card (repeatable)."),
    title: str = typer.Option(None, "--title", help="Card title (default: from the file)."),
    description: str = typer.Option(None, "--description", help="A paragraph for the card."),
    base_model: str = typer.Option(None, "--base-model", help="Hub id of the base model (default: by family)."),
    trigger: list[str] = typer.Option(None, "--trigger", help="Trigger word (repeatable; default: from metadata)."),
    license: str = typer.Option(None, "--license", help="License id for the card, e.g. openrail++."),
    token: str = typer.Option(None, "--token", help="Hugging Face token (default: the saved one or $HF_TOKEN)."),
    endpoint: str = typer.Option(None, "--endpoint", hidden=True),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Publish a LoRA on Hugging Face with sample images and a generated model card."""
    from lorakit.cli.jobparams import checked
    from lorakit.cli.render import console
    from lorakit.hub.upload import upload_lora

    images = [(Path(path), caption) for path, _, caption in (item.partition("::") for item in image or [])]
    values = {"lora": str(file), "repo_id": repo, "private": private, "title": title, "description": description}
    values |= {"trigger_words": trigger or None, "images": [[str(p), c] for p, c in images] or None}
    values |= {"prompts": prompt or None, "base_model": base_model, "license": license}
    params = checked("UploadParams", values, "lora upload", {"lora": "FILE", "repo_id": "REPO", "images": "--image"})
    with _spinner(f"Uploading to {repo}"):
        result = upload_lora(
            file, params.repo_id, token=token, images=images, endpoint=endpoint, **params.card_options()
        )
    if as_json:
        _print_json(result.to_dict())
        return
    console.print(f"[green]✓[/] Published {len(result.files)} files to {result.url}")
