"""Validation loss on the held-out images (``samples.validation_split``), every N steps and/or epochs
(neither set: every epoch, as sd-scripts).

The held-out images never train. At each check they go through the same step as training (same noise and
loss settings) without gradients, with the network in eval mode (no dropout), and with noise and timesteps
drawn from one fixed seed, so two checks differ only because the weights changed: the curve shows
overfitting when it turns up while the training loss keeps falling. Each check is emitted as a
``validation`` event (step, epoch, loss, images) and logged to the trackers (see lorakit.train.trackers).
"""

from __future__ import annotations

from types import SimpleNamespace

import torch

from lorakit import events as ev
from lorakit.train.step import training_step


class Validator:
    """Measures the mean loss over the held-out images of a prepared run."""

    def __init__(self, run, examples):
        self.run, self.examples = run, examples
        self.feed = run.feed_for(examples)
        size = run.cfg.schedule.train_batch_size
        order = sorted(range(len(examples)), key=lambda i: (examples[i].bucket, str(examples[i].path)))
        # Same-bucket batches: images of different sizes cannot share a tensor.
        self.batches: list[list[int]] = []
        for index in order:
            last = self.batches[-1] if self.batches else None
            if last and len(last) < size and examples[last[0]].bucket == examples[index].bucket:
                last.append(index)
            else:
                self.batches.append([index])

    @classmethod
    def for_run(cls, run) -> Validator | None:
        """The validator of ``run``, or None when nothing is held out."""
        if not run.plan.validation_images:
            return None
        from lorakit.train.data import examples_from_plan

        held_out = SimpleNamespace(images=run.plan.validation_images)
        masked = run.cfg.dataset.masked_loss
        return cls(run, examples_from_plan(held_out, run.cfg.resolved_subsets(), masked_loss=masked))

    def due(self, *, step: int | None = None, epoch: int | None = None) -> bool:
        """Whether a check is due after this step or epoch. With a split but neither interval set, every
        epoch (as sd-scripts)."""
        s = self.run.cfg.samples
        if step is not None:
            return bool(s.validate_every_n_steps) and step % s.validate_every_n_steps == 0
        every = s.validate_every_n_epochs or (None if s.validate_every_n_steps else 1)
        return bool(every) and epoch is not None and epoch % every == 0

    @torch.no_grad()
    def loss(self) -> float:
        run = self.run
        modules = list(run.network.components.values())
        modes = [m.training for m in modules]
        for module in modules:
            module.eval()
        total = count = 0.0
        try:
            for position, indices in enumerate(self.batches):
                batch = self.feed.batch(indices, 0, position, run.progress.step)
                if batch is None:
                    continue
                generator = torch.Generator().manual_seed(run.seed * 7_919 + position)
                value = float(training_step(run.family, batch, run.step_options, generator, lambda _: None))
                total += value * len(batch.captions)
                count += len(batch.captions)
        finally:
            for module, mode in zip(modules, modes, strict=True):
                module.train(mode)
        return total / count if count else float("nan")

    def check(self) -> float:
        """Measure, emit a ``validation`` event and return the loss."""
        p = self.run.progress
        value = self.run.team.mean(self.loss())
        self.run.emitter.emit(ev.VALIDATION, step=p.step, epoch=p.epoch, loss=value, images=len(self.examples))
        self.run.accelerator.log({"loss/validation": value}, step=p.step)
        return value
