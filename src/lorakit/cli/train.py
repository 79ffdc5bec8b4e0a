"""CLI: ``lorakit train CONFIG`` (or ``--resume RUN``) with a live progress display, and ``lorakit demo``."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the main app."""
    app.command()(train)
    app.command()(demo)


class ProgressRenderer:
    """Draws training events with rich: a progress bar for steps, lines for everything worth keeping."""

    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.console = console or Console()
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]}"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = None

    def __call__(self, event) -> None:
        d = event.data
        if event.type == "step":
            if self.task is None:
                self.bar.start()
                self.task = self.bar.add_task("training", total=d["total_steps"], loss="-", speed="")
            avg = d.get("avg_loss")
            speed = f"{d['it_s']:.2f} it/s" if d.get("it_s") else ""
            self.bar.update(self.task, completed=d["step"], loss=f"{avg:.4f}" if avg is not None else "-", speed=speed)
        elif event.type == "status":
            if d.get("state") in ("completed", "failed", "stopped") and self.task is not None:
                self.bar.stop()
            # A failure's message is shown once, with its fix, when the command ends (lorakit.cli.main.run).
            if d.get("message") and d.get("state") != "failed":
                self.console.print(f"[dim]{d['state']}:[/] {d['message']}", highlight=False)
        elif event.type == "warning":
            self.console.print(f"[yellow]![/] {d.get('message')}", highlight=False)
            if d.get("fix"):
                self.console.print(f"  [cyan]→ {d['fix']}[/]", highlight=False)
        elif event.type == "checkpoint" and d.get("kind") == "lora":
            self.console.print(f"[green]saved[/] {d['path']}", highlight=False)
        elif event.type == "sample":
            self.console.print(f"[blue]sample[/] {d['path']}", highlight=False)

    def close(self) -> None:
        if self.task is not None:
            self.bar.stop()


def _run(work, run_dir: Path) -> dict:
    """Run ``work(emitter, commands)`` with a progress display; the first Ctrl+C stops after saving."""
    import signal

    from lorakit.events import STOP, Commands, Emitter
    from lorakit.train.distributed import launched_rank
    from lorakit.train.run import COMMANDS_FILE

    if launched_rank() != 0:
        return work(Emitter(), None)  # one progress display and one command reader: the main process's
    commands = Commands(Path(run_dir) / COMMANDS_FILE)
    renderer = ProgressRenderer()
    previous = signal.getsignal(signal.SIGINT)

    def stop_gently(signum, frame):
        signal.signal(signal.SIGINT, previous)  # a second Ctrl+C interrupts at once
        renderer.console.print("[yellow]Stopping after this step and saving (Ctrl+C again to quit now)...[/]")
        commands.request(STOP)

    signal.signal(signal.SIGINT, stop_gently)
    try:
        return work(Emitter(callbacks=[renderer]), commands)
    finally:
        signal.signal(signal.SIGINT, previous)
        renderer.close()


def train(
    config: Path = typer.Argument(None, help="The training config (a lorakit TOML). Not needed with --resume."),
    resume: Path = typer.Option(None, "--resume", help="A run folder to continue from its last saved state."),
    output: Path = typer.Option(None, "--output", "-o", help="The run folder (default: output_dir/output_name)."),
    gpus: int = typer.Option(
        None, "--gpus", min=1, help="How many GPUs to train on (default: the config's multigpu.num_processes)."
    ),
) -> None:
    """Train a LoRA from a config, showing live progress. Stop with Ctrl+C; continue later with --resume."""
    from lorakit.errors import ConfigError
    from lorakit.train.distributed import launched_world

    if gpus is None:
        gpus = _configured_processes(config, resume)
    if gpus > 1 and launched_world() == 1:
        _launch(gpus, config, resume, output)
        return
    if resume is not None:
        from lorakit.train.run import finished_lora
        from lorakit.train.run import resume as resume_run

        finished = finished_lora(resume)
        if finished is not None:
            typer.echo(f"This run already finished; its LoRA is {finished}. There is nothing to resume.")
            typer.echo(f'To train it further, start a new run with network.network_weights = "{finished}".')
            return
        result = _run(lambda emitter, commands: resume_run(resume, emitter, commands), resume)
    else:
        if config is None:
            raise ConfigError(
                "No config given.", "Run `lorakit train my-config.toml`, or `lorakit demo` to try it out."
            )
        from lorakit.config.io import load_config
        from lorakit.config.validate import validate
        from lorakit.train.run import new_run_dir
        from lorakit.train.run import train as train_run

        cfg = load_config(config)
        # Every problem this config has here (files, this machine's GPU and packages) before a run folder exists.
        validate(cfg).raise_if_problems(str(config))
        run_dir = output or new_run_dir(cfg)
        result = _without_leftovers(run_dir, lambda: _run(lambda e, c: train_run(cfg, run_dir, e, c), run_dir))
    if result.get("lora"):
        typer.echo(f"LoRA: {result['lora']}")
    else:
        typer.echo(f"Stopped. Continue with: lorakit train --resume {result['run_dir']}")


def _without_leftovers(run_dir: Path, work):
    """Run ``work()``; if it fails before anything was saved in a run folder it created, remove that folder,
    so a failed start leaves nothing behind and the next try gets the same name (not ``-2``)."""
    import shutil

    from lorakit.train.distributed import launched_rank

    created = not run_dir.exists() and launched_rank() == 0  # only the main process makes (and removes) it
    try:
        return work()
    except BaseException:
        saved = created and run_dir.is_dir() and ((run_dir / "state").exists() or any(run_dir.glob("*.safetensors")))
        if created and run_dir.is_dir() and not saved:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _configured_processes(config: Path | None, resume: Path | None) -> int:
    """``multigpu.num_processes`` of the config (or of the run being resumed); 1 when there is none."""
    from lorakit.config.io import load_config

    path = config if config is not None else (resume / "config.toml" if resume is not None else None)
    if path is None or not Path(path).is_file():
        return 1
    return load_config(path).multigpu.num_processes


def _launch(gpus: int, config: Path | None, resume: Path | None, output: Path | None) -> None:
    """Start ``gpus`` processes of this same command with torchrun (CPU processes when there is no GPU)."""
    import subprocess
    import sys

    from lorakit.errors import ConfigError

    if resume is None:
        if config is None:
            raise ConfigError("No config given.", "Run `lorakit train my-config.toml --gpus 2`.")
        from lorakit.config.io import load_config
        from lorakit.train.run import new_run_dir

        # Chosen once here, so every process writes to the same run folder.
        output = output or new_run_dir(load_config(config))
    args = ["--resume", str(resume)] if resume is not None else [str(config), "--output", str(output)]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}"]
    cmd += ["-m", "lorakit.cli.main", "train", *args]
    code = subprocess.call(cmd)
    if code:
        raise typer.Exit(code)


def demo(
    steps: int = typer.Option(None, "--steps", min=1, help="Train this many steps (default: the proof's 600)."),
    samples: int = typer.Option(None, "--samples", min=1, help="Scenes per row of the grid (default: 8)."),
    network: str = typer.Option(
        "locon", "--network", help="locon (LoRA also on the 3x3 convolutions: learns the shape best so far), or lora."
    ),
) -> None:
    """Watch a LoRA learn: teach the tiny pretrained shapes model a shape it never saw (a crescent, trigger
    word "ohwx"), then sample with and without the trigger and let the judge count. CPU, no downloads,
    a few minutes."""
    import dataclasses

    import torch

    from lorakit.errors import ConfigError
    from lorakit.proof.demo import MAX_WITHOUT_TRIGGER, MIN_WITH_TRIGGER, ProofSettings, run_proof
    from lorakit.proof.judge import load_judge
    from lorakit.workspace import Workspace

    if network not in ("lora", "locon"):
        raise ConfigError(f"The demo trains 'lora' or 'locon', not {network!r}.", "Use --network lora or locon.")
    # The tiny model's layers are too small to gain from threads; on a busy machine threads only wait.
    torch.set_num_threads(int(os.environ.get("LORAKIT_CPU_THREADS", "1")))
    settings = ProofSettings(network=network)
    if steps:
        settings = dataclasses.replace(settings, steps=steps)
    if samples:
        settings = dataclasses.replace(settings, samples=samples)
    judge = load_judge()
    output = Workspace().outputs / "demo"
    proof = _run(lambda e, c: run_proof(output, settings, e, c, judge=judge), output)
    accuracy = judge.info.get("accuracy", {})
    typer.echo(f"Your demo LoRA: {proof.lora}")
    typer.echo(f"Before/after grid: {proof.grid}")
    typer.echo(f"The judge (accuracy {_share(accuracy.get('degraded_shape'))} on fresh blurred, noisy shapes) sees")
    typer.echo(f"the concept in {_share(proof.with_trigger)} of {proof.samples} samples with the trigger word,")
    typer.echo(
        f"in {_share(proof.without_trigger)} without it (the base model alone: {_share(proof.base_with_trigger)})."
    )
    verdict = "learned" if proof.passed() else "NOT learned"
    typer.echo(
        f"Concept {verdict} (the check: at least {MIN_WITH_TRIGGER:.0%} with the trigger,"
        f" at most {MAX_WITHOUT_TRIGGER:.0%} without)."
    )


def _share(value) -> str:
    return "?" if value is None else f"{value:.0%}"
