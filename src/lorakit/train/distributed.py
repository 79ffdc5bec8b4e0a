"""Several processes training one LoRA (GPUs, or CPU processes for tests), launched by torchrun/accelerate.

Each process takes every ``world``-th batch of the epoch (the last round padded from the start, as
accelerate's even batches), computes its gradients, and the LoRA gradients are averaged across processes
before every optimizer step, so all processes hold the same weights. Only the main process writes
files and events; commands (stop/save/sample) are read by the main process and shared with the others.
The adapters are small, so one flattened all-reduce per step is cheap and needs no DDP wrapper (which
would hide the model's config from the family protocol).
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass

import torch

from lorakit.events import CANCEL, SAMPLE_NOW, SAVE, STOP

COMMAND_NAMES = (STOP, SAVE, SAMPLE_NOW, CANCEL)


def launched_rank() -> int:
    """This process's rank as torchrun/accelerate set it (0 when not launched by them)."""
    return int(os.environ.get("RANK", "0"))


def image_seed(seed: int, step: int, slot: tuple[int, int]) -> int:
    """The noise seed of one image in one optimizer step: depends on the image, never on batch or process."""
    digest = hashlib.sha256(f"{seed}:{step}:{slot[0]}:{slot[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # torch seeds are below 2**63


def launched_world() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


@dataclass(frozen=True)
class Team:
    """This process's place among the processes of a run."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_accelerator(cls, accelerator) -> Team:
        return cls(accelerator.process_index, accelerator.num_processes)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1 and torch.distributed.is_available() and torch.distributed.is_initialized()

    def shard(self, batches: list[list[int]]) -> list[list[int]]:
        """This process's batches: every ``world``-th, after padding the epoch to a multiple of ``world``."""
        if self.world == 1:
            return batches
        padded = batches + batches[: (-len(batches)) % self.world]
        return padded[self.rank :: self.world]

    def image_slots(self, batches: list[list[int]], position: int, seen: Counter[int]) -> list[tuple[int, int]]:
        """Each image of this process's batch at ``position`` as (example index, occurrence in the step).

        ``batches`` are the whole epoch's (unsharded); the processes' batches at ``position`` together make
        one micro-step. ``seen`` counts the images already met in this optimizer step (all processes'; the
        caller clears it at each step) and is updated here, so an image shown twice in a step (repeats) is
        told apart, and the slots of a step are the same however its images are split into batches,
        accumulated micro-batches or processes.
        """
        padded = batches + batches[: (-len(batches)) % self.world]
        mine: list[tuple[int, int]] = []
        for rank, batch in enumerate(padded[position * self.world : (position + 1) * self.world]):
            for index in batch:
                if rank == self.rank:
                    mine.append((index, seen[index]))
                seen[index] += 1
        return mine

    def same_start(self, params: list[torch.nn.Parameter]) -> None:
        """Copy the main process's weights to all (random LoRA init must match everywhere)."""
        if self.active:
            for p in params:
                torch.distributed.broadcast(p.data, 0)

    def mean_gradients(self, params: list[torch.nn.Parameter]) -> None:
        """Average the gradients of ``params`` over the processes (one all-reduce of a flat buffer)."""
        if not self.active:
            return
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        flat = torch.cat([g.reshape(-1).float() for g in grads])
        torch.distributed.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p, g in zip(params, grads, strict=True):
            n = g.numel()
            p.grad = flat[offset : offset + n].view_as(g).to(g.dtype)
            offset += n

    def wait(self) -> None:
        """Wait until every process gets here."""
        if self.active:
            torch.distributed.barrier()

    def mean(self, value: float) -> float:
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        torch.distributed.all_reduce(t)
        return float(t) / self.world

    def share(self, commands: set[str]) -> set[str]:
        """The main process's commands, given to every process (as flags in a tensor: no pickling)."""
        if not self.active:
            return commands
        flags = torch.tensor([name in commands for name in COMMAND_NAMES], dtype=torch.uint8)
        torch.distributed.broadcast(flags, 0)
        return {name for name, on in zip(COMMAND_NAMES, flags.tolist(), strict=True) if on}
