"""Frozen weights in ordinary memory, not left as views of the memory-mapped weight files.

diffusers and transformers read ``.safetensors`` files zero-copy: every loaded weight is a view of the file
mapped into memory. That costs little to load, but the training step then runs its convolutions and matmuls on
file-backed pages, measured 4-8 % slower per step on the CPU than on the same weights in ordinary memory. So on
the CPU the loaded weights are copied into ordinary memory, tensor by tensor, in file order; the pages of the
mapping already copied are handed back to the kernel as the copy goes (Linux ``madvise(MADV_DONTNEED)``, on
read pages nobody wrote), so loading peaks at about one model plus one tensor, not two models. Once no view is
left the mapping is closed by its owner.

Which tensors are views is read from ``/proc/self/maps`` (address ranges backed by a file). Where that file does
not exist (macOS, Windows) every tensor is copied and no page is released early: the result is the same, the
peak of loading is higher.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import torch

log = logging.getLogger(__name__)

_MADV_DONTNEED = 4  # Linux
_PAGE = mmap.PAGESIZE


def file_mappings() -> list[tuple[int, int]] | None:
    """The address ranges of this process that are backed by a file, or None where that cannot be read."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            lines = maps.readlines()
    except OSError:
        return None
    ranges = []
    for line in lines:
        parts = line.split(maxsplit=5)
        # address perms offset dev inode [path]: anonymous memory has inode 0.
        if len(parts) >= 6 and parts[4] != "0":
            start, end = (int(x, 16) for x in parts[0].split("-"))
            ranges.append((start, end))
    return sorted(ranges)


def _inside(ptr: int, ranges: list[tuple[int, int]]) -> bool:
    return any(start <= ptr < end for start, end in ranges)


def file_backed(tensor: torch.Tensor, ranges: list[tuple[int, int]] | None = None) -> bool:
    """Whether ``tensor`` (on the CPU) is a view of a memory-mapped file (False where that cannot be told)."""
    ranges = file_mappings() if ranges is None else ranges
    if ranges is None or tensor.device.type != "cpu" or tensor.numel() == 0:
        return False
    return _inside(tensor.data_ptr(), ranges)


@dataclass
class _Slot:
    """One tensor to copy, with every place that holds it (a weight tied to another is copied once)."""

    tensor: torch.Tensor
    places: list[tuple[torch.nn.Module, str, bool]] = field(default_factory=list)  # (module, name, is parameter)


def _slots(modules: Iterable[torch.nn.Module]) -> Iterator[_Slot]:
    seen: dict[tuple, _Slot] = {}
    for root in modules:
        for module in root.modules():
            for is_param, table in ((True, module._parameters), (False, module._buffers)):
                for name, tensor in table.items():
                    if tensor is None or tensor.device.type != "cpu" or tensor.is_meta:
                        continue
                    key = (tensor.data_ptr(), tensor.dtype, tuple(tensor.shape), tensor.stride())
                    slot = seen.get(key)
                    if slot is None:
                        slot = seen[key] = _Slot(tensor)
                        yield slot
                    slot.places.append((module, name, is_param))


def _release(start: int, end: int) -> None:
    """Hand the whole pages of [start, end) of a file mapping back to the kernel (they are re-read if touched)."""
    first = start // _PAGE * _PAGE
    last = end // _PAGE * _PAGE
    if last <= first:
        return
    result = _libc().madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)
    if result != 0:
        log.debug("madvise(MADV_DONTNEED) failed with errno %d", ctypes.get_errno())


_LIBC = None


def _libc():
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def _copy(slot: _Slot) -> None:
    old = slot.tensor
    new = torch.empty_like(old, memory_format=torch.preserve_format)  # same strides when dense, else contiguous
    new.copy_(old)
    for module, name, is_param in slot.places:
        if is_param:
            module._parameters[name].data = new  # the same Parameter object: optimizers and ties keep it
        else:
            module._buffers[name] = new


def into_memory(modules: Iterable[torch.nn.Module]) -> int:
    """Copy every weight and buffer of ``modules`` that is a view of a mapped file into ordinary memory.

    Returns the number of bytes copied. Weights on other devices, and weights already in ordinary memory (read
    with a dtype conversion, or converted from a single file), are left as they are.
    """
    ranges = file_mappings()
    slots = list(_slots(modules))
    if ranges is not None:
        slots = [s for s in slots if _inside(s.tensor.data_ptr(), ranges)]
    # In address order, so the pages behind the copy can be released before the next tensor is read.
    slots.sort(key=lambda s: s.tensor.data_ptr())
    release = ranges is not None and sys.platform.startswith("linux")
    copied = 0
    for i, slot in enumerate(slots):
        start = slot.tensor.data_ptr()
        copied += slot.tensor.numel() * slot.tensor.element_size()
        _copy(slot)
        region = next(((a, b) for a, b in ranges or [] if a <= start < b), None)
        if release and region is not None:
            # Up to the next tensor still to copy (all below it are copied): never a page a later copy reads.
            following = slots[i + 1].tensor.data_ptr() if i + 1 < len(slots) else None
            end = following if following is not None and following < region[1] else region[1]
            _release(start // _PAGE * _PAGE, end)
        slot.tensor = None  # type: ignore[assignment]  # the view goes: the mapping can close when all have
    return copied
