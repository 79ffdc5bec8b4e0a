"""Read a safetensors header without touching tensor data.

A safetensors file is an 8-byte little-endian header length, a JSON header (tensor names, dtypes, shapes,
data offsets and an optional ``__metadata__`` table of strings), then the raw tensor bytes. Everything
lorakit learns about a file before loading it comes from this header, so reading it must be cheap (two
small reads) and must never trust the length field blindly: a corrupt or hostile file could claim a
multi-GB header.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lorakit.errors import ModelError

# The safetensors library itself refuses headers over 100 MB; real ones are a few hundred KB at most
# (a LoRA with a big ss_tag_frequency table can reach a few MB).
MAX_HEADER_BYTES = 100_000_000

# Bytes per element of each safetensors dtype name.
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "F4": 0.5,
    "F6_E2M3": 0.75,
    "F6_E3M2": 0.75,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
    "C64": 8,
}


@dataclass(slots=True)
class TensorEntry:
    """One tensor as the header describes it."""

    dtype: str
    shape: tuple[int, ...]
    start: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass
class SafetensorsHeader:
    """The parsed header: where the data starts, each tensor's entry, and the metadata strings."""

    header_len: int
    tensors: dict[str, TensorEntry] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    params_by_dtype: dict[str, int] = field(default_factory=dict)  # safetensors dtype name -> element count

    @property
    def data_start(self) -> int:
        return 8 + self.header_len


def _bad(path: str, why: str) -> ModelError:
    return ModelError(
        f"{path} is not a valid safetensors file: {why}.",
        "The file is probably incomplete or damaged: download it again (lorakit resumes partial downloads).",
    )


def parse_header(raw_json: bytes, header_len: int, data_len: int | None, name: str = "the file") -> SafetensorsHeader:
    """Parse and check header JSON; ``data_len`` (bytes after the header) checks offsets when known."""
    try:
        raw = json.loads(raw_json.decode("utf-8").rstrip(" "))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _bad(name, f"its header is not readable JSON ({error.__class__.__name__})") from None
    except RecursionError:
        # Real headers are two levels deep; thousands of nested brackets are a damaged or hostile file.
        raise _bad(name, "its header nests JSON thousands of levels deep, which no real model does") from None
    if not isinstance(raw, dict):
        raise _bad(name, "its header is not a JSON object")
    header = SafetensorsHeader(header_len=header_len, raw=raw)
    counts = header.params_by_dtype
    for key, value in raw.items():
        if key == "__metadata__":
            if isinstance(value, dict):
                header.metadata = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
            continue
        try:
            start, end = value["data_offsets"]
            shape, dtype = value["shape"], value["dtype"]
        except (KeyError, TypeError, ValueError):
            raise _bad(name, f"the entry for tensor {key!r} is malformed") from None
        # Type checks without per-element conversion: this loop runs for every tensor (thousands per file).
        if type(start) is not int or type(end) is not int or type(shape) is not list or type(dtype) is not str:
            raise _bad(name, f"the entry for tensor {key!r} is malformed")
        if data_len is not None and (end > data_len or start > end):
            raise _bad(name, f"tensor {key!r} points past the end of the file (it is truncated)")
        header.tensors[key] = TensorEntry(dtype, tuple(shape), start, end)
        # Counted here, in the one pass over all tensors, rather than in a second loop later.
        counts[dtype] = counts.get(dtype, 0) + math.prod(shape)
    return header


def is_pickle_magic(prefix: bytes) -> bool:
    """True for the first bytes of PyTorch's zip archive or of a raw pickle stream (protocol 2-5)."""
    return prefix.startswith(b"PK\x03\x04") or (prefix[:1] == b"\x80" and prefix[1:2] in b"\x02\x03\x04\x05")


def read_header(path: str | os.PathLike) -> SafetensorsHeader:
    """Read and check the header of a ``.safetensors`` file (two reads; tensor data is never read)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            prefix = f.read(8)
            if len(prefix) < 8:
                raise _bad(p.name, f"it is only {size} bytes long")
            header_len = int.from_bytes(prefix, "little")
            if is_pickle_magic(prefix):
                raise ModelError(
                    f"{p.name} is a PyTorch pickle (.ckpt/.pt/.bin data), not a safetensors file, despite its name.",
                    "lorakit never opens pickles (loading one can run code). Get the model's .safetensors version.",
                )
            if header_len > MAX_HEADER_BYTES:
                raise _bad(p.name, f"it claims a {header_len:,}-byte header, far beyond any real model")
            if header_len + 8 > size:
                raise _bad(p.name, f"its header needs {header_len + 8:,} bytes but the file has {size:,}")
            raw_json = f.read(header_len)
    except FileNotFoundError:
        raise ModelError(f"No file at {p}.", "Check the path (lorakit models list shows your models).") from None
    except IsADirectoryError:
        raise ModelError(f"{p} is a folder, not a file.", "Point at the .safetensors file inside it.") from None
    return parse_header(raw_json, header_len, size - 8 - header_len, p.name)


def read_header_bytes(blob: bytes) -> SafetensorsHeader:
    """The same checks as :func:`read_header`, for a safetensors file held in memory."""
    if len(blob) < 8:
        raise _bad("the data", "it is shorter than 8 bytes")
    header_len = int.from_bytes(blob[:8], "little")
    if header_len > MAX_HEADER_BYTES or header_len + 8 > len(blob):
        raise _bad("the data", "its header length is larger than the data")
    return parse_header(blob[8 : 8 + header_len], header_len, len(blob) - 8 - header_len)
