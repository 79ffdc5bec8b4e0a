"""Block swapping (sd-scripts' ``blocks_to_swap``): keep some Flux transformer blocks in CPU memory.

The last ``n`` blocks (double blocks, then single blocks, in the order the model runs them) keep their frozen
base weights in (pinned) CPU memory. A forward pre-hook moves a block's frozen weights to the GPU just before
it runs and a forward hook moves them back right after, so at most one swapped block is on the GPU at a time.
The LoRA's own weights never move (their gradients and optimizer state stay on the GPU). With gradient
checkpointing the block's forward runs again during backward, through the same hooks, so the weights are on
the GPU for the backward too (torch may end that recomputation early, before the forward hook: the next
block's pre-hook then sends it back, so at most one swapped block is on the GPU at any time) and no GPU copy
is kept alive between forward and backward: swap blocks together
with gradient checkpointing (the flux-character preset does). Without it, autograd keeps the weights each
block used until the backward, and swapping saves little.

On a machine without a GPU there is nothing to swap to: the setting is a no-op there, with a message.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def swappable_blocks(transformer: nn.Module) -> list[nn.Module]:
    """The transformer's blocks in the order they run (Flux: double blocks, then single blocks)."""
    blocks: list[nn.Module] = []
    for name in ("transformer_blocks", "single_transformer_blocks"):
        blocks += list(getattr(transformer, name, []))
    return blocks


class BlockSwap:
    """Hooks that keep ``blocks``' frozen weights on ``offload`` except while each block runs on ``device``."""

    def __init__(self, blocks: list[nn.Module], device: torch.device | str, offload: torch.device | str = "cpu"):
        self.blocks = blocks
        self.device, self.offload = torch.device(device), torch.device(offload)
        self.moves = 0
        self.resident: list[nn.Module] = []  # swapped blocks now on the device (at most one)
        self._handles = []
        for block in blocks:
            self.move(block, self.offload)
            self._handles.append(block.register_forward_pre_hook(self._before))
            self._handles.append(block.register_forward_hook(self._after))

    def move(self, block: nn.Module, device: torch.device) -> None:
        """Move the block's frozen parameters and its buffers to ``device`` (trainable ones stay)."""
        for param in block.parameters():
            if not param.requires_grad:
                self.place(param, device)
        for module in block.modules():
            for name, buffer in list(module._buffers.items()):
                if buffer is not None and buffer.device != device:
                    module._buffers[name] = buffer.to(device, non_blocking=True)
        self.moves += 1

    def place(self, param: nn.Parameter, device: torch.device) -> None:
        """Put one frozen parameter's data on ``device`` (pinned CPU memory when a GPU will read it back)."""
        if param.device == device:
            return
        data = param.data.to(device, non_blocking=True)
        param.data = data.pin_memory() if device.type == "cpu" and torch.cuda.is_available() else data

    def _before(self, block: nn.Module, args) -> None:
        # A checkpointed block recomputed in backward may stop early (torch ends the recomputation once it has
        # what the backward needs), so its after-hook does not run: whatever swapped block is still in goes out
        # here, and at most one swapped block is ever on the device.
        for other in [b for b in self.resident if b is not block]:
            self.move(other, self.offload)
            self.resident.remove(other)
        self.move(block, self.device)
        if block not in self.resident:
            self.resident.append(block)

    def _after(self, block: nn.Module, args, output) -> None:
        self.move(block, self.offload)
        if block in self.resident:
            self.resident.remove(block)

    def remove(self) -> None:
        """Take the hooks off and bring every block back to ``device``."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        for block in self.blocks:
            self.move(block, self.device)


def enable_block_swap(
    transformer: nn.Module, count: int, device: torch.device | str, warn: Callable[[str], None] | None = None
) -> BlockSwap | None:
    """Swap the last ``count`` blocks of ``transformer`` between ``device`` and CPU memory.

    Returns the :class:`BlockSwap` (also kept as ``transformer.lorakit_block_swap``), or None where there is
    nothing to do: on the CPU (``warn`` says so), or for a model without swappable blocks.
    """
    device = torch.device(device)
    blocks = swappable_blocks(transformer)
    if device.type == "cpu":
        if warn is not None:
            warn(
                f"memory.blocks_to_swap = {count} does nothing on the CPU (there is no GPU memory to save):"
                " the setting applies on a GPU only."
            )
        return None
    if not blocks or count <= 0:
        return None
    count = min(count, len(blocks) - 1)  # at least one block stays on the GPU, as sd-scripts
    swap = BlockSwap(blocks[len(blocks) - count :], device)
    transformer.lorakit_block_swap = swap
    return swap
