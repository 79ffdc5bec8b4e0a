"""CLI: ``lorakit plan``, the exact steps, buckets and advice for a config or a folder of images."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(plan)


def plan(
    config: Path = typer.Argument(None, help="A lorakit config TOML. Or leave it out and use --data / --sample."),
    data: Path = typer.Option(
        None, "--data", "-d", help="A folder of images, or a training folder of '<repeats>_<name>' subfolders."
    ),
    sample: bool = typer.Option(False, "--sample", help="Plan the small sample dataset that ships with lorakit."),
    reg: Path = typer.Option(None, "--reg", help="A folder of regularization images (or '<repeats>_<name>' folders)."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Repeats for a plain folder of images (--data)."),
    resolution: int = typer.Option(
        None, "--resolution", "-r", min=64, help="Training size: 512 SD1.5, 1024 SDXL (128 for --sample)."
    ),
    batch: int = typer.Option(1, "--batch", "-b", min=1, help="Images per step (train_batch_size)."),
    epochs: int = typer.Option(10, "--epochs", "-e", min=1, help="How many times the dataset is shown."),
    steps: int = typer.Option(None, "--steps", min=1, help="Train this many steps instead of --epochs."),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="gradient_accumulation_steps."),
    warmup: float = typer.Option(0.0, "--warmup", min=0.0, help="Warmup: a share below 1 (0.05) or a step count."),
    bucket_steps: int = typer.Option(
        None, "--bucket-steps", min=8, help="Bucket size step: 64 (32 for SDXL and for --sample)."
    ),
    no_upscale: bool = typer.Option(False, "--no-upscale", help="bucket_no_upscale: never enlarge small images."),
    goal: str = typer.Option(None, "--goal", "-g", help="character, style or concept: what the advice compares to."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
    images: bool = typer.Option(False, "--images", help="With --json: include every image's bucket and crop."),
) -> None:
    """Show how a training run will go: images, buckets, exact steps per epoch and in total, and advice."""
    import json

    from lorakit.data.plan import plan_for_config

    cache = _size_cache()
    if config is not None:
        from lorakit.config.io import load_config

        result = plan_for_config(load_config(config), goal=goal, cache=cache)
    else:
        result = _quick_plan(
            data, sample, reg, repeats, resolution, batch, epochs, steps, grad_accum, warmup, bucket_steps,
            no_upscale, goal, cache,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(result.to_dict(include_images=images), ensure_ascii=False, indent=2))
    else:
        show_plan(result)


def _size_cache():
    from lorakit.data.scan import SizeCache

    if os.environ.get("LORAKIT_NO_CACHE"):
        return SizeCache()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return SizeCache(base / "lorakit" / "image_sizes.json")


def _quick_plan(data, sample, reg, repeats, resolution, batch, epochs, steps, grad_accum, warmup, bucket_steps,
                no_upscale, goal, cache):  # fmt: skip
    from lorakit.config.dataset import AugmentOptions, CaptionOptions, resolve_subset
    from lorakit.data.buckets import BucketSettings
    from lorakit.data.plan import Schedule, make_plan
    from lorakit.data.scan import sample_dataset_path
    from lorakit.errors import LorakitError

    if sample:
        data = sample_dataset_path()
    resolution = resolution or (128 if sample else 512)
    bucket_steps = bucket_steps or (32 if sample else 64)
    if data is None:
        raise LorakitError(
            "Nothing to plan: give a config file, a folder with --data, or --sample.",
            "Try `lorakit plan --sample` to see a plan of the bundled sample dataset.",
        )
    subsets = _subsets_of(data, repeats, is_reg=False)
    if reg is not None:
        subsets += _subsets_of(reg, 1, is_reg=True)
    resolved = [resolve_subset(s, CaptionOptions(), AugmentOptions()) for s in subsets]
    is_ratio = 0 < warmup < 1
    schedule = Schedule(
        batch_size=batch,
        epochs=None if steps else epochs,
        max_train_steps=steps,
        gradient_accumulation_steps=grad_accum,
        warmup_steps=0 if is_ratio else int(warmup),
        warmup_ratio=warmup if is_ratio else None,
    )
    # sd-scripts' 256/1024 defaults, scaled down for small training sizes (tests, the sample) so they still
    # get buckets of several shapes.
    buckets = BucketSettings(
        resolution=(resolution, resolution),
        min_bucket_reso=min(256, max(bucket_steps, resolution // 2 - resolution // 2 % bucket_steps)),
        max_bucket_reso=max(1024, resolution * 2),
        bucket_reso_steps=bucket_steps,
        bucket_no_upscale=no_upscale,
    )
    return make_plan(resolved, buckets, schedule, goal=goal, cache=cache)


def _subsets_of(folder: Path, repeats: int, *, is_reg: bool):
    """A training folder of '<repeats>_<name>' subfolders gives one subset each; any other folder is one subset."""
    from lorakit.config.dataset import SubsetConfig, parse_repeat_folder, subsets_from_train_dir
    from lorakit.data.scan import list_images

    folder = folder.expanduser()
    if folder.is_dir() and any(p.is_dir() and parse_repeat_folder(p.name) for p in folder.iterdir()):
        return subsets_from_train_dir(folder, is_reg=is_reg)
    list_images(folder)  # a missing folder gets its plain-words error here
    parsed = parse_repeat_folder(folder.name)
    if parsed:  # pointing straight at a '10_name' folder keeps its repeats and class tokens
        return [SubsetConfig(image_dir=folder, num_repeats=parsed[0], class_tokens=parsed[1] or None, is_reg=is_reg)]
    return [SubsetConfig(image_dir=folder, num_repeats=repeats, is_reg=is_reg)]


def show_plan(plan) -> None:
    """Render a :class:`~lorakit.data.plan.TrainPlan` with rich: numbers first, then tables, then notes."""
    from rich.markup import escape
    from rich.table import Table

    from lorakit.cli.render import console

    accum = f" × accumulation {plan.gradient_accumulation_steps}" if plan.gradient_accumulation_steps > 1 else ""
    procs = f" × {plan.num_processes} GPUs" if plan.num_processes > 1 else ""
    console.print(f"[bold]Training plan[/]  (buckets: {escape(plan.bucket_description)})")
    reg = f" + {plan.reg_images_with_repeats} regularization" if plan.reg_images_with_repeats else ""
    console.print(
        f"  {plan.train_images} images → {plan.train_images_with_repeats} per epoch with repeats{reg}\n"
        f"  batch {plan.batch_size}{accum}{procs}: {plan.batches_per_epoch} batches → "
        f"[bold]{plan.steps_per_epoch} steps per epoch[/]\n"
        f"  [bold]{plan.epochs} epochs = {plan.total_steps} steps[/]"
        + (f", warmup {plan.warmup_steps}" if plan.warmup_steps else "")
        + (f", restarts at {', '.join(map(str, plan.restart_steps))}" if plan.restart_steps else ""),
        highlight=False,
    )
    subsets = Table(title="Subsets", title_justify="left")
    for column in ("subset", "images", "repeats", "per epoch", "unreadable", "no caption file"):
        subsets.add_column(column, justify="left" if column == "subset" else "right")
    for s in plan.subsets:
        label = escape(s.label) + (" [dim](reg)[/]" if s.is_reg else "")
        subsets.add_row(
            label, str(s.images), str(s.num_repeats), str(s.images_with_repeats), str(s.unreadable),
            str(s.missing_captions),
        )  # fmt: skip
    console.print(subsets)
    buckets = Table(title="Buckets", title_justify="left")
    for column in ("size", "images", "× repeats", f"batches of {plan.batch_size}"):
        buckets.add_column(column, justify="right")
    for b in plan.buckets:
        buckets.add_row(f"{b.width}×{b.height}", str(b.images), str(b.images_with_repeats), str(b.batches))
    buckets.add_row("[bold]total[/]", "", "", f"[bold]{plan.batches_per_epoch}[/]")
    console.print(buckets)
    tokens = plan.caption_tokens
    if tokens.get("captions"):
        console.print(
            f"Captions: about {tokens['min']}–{tokens['max']} tokens (mean {tokens['mean']}, limit"
            f" {tokens['max_token_length']}; estimated without a tokenizer)",
            highlight=False,
        )
    for note in plan.notes:
        icon = "[yellow]![/]" if note.level == "warning" else "[blue]i[/]"
        console.print(f"{icon} {escape(note.message)}", highlight=False)
        if note.fix:
            console.print(f"  [cyan]→ {escape(note.fix)}[/]", highlight=False)
