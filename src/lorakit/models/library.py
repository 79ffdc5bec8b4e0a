"""The local model library: a models folder (checkpoints, vae, loras, embeddings, taggers) listed with
what each file is, detected from headers and remembered per (path, size, mtime) so listing stays fast.

Layout (the workspace's ``models/`` folder)::

    models/checkpoints/  base models: single files or diffusers folders
    models/vae/          VAEs
    models/loras/        LoRA and LyCORIS files
    models/embeddings/   textual inversion embeddings
    models/taggers/      WD14 ONNX taggers (model.onnx + selected_tags.csv)
"""

from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorakit.errors import LorakitError, ModelError
from lorakit.fileio import atomic_write_text, is_inside
from lorakit.models.detect import ModelInfo, detect
from lorakit.models.hashes import HashCache, sha256_file, short_hash, sshs_hashes_of_file

FOLDERS = ("checkpoints", "vae", "loras", "embeddings", "taggers")
MODEL_SUFFIXES = {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".onnx", ".gguf", ".sft"}
DETECT_CACHE_NAME = ".lorakit-detect.json"
HASH_CACHE_NAME = ".lorakit-hashes.json"

_FOLDER_FOR_KIND = {
    "lora": "loras",
    "vae": "vae",
    "embedding": "embeddings",
    "tagger": "taggers",
}


def folder_for(info: ModelInfo) -> str:
    """The library folder a detected model belongs in (anything that is not an add-on is a checkpoint)."""
    return _FOLDER_FOR_KIND.get(info.kind, "checkpoints")


@dataclass
class LibraryEntry:
    """One model in the library: its folder, path, and what it is (or why it could not be read)."""

    folder: str
    path: Path
    info: ModelInfo | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "path": str(self.path),
            "info": self.info.to_dict() if self.info else None,
            "problem": self.problem,
        }


class ModelLibrary:
    """A models folder. Detection results are cached in ``.lorakit-detect.json`` inside it."""

    def __init__(self, root: str | os.PathLike, *, inside: str | os.PathLike | None = None):
        """``inside`` (the workspace, for the web server): models that lead outside it through a link are not
        listed, not read and not detected; neither are fifos, devices and sockets."""
        self.root = Path(root)
        self.inside = os.path.realpath(inside) if inside is not None else None
        self.hashes = HashCache(self.root / HASH_CACHE_NAME)
        self._cache_file = self.root / DETECT_CACHE_NAME
        self._lock = threading.Lock()
        self._cache: dict[str, dict[str, Any]] | None = None

    def _detect_cache(self) -> dict[str, dict[str, Any]]:
        if self._cache is None:
            try:
                data = json.loads(self._cache_file.read_text(encoding="utf-8"))
                self._cache = data if isinstance(data, dict) else {}
            except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
                self._cache = {}
        return self._cache

    def detect(self, path: str | os.PathLike) -> ModelInfo:
        """:func:`lorakit.models.detect.detect`, remembered while the file's size and mtime stay the same."""
        p = Path(path)
        if p.is_dir():
            return detect(p)
        st = p.stat()
        key = str(p.resolve())
        with self._lock:
            hit = self._detect_cache().get(key)
        if hit and hit.get("size") == st.st_size and hit.get("mtime_ns") == st.st_mtime_ns:
            return ModelInfo(**hit["info"])
        info = detect(p)
        stored = {k: v for k, v in info.to_dict().items() if k != "label"}
        with self._lock:
            self._detect_cache()[key] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "info": stored}
            if self.root.is_dir():
                atomic_write_text(self._cache_file, json.dumps(self._detect_cache()), inside=self.inside)
        return info

    def entries(self, folder: str | None = None) -> list[LibraryEntry]:
        """Every model in the library (or in one folder), sorted by folder and name."""
        if folder is not None and folder not in FOLDERS:
            raise LorakitError(f"There is no model folder called {folder!r}.", f"Use one of: {', '.join(FOLDERS)}.")
        found: list[LibraryEntry] = []
        for name in [folder] if folder else FOLDERS:
            base = self.root / name
            if base.is_dir() and self._usable(base, folder=True):
                found.extend(self._walk(name, base))
        return sorted(found, key=lambda e: (FOLDERS.index(e.folder), str(e.path).lower()))

    def _walk(self, folder: str, base: Path) -> list[LibraryEntry]:
        entries: list[LibraryEntry] = []
        for dirpath, dirnames, filenames in os.walk(base):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            if self.inside is not None and (here / "model_index.json").is_symlink():
                continue  # a diffusers folder's index is read to detect it: it must be the folder's own
            if (here / "model_index.json").is_file():
                dirnames[:] = []  # a diffusers folder is one model, not many files
                entries.append(self._entry(folder, here))
                continue
            for filename in sorted(filenames):
                path = here / filename
                if filename.startswith(".") or path.suffix.lower() not in MODEL_SUFFIXES:
                    continue
                if not self._usable(path):
                    continue
                entries.append(self._entry(folder, path))
        return entries

    def _usable(self, path: Path, *, folder: bool = False) -> bool:
        """Whether the library may read ``path``: a regular file (or folder), inside ``inside`` when set."""
        try:
            mode = os.stat(path).st_mode
        except OSError:  # a dangling link, a loop
            return False
        if not (stat.S_ISDIR(mode) if folder else stat.S_ISREG(mode)):
            return False
        if self.inside is not None and not is_inside(os.path.realpath(path), self.inside):
            from lorakit.workspace import warn_outside_once

            warn_outside_once(os.path.relpath(path, self.inside))
            return False
        return True

    def _entry(self, folder: str, path: Path) -> LibraryEntry:
        try:
            return LibraryEntry(folder, path, info=self.detect(path))
        except ModelError as error:
            return LibraryEntry(folder, path, problem=str(error))

    def inspect(self, path: str | os.PathLike, *, hashes: bool = False) -> dict[str, Any]:
        """Detection plus, with ``hashes``, sha256, A1111 short/legacy hashes and (for safetensors) the
        sd-scripts ``sshs_*`` hashes; hashes are computed once and cached."""
        p = Path(path)
        info = self.detect(p)
        result = info.to_dict()
        if hashes and p.is_file():
            result["hashes"] = {
                "sha256": self.hashes.get(p, "sha256"),
                "short": self.hashes.get(p, "short"),
                "legacy": self.hashes.get(p, "legacy"),
            }
            if info.format == "safetensors":
                result["hashes"]["sshs_model_hash"] = self.hashes.get(p, "sshs_model")
                result["hashes"]["sshs_legacy_hash"] = self.hashes.get(p, "sshs_legacy")
        return result


def verify(path: str | os.PathLike, expected_sha256: str | None = None, library: ModelLibrary | None = None) -> dict:
    """Check a model file is intact: its header parses, its sha256 is recomputed now and compared with
    ``expected_sha256`` and with the one recorded at download time, and a LoRA's ``sshs_model_hash``
    metadata (written by sd-scripts and lorakit) is compared with its tensor data.

    Returns ``{ok, sha256, short, checks: [{check, ok, detail}]}``.
    """
    p = Path(path)
    lib = library or ModelLibrary(p.parent)
    checks: list[dict[str, Any]] = []
    try:
        info = detect(p)
        checks.append({"check": "header", "ok": True, "detail": info.label})
    except ModelError as error:
        return {
            "ok": False,
            "sha256": None,
            "short": None,
            "checks": [{"check": "header", "ok": False, "detail": error.problem}],
        }
    if p.is_dir():
        return {"ok": True, "sha256": None, "short": None, "checks": checks}
    recorded = lib.hashes.peek(p)
    sha = sha256_file(p)
    if expected_sha256:
        same = sha == expected_sha256.strip().lower()
        checks.append({"check": "sha256 given", "ok": same, "detail": sha if same else f"{sha} != {expected_sha256}"})
    if recorded:
        checks.append(
            {
                "check": "sha256 recorded",
                "ok": sha == recorded,
                "detail": "matches the earlier hash"
                if sha == recorded
                else "the file changed since it was hashed (damaged or edited in place)",
            }
        )
    lib.hashes.remember(p, sha)
    stored = info.metadata.get("sshs_model_hash")
    if stored and info.format == "safetensors":
        model_hash, _ = sshs_hashes_of_file(p)
        same = model_hash == stored.lower().removeprefix("0x")
        checks.append(
            {
                "check": "sshs_model_hash",
                "ok": same,
                "detail": "tensor data matches its metadata"
                if same
                else "the tensor data does not match the hash stored in its metadata",
            }
        )
    return {"ok": all(c["ok"] for c in checks), "sha256": sha, "short": short_hash(sha), "checks": checks}
