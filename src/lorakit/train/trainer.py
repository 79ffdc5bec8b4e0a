"""The training loop: epochs of batches, one optimizer step per accumulated batch, events out, commands in.

Setup lives in :mod:`lorakit.train.setup`, the step in :mod:`lorakit.train.step`, files in
:mod:`lorakit.train.outputs`; what is left here is the loop itself, readable top to bottom.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch

from lorakit import events as ev
from lorakit.errors import TrainingError
from lorakit.train.distributed import image_seed
from lorakit.train.max_norm import apply_max_norm
from lorakit.train.step import training_step


@dataclass
class Progress:
    """Where the run is. ``position`` is the index of the next batch in the epoch."""

    step: int = 0
    epoch: int = 0
    position: int = 0
    micro_step: int = 0
    losses: list[float] = field(default_factory=list)  # the last 100, for the running average

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "micro_step": self.micro_step,
            "losses": self.losses,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Progress:
        return cls(data["step"], data["epoch"], data["position"], data["micro_step"], list(data.get("losses", [])))


class Stop(Exception):
    """Raised inside the loop to end it at a safe point (``save`` says whether to save first)."""

    def __init__(self, save: bool):
        self.save = save


def _nan_cause(run) -> str:
    """The likeliest reason for a NaN/inf loss, in the order they happen in practice."""
    cfg = run.cfg
    if str(cfg.memory.mixed_precision) == "fp16" and run.family.name == "sdxl" and not cfg.memory.no_half_vae:
        return "SDXL's VAE overflows in fp16: turn on no_half_vae, or use bf16 mixed precision."
    if cfg.learning.learning_rate > 5e-4 and str(cfg.optimizer.optimizer_type).lower() not in (
        "prodigy",
        "dadaptadam",
    ):
        return f"the learning rate ({cfg.learning.learning_rate}) is likely too high: try 1e-4 or lower."
    return "a bad image in this batch, or fp16 overflow: check the images listed, or switch to bf16."


class TrainingLoop:
    """Runs a prepared run (see :class:`lorakit.train.run.Run`) from its current progress to the end."""

    def __init__(self, run):
        self.run = run

    def _emit_step(self, loss: float, started: float, first_step: int, **extra: Any) -> None:
        run, p = self.run, self.run.progress
        p.losses = ([*p.losses, loss])[-100:]
        elapsed = time.time() - started
        done = p.step - first_step
        it_s = done / elapsed if elapsed > 0 else 0.0
        memory_mb = _memory_mb()
        lrs = {g.get("name", str(i)): g["lr"] for i, g in enumerate(run.optimizer.param_groups)}
        run.emitter.emit(
            ev.STEP,
            step=p.step,
            total_steps=run.total_steps,
            epoch=p.epoch + 1,
            loss=loss,
            avg_loss=sum(p.losses) / len(p.losses),
            lr=lrs,
            it_s=it_s,
            eta_s=(run.total_steps - p.step) / it_s if it_s > 0 else None,
            memory_mb=memory_mb,
            **extra,
        )
        values = {"loss/current": loss, "loss/average": sum(p.losses) / len(p.losses)}
        values.update({f"lr/{name}": lr for name, lr in lrs.items()})
        values.update({f"max_norm/{key}": value for key, value in extra.items()})
        run.accelerator.log(values, step=p.step)  # the trackers of logging.log_with (none: nothing happens)

    def _poll_commands(self) -> None:
        run = self.run
        asked = run.commands.poll() if (run.commands is not None and run.team.is_main) else set()
        asked = run.team.share(asked)
        if ev.CANCEL in asked:
            raise Stop(save=False)
        if ev.STOP in asked:
            raise Stop(save=True)
        if ev.SAVE in asked:
            self.run.save_checkpoint(kind="request")
        if ev.SAMPLE_NOW in asked:
            self.run.render_samples()

    def run_loop(self) -> None:
        run = self.run
        fused = None
        if run.cfg.memory.fused_backward_pass:  # Adafactor steps each parameter inside backward
            from lorakit.train.fused_backward import FusedBackward

            fused = run.fused_backward = FusedBackward(run.optimizer, run.cfg.optimizer.max_grad_norm)
        try:
            self._loop(fused)
        finally:
            if fused is not None:
                fused.remove()

    def _loop(self, fused) -> None:
        run, p = self.run, self.run.progress
        accelerator, optimizer, scheduler, scaler = run.accelerator, run.optimizer, run.lr_scheduler, run.scaler
        params = run.network.parameters()
        accumulate = run.cfg.schedule.gradient_accumulation_steps
        max_norm = run.cfg.network.scale_weight_norms
        started, first_step = time.time(), p.step
        pending = 0  # micro-batches whose gradients wait for the next optimizer step
        seen: Counter[int] = Counter()  # images met in this optimizer step, by example index (noise seeds)
        if p.step == 0 and run.cfg.samples.sample_at_first:
            run.render_samples()
        while p.step < run.total_steps:
            batches = run.batches_for(p.epoch)
            whole_epoch = p.position == 0  # a resumed run may start mid-epoch
            visited = trained = 0  # batches looked at / with at least one readable image, in this pass
            while p.position < len(batches) and p.step < run.total_steps:
                self._poll_commands()
                indices = batches[p.position]
                slots = run.image_slots(p.epoch, p.position, seen)
                batch = run.feed.batch(indices, p.epoch, p.position, p.step)
                p.position += 1
                visited += 1
                if batch is None and not run.team.active:
                    continue  # every image of this batch was unreadable (already reported)
                # Noise and timesteps come from one generator per image, seeded by (seed, step, image): a
                # resumed run draws exactly what the uninterrupted run drew at the same point, and an image
                # draws the same whether its step is one batch of 2B or two processes' batches of B.
                generators = [
                    torch.Generator().manual_seed(image_seed(run.seed, p.step, slot))
                    for slot, index in zip(slots, indices, strict=True)
                    if index not in run.feed.bad  # (the feed dropped the unreadable ones from the batch)
                ]
                p.micro_step += 1
                pending += 1
                loss = 0.0  # with several processes an unreadable batch still joins the gradient average
                if batch is not None:
                    trained += 1
                    # The loop owns accumulation (the Accelerator is built without it, so it divides nothing):
                    # each micro-batch adds loss/accumulate, the mean over the accumulated batches.
                    # fp16: the scaled loss (LossScaler), divided back before clipping and the step.
                    backward = lambda x: accelerator.backward(scaler.scale(x / accumulate))  # noqa: E731
                    loss = float(training_step(run.family, batch, run.step_options, generators, backward))
                loss = run.team.mean(loss)  # every process sees the same loss (and the same NaN)
                if not math.isfinite(loss):
                    names = ", ".join(run.feed.examples[i].path.name for i in batches[p.position - 1])
                    raise TrainingError(
                        f"The loss became {loss} at step {p.step + 1}, so training stopped."
                        " The last saved checkpoint is kept.",
                        f"Likely cause: {_nan_cause(run)} Images in this batch: {names}.",
                    )
                # sd-scripts (through accelerate) also steps at the end of an epoch with a partial accumulation.
                if pending < accumulate and p.position < len(batches):
                    continue
                pending = 0
                seen.clear()
                if fused is None:  # (fused: each parameter was clipped, stepped and freed during backward)
                    run.team.mean_gradients(params)
                    scaler.unscale(optimizer)  # after the average, so every process sees the same overflow
                    if run.cfg.optimizer.max_grad_norm:
                        accelerator.clip_grad_norm_(params, run.cfg.optimizer.max_grad_norm)
                # Fused, every gradient is None by now and step() updates nothing; it still counts the step, as
                # torch's LR scheduler expects an optimizer step before each of its own. fp16: a step whose
                # gradients overflowed is skipped and the loss scale lowered (torch's GradScaler).
                scaler.step(optimizer)
                optimizer.zero_grad(set_to_none=True)
                for _ in range(run.team.world):  # the schedule counts every process's steps (see Run.setup)
                    scheduler.step()
                extra = {}
                if max_norm:  # sd-scripts' max-norm regularisation, after each update; reported as it does
                    scaled = apply_max_norm(run.network, max_norm)
                    extra = {
                        "keys_scaled": scaled.keys_scaled,
                        "average_key_norm": scaled.mean_norm,
                        "max_key_norm": scaled.max_norm,
                    }
                p.step += 1
                self._emit_step(loss, started, first_step, **extra)
                run.after_step()
            if whole_epoch and visited and not trained and not run.team.active:
                raise TrainingError(
                    "None of the training images could be read, so there is nothing to train on.",
                    "Check the warnings above for each file, fix or replace the images, and start again.",
                )
            if p.position >= len(batches):
                p.epoch += 1
                p.position = 0
                run.emitter.emit(ev.EPOCH, epoch=p.epoch, total_epochs=run.total_epochs, avg_loss=_mean(p.losses))
                run.after_epoch()


def _memory_mb() -> float:
    """Peak GPU memory of this process, or its peak resident memory on a CPU-only machine."""
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def accelerator_for(cfg, run_dir=None) -> Any:
    """An accelerate ``Accelerator`` for the run (CPU when no GPU), always at mixed_precision "no".

    Gradient accumulation is done by :class:`TrainingLoop` (it divides each micro-batch's loss by the
    accumulation count and steps the optimizer itself); an Accelerator built with
    ``gradient_accumulation_steps`` would divide the loss a second time in ``backward``.
    """
    from accelerate import Accelerator

    from lorakit.train.trackers import accelerator_kwargs

    cuda = torch.cuda.is_available()
    # Mixed precision is lorakit's own (train/precision.py: autocast on the model, LossScaler for fp16), on a GPU
    # and a CPU alike; accelerate's would only cover prepared models, and its process-wide state cannot change
    # precision between two runs of one process.
    return Accelerator(
        mixed_precision="no",
        cpu=not cuda,
        **(accelerator_kwargs(cfg, run_dir) if run_dir is not None else {}),
    )
