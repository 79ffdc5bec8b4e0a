"""A training run and its folder: ``train(cfg, run_dir)`` and ``resume(run_dir)``.

The run folder holds::

    config.toml       the exact config of the run (resume reads it back)
    events.jsonl      every event with a sequence number (the web app and notebooks replay it)
    commands.jsonl    the inbox for stop / save / sample from another process
    samples/          preview images
    state/            resume state (see lorakit.train.checkpoint)
    <name>.safetensors, <name>-000002.safetensors, <name>-step00000004.safetensors   the LoRA files
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import torch

from lorakit import events as ev
from lorakit.errors import LorakitError, TrainingError
from lorakit.train import checkpoint as ckpt
from lorakit.train.distributed import Team, launched_rank
from lorakit.train.outputs import checkpoint_name, dataset_metadata, write_lora
from lorakit.train.trainer import Progress, Stop, TrainingLoop, accelerator_for

log = logging.getLogger(__name__)

CONFIG_FILE = "config.toml"
EVENTS_FILE = "events.jsonl"
COMMANDS_FILE = "commands.jsonl"
_SCHEDULER_KEYS = ("last_epoch", "_step_count", "base_lrs", "_last_lr")


def new_run_dir(cfg) -> Path:
    """``<output_dir>/<output_name>``, or ``...-2``, ``-3`` when that folder already holds a run."""
    base = Path(cfg.output.output_dir).expanduser() / cfg.output.output_name
    candidate, n = base, 1
    while (candidate / EVENTS_FILE).exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def run_seed(run_dir: Path) -> int:
    """The seed of a run whose config leaves it empty: drawn from the run folder, which every process of
    the run shares (so they agree without talking) and each new run gets fresh."""
    digest = hashlib.sha256(str(Path(run_dir).expanduser().resolve()).encode()).digest()
    return int.from_bytes(digest[:4], "big")


class Run:
    """Everything one run holds; built by :meth:`setup`, driven by :class:`TrainingLoop`."""

    def __init__(self, cfg, run_dir: Path, emitter: ev.Emitter, commands: ev.Commands | None):
        self.cfg, self.run_dir, self.emitter, self.commands = cfg, run_dir, emitter, commands
        self.progress = Progress()
        self.seed = int(cfg.schedule.seed)
        self.started_at = time.time()
        self.saved_files: list[str] = []
        self.model_hash: str | None = None
        self.team = Team()
        self.validator = None
        self.fused_backward = None  # the per-parameter Adafactor hooks while the loop runs (fused_backward_pass)

    # -- setup ------------------------------------------------------------------------------------
    def setup(self) -> None:
        from accelerate.utils import set_seed

        from lorakit.data.plan import plan_for_config
        from lorakit.train import setup as su
        from lorakit.train.data import epoch_batches, examples_from_plan
        from lorakit.train.speed import check_speed_settings
        from lorakit.train.trackers import check_trackers, start_trackers

        check_trackers(self.cfg)  # a missing tracker or xformers package is refused before anything loads
        check_speed_settings(self.cfg)
        set_seed(self.seed)
        self.accelerator = accelerator_for(self.cfg, self.run_dir)
        start_trackers(self.accelerator, self.cfg)
        self.team = Team.from_accelerator(self.accelerator)
        if self.team.world != self.cfg.multigpu.num_processes:
            if self.cfg.multigpu.num_processes > self.team.world:
                self.warn(
                    f"The config asks for {self.cfg.multigpu.num_processes} processes (multigpu.num_processes)"
                    f" but this run has {self.team.world}; the plan is made for {self.team.world}.",
                    "Start it with `lorakit train CONFIG` (it launches num_processes processes) or `--gpus N`.",
                )
            # The plan's step count depends on how many processes share each epoch.
            multigpu = self.cfg.multigpu.model_copy(update={"num_processes": self.team.world})
            self.cfg = self.cfg.model_copy(update={"multigpu": multigpu})
        cfg = self.cfg
        from lorakit.config.refused import trainer_refusals
        from lorakit.config.validate import validate

        report = validate(cfg)  # every cross-field problem at once, before anything heavy loads
        trainer_refusals(cfg, report)  # settings only sd-scripts can train yet
        for warning in report.warnings:
            self.warn(warning.problem, warning.fix)
        report.raise_if_problems()
        self.status("starting", "Reading the dataset")
        self.plan = plan_for_config(cfg)
        for bad in self.plan.unreadable:
            self.warn(f"Skipped {Path(bad.path).name}: {bad.error}", "Fix or remove this image.")
        self.examples = examples_from_plan(self.plan, cfg.resolved_subsets(), masked_loss=cfg.dataset.masked_loss)
        from lorakit.data.masks import no_masks_warning

        if unmasked := no_masks_warning(self.examples):
            self.warn(*unmasked)
        self.total_steps, self.total_epochs = self.plan.total_steps, self.plan.epochs
        self._epoch_batches = epoch_batches
        self._batches_of: tuple[int, list[list[int]]] = (-1, [])

        device = torch.device(self.accelerator.device)
        self.status("starting", "Loading the base model")
        self.family, self.network = su.build_model_and_network(cfg, device)
        for note in getattr(self.family, "notes", []):  # what setup could not do here (Flux block swap on a CPU)
            self.warn(note)
        self.model_hash = su.model_hash(cfg.model.pretrained_model_name_or_path)
        self.step_options = su.step_options(cfg, self.family, self.network.settings)
        # The schedule counts the steps of every process, as sd-scripts' does through accelerate (which steps a
        # prepared scheduler once per process): built over total × processes, stepped that often per step.
        self.optimizer, self.lr_scheduler = su.build_optimizer_and_schedule(
            cfg, self.network, self.total_steps * self.team.world, self.plan.warmup_steps, self.team.world
        )
        from lorakit.train.precision import LossScaler, autocast_forward, precision_for

        self.precision = precision_for(cfg)
        for module in self.network.components.values():
            module.train()
        if self.precision.compute is not None:
            # Mixed precision: the UNet and text encoders compute under autocast (the UNet always, as fp8 base
            # weights need the casts), the LoRA weights stay fp32 unless full_fp16/full_bf16.
            # (No DDP wrapper: gradients are averaged by Team, so the family keeps the plain modules.)
            c = self.family.components
            for module in {id(m): m for m in (c.unet, *c.text_encoders, *self.network.components.values())}.values():
                autocast_forward(module, device.type, self.precision.compute)
        self.scaler = LossScaler(device.type, self.precision.scaled)  # fp16: loss scaling
        if device.type == "cpu" and self.precision.mixed == "fp16":
            self.warn(
                "fp16 mixed precision on a CPU is slow (few CPUs compute in fp16).",
                "Set memory.mixed_precision = 'bf16' or 'no' when training on a CPU.",
            )
        self.optimizer = self.accelerator.prepare_optimizer(self.optimizer)
        self.team.same_start(self.network.parameters())
        resolution = cfg.dataset.resolution_wh[0]
        estimate = su.estimate_memory(self.family, self.network, cfg.schedule.train_batch_size, resolution, device)
        if not estimate.fits:
            self.warn(
                f"This run may need about {estimate.needed_mb / 1024:.1f} GB but only"
                f" {estimate.available_mb / 1024:.1f} GB is free.",
                "Turn on gradient_checkpointing and cache_latents, lower the batch size or resolution, or use a"
                " low-VRAM preset.",
            )
        self.dataset_meta = dataset_metadata(self.plan, self.examples, resolution)
        self.feed = self.feed_for(self.examples)
        self._setup_caches(cfg)
        from lorakit.train.validation import Validator

        self.validator = Validator.for_run(self)
        if self.team.world > 1:
            # Setup drew the same in every process (the LoRA init, the latents sampled for the cache); from
            # here each process has its own stream, so dropout differs between processes as between the
            # images of one batch (and a resume restores each process's own, see save_state).
            set_seed(self.seed + self.team.rank)

    def _encode_prompts(self, captions: list[str]) -> dict[str, torch.Tensor]:
        from lorakit.train.step import encode_captions

        return encode_captions(self.family, captions, self.step_options)

    def feed_for(self, examples):
        """The image and caption feed of ``examples`` for this run (training, or the held-out split)."""
        from lorakit.train.feed import Feed

        return Feed(
            examples,
            self.seed,
            self.total_steps,
            rank=self.team.rank,
            encode_images=self.family.encode_images,
            encode_prompts=self._encode_prompts,
            warn=self.warn,
            weighted_captions=self.cfg.captions.weighted_captions,
        )

    def _setup_caches(self, cfg) -> None:
        from lorakit.train.cache import LatentCache, TextCache, module_identity
        from lorakit.train.feed import captions_are_fixed

        mem = cfg.memory
        cache_root = Path(cfg.output.output_dir).expanduser() / ".cache"
        if mem.cache_latents:
            folder = cache_root / "latents" if mem.cache_latents_to_disk else None
            self.feed.latent_cache = LatentCache(module_identity(self.family.components.vae), folder)
            self.feed.vae_batch_size = mem.vae_batch_size
            self.status("starting", "Caching latents")
            self.feed.precache(
                lambda done, total: self.emitter.emit(ev.PROGRESS, done=done, total=total, unit="image")
            )
        fixed = all(captions_are_fixed(e) for e in self.examples)
        if mem.cache_text_encoder_outputs and fixed and not self.network.settings.train_text_encoder:
            encoders = self.family.components.text_encoders
            identity = "-".join(module_identity(e)[:8] for e in encoders) + getattr(self.family, "cache_tag", "")
            folder = cache_root / "text" if mem.cache_text_encoder_outputs_to_disk else None
            self.feed.text_cache = TextCache(identity, folder)
            self.feed.text_key = (self.step_options.clip_skip, self.step_options.max_token_length)
        elif mem.cache_text_encoder_outputs:
            self.warn(
                "Text-encoder outputs are not cached: captions change between epochs or the text encoder is trained.",
                "Turn off caption shuffle/dropout/warmup and text-encoder training to use this cache.",
            )

    # -- during the loop ---------------------------------------------------------------------------
    def batches_for(self, epoch: int) -> list[list[int]]:
        """This process's batches of ``epoch`` (all of them when training alone)."""
        return self.team.shard(self._all_batches(epoch))

    def _all_batches(self, epoch: int) -> list[list[int]]:
        """Every batch of ``epoch`` (all processes'), remembered for the epoch under way."""
        if self._batches_of[0] != epoch:
            batches = self._epoch_batches(self.examples, self.cfg.schedule.train_batch_size, self.seed, epoch)
            self._batches_of = (epoch, batches)
        return self._batches_of[1]

    def image_slots(self, epoch: int, position: int, seen) -> list[tuple[int, int]]:
        """(example index, occurrence in the step) of each image of this process's batch at ``position``."""
        batches = self._all_batches(epoch) if self.team.world > 1 else self.batches_for(epoch)
        return self.team.image_slots(batches, position, seen)

    def status(self, state: str, message: str = "") -> None:
        self.emitter.emit(ev.STATUS, state=state, message=message)

    def warn(self, message: str, fix: str | None = None) -> None:
        self.emitter.emit(ev.WARNING, message=message, fix=fix)

    def after_step(self) -> None:
        out, samples, step = self.cfg.output, self.cfg.samples, self.progress.step
        if self.validator is not None and self.validator.due(step=step):
            self.validator.check()
        if step >= self.total_steps:
            return
        if out.save_every_n_steps and step % out.save_every_n_steps == 0:
            self.save_checkpoint(kind="step")
        if samples.sample_every_n_steps and step % samples.sample_every_n_steps == 0:
            self.render_samples()

    def after_epoch(self) -> None:
        out, samples, epoch = self.cfg.output, self.cfg.samples, self.progress.epoch
        last = self.progress.step >= self.total_steps  # the final file is written next
        if self.validator is not None and self.validator.due(epoch=epoch):
            self.validator.check()
        if out.save_every_n_epochs and epoch % out.save_every_n_epochs == 0 and not last:
            self.save_checkpoint(kind="epoch")
        if samples.sample_every_n_epochs and epoch % samples.sample_every_n_epochs == 0:
            self.render_samples()

    def save_checkpoint(self, kind: str) -> Path | None:
        """An intermediate LoRA file plus the resume state; old ones pruned to ``save_last_n_epochs``."""
        if not self.team.is_main:
            self.save_state()  # (only this process's random state)
            return None
        p, name = self.progress, self.cfg.output.output_name
        filename = checkpoint_name(name, epoch=p.epoch) if kind == "epoch" else checkpoint_name(name, step=p.step)
        path = self._write(lambda: write_lora(self.run_dir / filename, self, epoch=p.epoch, step=p.step))
        if filename not in self.saved_files:
            self.saved_files.append(filename)
        keep = self.cfg.output.save_last_n_epochs
        if keep:
            for old in self.saved_files[:-keep]:
                (self.run_dir / old).unlink(missing_ok=True)
            self.saved_files = self.saved_files[-keep:]
        self.emitter.emit(ev.CHECKPOINT, path=str(path), step=p.step, epoch=p.epoch, kind="lora")
        self.save_state()
        return path

    def _write(self, save):
        """Run a save; a full disk (or any write error) stops the run with the previous files intact."""
        from lorakit.train.optimizers import optimizer_mode

        raw_optimizer = getattr(self.optimizer, "optimizer", self.optimizer)
        optimizer_mode(raw_optimizer, training=False)  # schedule-free optimizers save their averaged weights
        try:
            return save()
        except OSError as error:
            raise TrainingError(
                f"Could not save to {self.run_dir} at step {self.progress.step}: {error.strerror or error}.",
                "Free some disk space (or pick another output_dir); the previous checkpoint is intact, so"
                f" `lorakit train --resume {self.run_dir}` continues from it.",
            ) from error
        finally:
            optimizer_mode(raw_optimizer, training=True)

    def save_state(self) -> Path | None:
        """The resume state (every process calls it: each adds its own random state, the main one the rest)."""
        state_dir = self.run_dir / "state"
        if not self.team.is_main:
            self._write(lambda: ckpt.save_rank_rng(state_dir, self.progress.step, self.team.rank))
            self.team.wait()  # written before the main process commits the state
            return None
        self.team.wait()
        progress = self.progress.to_dict()
        scheduler = self.lr_scheduler.state_dict()
        progress["scheduler"] = {k: scheduler[k] for k in _SCHEDULER_KEYS if k in scheduler}
        progress["saved_files"] = list(self.saved_files)
        progress["loss_scaler"] = self.scaler.state_dict()  # fp16: the loss scale reached (else empty)
        progress["started_at"] = self.started_at
        folder = self._write(
            lambda: ckpt.save_state(
                state_dir,
                network_tensors=self.network.kohya_state_dict(torch.float32),
                optimizer=self.optimizer,
                progress=progress,
                keep_last=self.cfg.output.save_last_n_epochs_state or 1,
            )
        )
        self.emitter.emit(
            ev.CHECKPOINT, path=str(folder), step=self.progress.step, epoch=self.progress.epoch, kind="state"
        )
        return folder

    def restore_state(self, state_dir: Path | None = None) -> None:
        """Continue from this run's newest state, or (``state_dir``: ``output.resume``) another run's."""
        own = state_dir is None
        saved = ckpt.load_state(self.run_dir / "state" if own else state_dir)
        self.network.load_kohya_state_dict(saved.network, source=str(saved.folder))
        ckpt.restore_optimizer(self.optimizer.optimizer, saved.optimizer)
        state = self.lr_scheduler.state_dict()
        state.update(saved.progress["scheduler"])
        self.lr_scheduler.load_state_dict(state)
        self.progress = Progress.from_dict(saved.progress)
        self.scaler.load_state_dict(saved.progress.get("loss_scaler", {}))
        if own:  # another run's files and start time stay with that run
            self.saved_files = list(saved.progress.get("saved_files", []))
            self.started_at = saved.progress.get("started_at", self.started_at)
        # Each process continues with its own random state (dropout draws differ between processes); a state
        # saved without one for this process gives it the main process's.
        own_rng = ckpt.load_rank_rng(saved.folder, self.team.rank) if not self.team.is_main else None
        ckpt.set_rng_states(own_rng or saved.rng)
        self.status("running", f"Resumed at step {self.progress.step} of {self.total_steps}")

    def render_samples(self) -> None:
        if not self.team.is_main:
            return
        from lorakit.train.optimizers import optimizer_mode
        from lorakit.train.sampling import read_prompts, render_samples

        s = self.cfg.samples
        prompts = read_prompts(s.sample_prompts, self.cfg.dataset.resolution_wh[0], str(s.sample_sampler))
        if not prompts:
            return
        raw_optimizer = getattr(self.optimizer, "optimizer", self.optimizer)
        optimizer_mode(raw_optimizer, training=False)  # schedule-free: sample with the averaged weights
        try:
            written = render_samples(
                self.family,
                prompts,
                self.run_dir / "samples",
                name=self.cfg.output.output_name,
                step=self.progress.step,
                sampler=str(s.sample_sampler),
                seed=self.seed,
                zero_terminal_snr=self.cfg.noise.zero_terminal_snr,
            )
        finally:
            optimizer_mode(raw_optimizer, training=True)
        for path, prompt in written:
            self.emitter.emit(ev.SAMPLE, path=str(path), prompt=prompt, step=self.progress.step)

    def save_final(self) -> Path | None:
        if not self.team.is_main:
            if self.cfg.output.save_state:
                self.save_state()
            return None
        final = self.run_dir / f"{self.cfg.output.output_name}.safetensors"
        path = self._write(lambda: write_lora(final, self, epoch=self.progress.epoch, step=self.progress.step))
        self.emitter.emit(
            ev.CHECKPOINT, path=str(path), step=self.progress.step, epoch=self.progress.epoch, kind="lora"
        )
        if self.cfg.output.save_state:
            # The newest state is always kept during a run (stop and crash resume); save_state also keeps
            # the final one, so a later run can continue from it (output.resume).
            self.save_state()
        return path


def resume_folder(path: Path) -> Path:
    """``output.resume``: a run folder (its ``state/``) or a ``state`` folder itself."""
    return path / "state" if (path / "state" / ckpt.LATEST).exists() else path


def _open_run(run_dir: Path, emitter: ev.Emitter | None, commands: ev.Commands | None):
    if launched_rank() != 0:
        return ev.Emitter(), None  # only the main process writes events and reads commands
    run_dir.mkdir(parents=True, exist_ok=True)
    log_emitter = ev.Emitter(run_dir / EVENTS_FILE, callbacks=list(emitter.callbacks) if emitter else [])
    return log_emitter, commands or ev.Commands(run_dir / COMMANDS_FILE)


def train(
    cfg,
    run_dir: str | Path | None = None,
    emitter: ev.Emitter | None = None,
    commands: ev.Commands | None = None,
    *,
    resume: bool = False,
) -> dict[str, Any]:
    """Train a LoRA as ``cfg`` says, in ``run_dir`` (default: a new folder under ``output_dir``).

    ``emitter``'s callbacks receive every event (also written to ``events.jsonl``); ``commands`` is
    polled between steps (default: the run folder's ``commands.jsonl`` inbox). Returns the result
    (``lora`` path, ``steps``, ``run_dir``); raises :class:`LorakitError` when the run cannot go on.
    """
    from lorakit.config.io import resolve_relative, save_config

    # Relative paths mean "from the current folder" here; written absolute so a resume works from anywhere.
    cfg = resolve_relative(cfg, Path.cwd())
    run_dir = Path(run_dir) if run_dir else new_run_dir(cfg)
    if cfg.schedule.seed is None:  # "a new seed per run": the same in every process, saved for a resume
        cfg = cfg.model_copy(update={"schedule": cfg.schedule.model_copy(update={"seed": run_seed(run_dir)})})
    emitter, commands = _open_run(run_dir, emitter, commands)
    if not resume and launched_rank() == 0:
        save_config(cfg, run_dir / CONFIG_FILE)
    run = Run(cfg, run_dir, emitter, commands)
    try:
        run.setup()
        if resume:
            run.restore_state()
        elif cfg.output.resume:  # a new run that continues from another run's saved state
            run.restore_state(resume_folder(Path(cfg.output.resume)))
        run.status("running", f"Training {run.total_steps} steps")
        try:
            TrainingLoop(run).run_loop()
        except Stop as stop:
            step = run.progress.step
            if stop.save:  # stop: save the state first, so the run can be resumed from here
                run.save_checkpoint(kind="request")
                run.status("stopped", f"Stopped at step {step} after saving; resume with `lorakit train --resume`.")
            else:  # cancel: end now; only an earlier checkpoint (if any) can be resumed
                run.status("stopped", f"Cancelled at step {step} without saving.")
            return {"run_dir": str(run_dir), "steps": step, "lora": None, "stopped": True, "saved": stop.save}
        final = run.save_final()
    except LorakitError as error:
        emitter.emit(ev.ERROR, code=error.code, message=error.problem, fix=error.fix)
        run.status("failed", error.problem)
        raise
    except Exception as error:
        emitter.emit(ev.ERROR, code="internal", message=str(error), fix=None)
        run.status("failed", str(error))
        raise
    finally:
        if cfg.logging.log_with and hasattr(run, "accelerator"):
            run.accelerator.end_training()  # flush and close the tracker logs
    result = {"run_dir": str(run_dir), "steps": run.progress.step, "lora": str(final), "stopped": False}
    emitter.emit(ev.RESULT, **result)
    run.status("completed", f"Saved {final}")
    return result


def finished_lora(run_dir: str | Path) -> Path | None:
    """The final LoRA of a run that completed (its last status is 'completed' and the file is there), or None."""
    from lorakit.config.io import load_config

    run_dir = Path(run_dir)
    try:
        name = load_config(run_dir / CONFIG_FILE).output.output_name
    except LorakitError:
        return None  # resume itself explains what is wrong with the folder
    final = run_dir / f"{name}.safetensors"
    states = [e.data.get("state") for e in ev.read_events(run_dir / EVENTS_FILE) if e.type == ev.STATUS]
    return final if final.is_file() and states and states[-1] == "completed" else None


def resume(run_dir: str | Path, emitter: ev.Emitter | None = None, commands: ev.Commands | None = None) -> dict:
    """Continue a run from its last saved state (after a stop, a crash or a kill -9)."""
    from lorakit.config.io import load_config

    run_dir = Path(run_dir)
    if not (run_dir / CONFIG_FILE).exists():
        raise TrainingError(
            f"{run_dir} is not a training run folder (no {CONFIG_FILE}).",
            "Pass the folder a run was started in (it holds config.toml, events.jsonl and state/).",
        )
    finished = finished_lora(run_dir)
    if finished is not None:  # training it again would overwrite the final LoRA
        raise TrainingError(
            f"This run already finished; its LoRA is {finished}. There is nothing to resume.",
            f'To train it further, start a new run with network.network_weights = "{finished}".',
        )
    cfg = load_config(run_dir / CONFIG_FILE)
    return train(cfg, run_dir, emitter, commands, resume=True)
