"""Model hashes the ecosystem uses to recognise a file, and a cache so each is computed once.

- ``sha256``: of the whole file; what Civitai lists and what we verify downloads against.
- A1111 short hash ("AutoV2"): the first 10 hex digits of that sha256; shown in A1111/Forge and on Civitai.
- A1111 legacy hash ("AutoV1" / old ``model_hash``): the first 8 hex of sha256 over the 64 KiB at
  offset 1 MiB (0x100000–0x110000) of the file.
- ``sshs_model_hash`` / ``sshs_legacy_hash``: what kohya's sd-scripts writes into LoRA metadata for
  sd-webui-additional-networks. Per sd-scripts' ``precalculate_safetensors_hashes``: the tensors are
  serialized with only the ``ss_*`` metadata (user metadata such as ``modelspec.*`` or a title edited
  later must not change the hash); ``sshs_model_hash`` is the sha256 of that blob's bytes after the
  header (i.e. of the tensor data), ``sshs_legacy_hash`` the legacy hash of the whole blob.

The safetensors library orders ``__metadata__`` keys randomly, but the header *length* does not depend
on the order, so whenever the header is under 1 MiB the legacy window lies in tensor data and the hash
is deterministic. For a larger header we serialize the keys sorted (sd-scripts' own result is then
not reproducible either).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from lorakit.fileio import atomic_write_text
from lorakit.models.header import SafetensorsHeader, read_header, read_header_bytes

LEGACY_OFFSET = 0x100000
LEGACY_LENGTH = 0x10000
_BLOCK = 1024 * 1024


def sha256_file(path: str | os.PathLike, start: int = 0, progress=None) -> str:
    """The sha256 of a file (from byte ``start``), streamed in 1 MiB blocks; ``progress(done)`` per block."""
    digest = hashlib.sha256()
    done = 0
    with open(path, "rb") as f:
        f.seek(start)
        while block := f.read(_BLOCK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done)
    return digest.hexdigest()


def short_hash(sha256: str) -> str:
    """A1111's short hash ("AutoV2"): the first 10 hex digits of the full sha256."""
    return sha256[:10]


def legacy_hash_file(path: str | os.PathLike) -> str:
    """A1111's old model hash ("AutoV1"): sha256 of the 64 KiB at offset 1 MiB, first 8 hex digits."""
    with open(path, "rb") as f:
        f.seek(LEGACY_OFFSET)
        return hashlib.sha256(f.read(LEGACY_LENGTH)).hexdigest()[:8]


def _ss_only_header(header: SafetensorsHeader) -> bytes:
    """The header safetensors would write for these tensors with only the ``ss_*`` metadata.

    Compact JSON, ``__metadata__`` first, tensors in data order, padded with spaces to 8 bytes: the
    layout of the safetensors serializer, so lengths (and thus the legacy window) match its output.
    """
    metadata = {k: v for k, v in sorted(header.metadata.items()) if k.startswith("ss_")}
    table: dict[str, Any] = {"__metadata__": metadata}
    for name, entry in sorted(header.tensors.items(), key=lambda kv: (kv[1].start, kv[1].end)):
        table[name] = {"dtype": entry.dtype, "shape": list(entry.shape), "data_offsets": [entry.start, entry.end]}
    text = json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return text + b" " * (-len(text) % 8)


def _legacy_window(header_bytes: bytes, read_data) -> str:
    """Legacy hash of ``len8 + header_bytes + data`` where ``read_data(offset, n)`` reads tensor data."""
    prefix = len(header_bytes).to_bytes(8, "little") + header_bytes
    window = prefix[LEGACY_OFFSET : LEGACY_OFFSET + LEGACY_LENGTH]
    data_from = max(0, LEGACY_OFFSET - len(prefix))
    window += read_data(data_from, LEGACY_LENGTH - len(window))
    return hashlib.sha256(window).hexdigest()[:8]


def sshs_hashes_of_file(path: str | os.PathLike) -> tuple[str, str]:
    """``(sshs_model_hash, sshs_legacy_hash)`` of a safetensors file, as sd-scripts would write them."""
    header = read_header(path)
    model_hash = sha256_file(path, start=header.data_start)

    def read_data(offset: int, n: int) -> bytes:
        with open(path, "rb") as f:
            f.seek(header.data_start + offset)
            return f.read(n)

    return model_hash, _legacy_window(_ss_only_header(header), read_data)


def sshs_hashes_of_bytes(blob: bytes) -> tuple[str, str]:
    """The same two hashes for a safetensors file held in memory (e.g. ``safetensors.torch.save(...)``)."""
    header = read_header_bytes(blob)
    data = memoryview(blob)[header.data_start :]
    model_hash = hashlib.sha256(data).hexdigest()
    return model_hash, _legacy_window(_ss_only_header(header), lambda offset, n: bytes(data[offset : offset + n]))


def sshs_hashes(tensors: dict, metadata: dict[str, str] | None = None) -> tuple[str, str]:
    """``(sshs_model_hash, sshs_legacy_hash)`` for tensors about to be saved (torch tensors by name).

    Use this when writing a LoRA: put the two values into the metadata before saving; they do not
    change when non-``ss_*`` metadata is added, exactly as in sd-scripts.
    """
    import safetensors.torch

    ss_only = {k: v for k, v in (metadata or {}).items() if k.startswith("ss_")}
    return sshs_hashes_of_bytes(safetensors.torch.save(tensors, ss_only))


class HashCache:
    """Hashes of files, computed lazily and remembered in a JSON file keyed on (path, size, mtime_ns).

    A file that changes (new size or modification time) is hashed again; the cache file is written
    atomically so two processes at worst redo work, never corrupt it.
    """

    def __init__(self, cache_file: str | os.PathLike):
        self.cache_file = Path(cache_file)
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] | None = None

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._entries is None:
            try:
                loaded = json.loads(self.cache_file.read_text(encoding="utf-8"))
                self._entries = loaded if isinstance(loaded, dict) else {}
            except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
                self._entries = {}
        return self._entries

    def _entry(self, path: Path) -> tuple[str, dict[str, Any]]:
        st = path.stat()
        key = str(path.resolve())
        entry = self._load().get(key)
        if not entry or entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
            entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
            self._load()[key] = entry
        return key, entry

    def get(self, path: str | os.PathLike, kind: str = "sha256", progress=None) -> str:
        """A hash of ``path``: ``sha256``, ``short`` (A1111 AutoV2), ``legacy`` (AutoV1), ``sshs_model``
        or ``sshs_legacy``. Computed on first use, then read from the cache while the file is unchanged."""
        p = Path(path)
        with self._lock:
            _, entry = self._entry(p)
            if kind in entry:
                return entry[kind]
        if kind in ("sha256", "short"):
            value = {"sha256": sha256_file(p, progress=progress)}
            value["short"] = short_hash(value["sha256"])
        elif kind == "legacy":
            value = {"legacy": legacy_hash_file(p)}
        elif kind in ("sshs_model", "sshs_legacy"):
            value = dict(zip(("sshs_model", "sshs_legacy"), sshs_hashes_of_file(p), strict=True))
        else:
            raise ValueError(f"unknown hash kind {kind!r}")
        with self._lock:
            _, entry = self._entry(p)
            entry.update(value)
            atomic_write_text(self.cache_file, json.dumps(self._load(), indent=1, sort_keys=True))
        return value[kind]

    def remember(self, path: str | os.PathLike, sha256: str) -> None:
        """Record a sha256 already known (e.g. verified during a download) so it is never recomputed."""
        p = Path(path)
        with self._lock:
            _, entry = self._entry(p)
            entry.update(sha256=sha256, short=short_hash(sha256))
            atomic_write_text(self.cache_file, json.dumps(self._load(), indent=1, sort_keys=True))

    def peek(self, path: str | os.PathLike) -> str | None:
        """The sha256 last recorded for ``path``, even if the file changed since (what ``verify`` compares)."""
        with self._lock:
            entry = self._load().get(str(Path(path).resolve())) or {}
        return entry.get("sha256")
