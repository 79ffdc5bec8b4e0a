"""Bringing images into a dataset folder: from folders (recursively), ZIP archives and single files.

Captions travel with their images (``a.png`` + ``a.txt``). ``<repeats>_<name>`` folders (sd-scripts'
layout) become subsets with their repeats written down, and keep their folder. A name already taken in
the dataset gets a new name (``a_2.png`` with ``a_2.txt``): nothing is overwritten, nothing is lost.
Every file that is not imported is listed with the reason.

ZIP archives are extracted defensively: entries with ``..``, absolute paths or drive letters and
symlinks are refused; the number of entries, each entry's size, the total size and the compression
ratio are limited while *streaming* (the sizes an archive claims in its headers are not trusted).
"""

from __future__ import annotations

import os
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from lorakit.config.dataset import IMAGE_EXTENSIONS, SubsetConfig, parse_repeat_folder
from lorakit.data.images import DEFAULT_MAX_PIXELS
from lorakit.errors import DatasetError
from lorakit.events import PROGRESS, WARNING, Emitter
from lorakit.fileio import atomic_copy, is_disk_full

CAPTION_EXTENSIONS = (".txt", ".caption")


@dataclass
class ImportLimits:
    """Limits that keep a hostile archive from filling the disk or memory."""

    max_entries: int = 100_000
    max_entry_bytes: int = 512 * 1024**2  # one image
    max_total_bytes: int = 20 * 1024**3
    max_ratio: float = 200.0  # uncompressed / compressed; images barely compress, bombs compress 1000x
    ratio_grace_bytes: int = 4 * 1024**2  # small files may compress well (text captions)
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class ImportedFile:
    source: str
    image: str
    caption: str | None = None


@dataclass
class ImportReport:
    """What was imported, what was skipped and why, and the subsets found."""

    destination: str
    imported: list[ImportedFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    subsets: list[SubsetConfig] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "destination": self.destination,
            "imported": [vars(f) for f in self.imported],
            "skipped": [{"source": s, "reason": r} for s, r in self.skipped],
            "subsets": [s.model_dump(mode="json", exclude_none=True) for s in self.subsets],
        }

    def summary(self) -> str:
        lines = [f"Imported {len(self.imported)} images into {self.destination}."]
        captions = sum(1 for f in self.imported if f.caption)
        lines.append(f"{captions} came with captions.")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}:")
            lines += [f"  {source}: {reason}" for source, reason in self.skipped[:20]]
            if len(self.skipped) > 20:
                lines.append(f"  ... and {len(self.skipped) - 20} more")
        for s in self.subsets:
            lines.append(f"Subset {s.label}: {s.num_repeats} repeats, class tokens {s.class_tokens!r}")
        return "\n".join(lines)


def import_images(
    sources: list[str | os.PathLike],
    destination: str | os.PathLike,
    *,
    limits: ImportLimits | None = None,
    emitter: Emitter | None = None,
) -> ImportReport:
    """Import folders, ZIP archives and single image files into ``destination``."""
    limits = limits or ImportLimits()
    dest = Path(destination).expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    report = ImportReport(destination=str(dest))
    try:
        _import_sources(sources, dest, report, limits, emitter)
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise _disk_full(error, dest, report) from error
    if emitter:
        emitter.emit(PROGRESS, done=len(report.imported), total=len(report.imported), unit="images")
    return report


def _disk_full(error: OSError, dest: Path, report: ImportReport) -> DatasetError:
    """Undo a partial import (its copies only; sources are never touched) so that a re-run is clean."""
    removed = 0
    for item in report.imported:
        for name in (item.image, item.caption):
            if name:
                Path(name).unlink(missing_ok=True)
        removed += 1
    return DatasetError(
        f"The disk holding {dest} is full ({error.strerror or error}); the import stopped.",
        "Nothing was imported and nothing was lost: "
        + (f"the {removed} images copied before it ran out were removed again, " if removed else "")
        + "your original files are untouched. Free some space on that disk, then run the same import again.",
    )


def _import_sources(sources, dest: Path, report: ImportReport, limits: ImportLimits, emitter) -> None:
    for source in map(Path, sources):
        source = source.expanduser()
        if source.is_dir():
            _import_folder(source, dest, report, limits, emitter)
        elif source.is_file() and zipfile.is_zipfile(source):
            with tempfile.TemporaryDirectory(prefix=".import-", dir=dest) as staging:
                if _extract_zip(source, Path(staging), report, limits, emitter):
                    _import_folder(Path(staging), dest, report, limits, emitter, shown_root=source)
        elif source.is_file():
            sidecars = [source.with_suffix(ext) for ext in CAPTION_EXTENSIONS if source.suffix.lower() != ext]
            _import_files([source, *(c for c in sidecars if c.is_file())], dest, report, limits)
        else:
            report.skipped.append((str(source), "does not exist or cannot be read"))


def _is_repeat_folder(name: str) -> bool:
    parsed = parse_repeat_folder(name)
    return parsed is not None and parsed[0] >= 1


def _import_folder(
    root: Path,
    dest: Path,
    report: ImportReport,
    limits: ImportLimits,
    emitter: Emitter | None,
    shown_root: Path | None = None,
) -> None:
    """Import a folder tree; ``shown_root`` names the archive when ``root`` is its extraction folder."""

    def shown(path: Path) -> str:
        return str(shown_root / path.relative_to(root)) if shown_root else str(path)

    if shown_root is None and _is_repeat_folder(root.name):
        subset_dirs = [root]  # "10_name" itself was picked: keep it as one subset
        groups = [(root, dest / root.name, {dest.resolve()})]
    else:
        # <repeats>_<name> folders anywhere below (an archive often wraps them in one more folder) are
        # sd-scripts subsets: each keeps its own folder; everything else goes to the dataset folder.
        subset_dirs = _repeat_folders(root, dest)
        skip = {dest.resolve()}
        groups = [(root, dest, skip | {c.resolve() for c in subset_dirs})]
        groups += [(c, dest / c.name, skip) for c in subset_dirs]
    for folder in subset_dirs:
        repeats, tokens = parse_repeat_folder(folder.name) or (1, "")
        target = dest / folder.name
        if not any(s.image_dir == target for s in report.subsets):
            report.subsets.append(SubsetConfig(image_dir=target, num_repeats=repeats, class_tokens=tokens or None))
    for folder, target, skip in groups:
        files = _walk(folder, skip, report, shown)
        if files:
            target.mkdir(parents=True, exist_ok=True)
            _import_files(files, target, report, limits, shown)
            if emitter:
                emitter.emit(PROGRESS, done=len(report.imported), total=None, unit="images")


def _repeat_folders(root: Path, dest: Path) -> list[Path]:
    """The ``<repeats>_<name>`` folders below ``root`` (not looking inside them, nor inside ``dest``)."""
    found = []
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        visible = [n for n in sorted(dirnames) if not n.startswith((".", "__MACOSX"))]
        visible = [n for n in visible if (here / n).resolve() != dest.resolve()]
        found += [here / n for n in visible if _is_repeat_folder(n)]
        dirnames[:] = [n for n in visible if not _is_repeat_folder(n)]  # a subset's subfolders are its own
    return found


def _walk(folder: Path, skip: set[Path], report: ImportReport, shown) -> list[Path]:
    files = []

    def unreadable(error: OSError) -> None:
        report.skipped.append((shown(Path(error.filename)), "folder cannot be read (permissions?)"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith((".", "__MACOSX")) and (Path(dirpath) / d).resolve() not in skip
        )
        files.extend(Path(dirpath) / name for name in sorted(filenames) if not name.startswith("."))
    return files


def _import_files(files: list[Path], target: Path, report: ImportReport, limits: ImportLimits, shown=str) -> None:
    captions_by_stem: dict[tuple[Path, str], list[Path]] = {}
    images = []
    for path in files:
        suffix = path.suffix.lower()
        if path.is_symlink():
            report.skipped.append((shown(path), "is a link; copy the real file instead"))
        elif suffix in IMAGE_EXTENSIONS:
            images.append(path)
        elif suffix in CAPTION_EXTENSIONS:
            captions_by_stem.setdefault((path.parent, path.stem), []).append(path)
        else:
            report.skipped.append((shown(path), f"not an image or caption ({suffix or 'no extension'})"))
    taken = {p.stem.lower() for p in target.iterdir()} if target.is_dir() else set()
    used: set[tuple[Path, str]] = set()
    for path in images:
        problem = _check_image(path, limits)
        if problem:
            report.skipped.append((shown(path), problem))
            continue
        captions = captions_by_stem.get((path.parent, path.stem), [])
        caption = next((c for c in captions if c.suffix == ".txt"), captions[0] if captions else None)
        new_image = target / f"{_free_stem(taken, path.stem)}{path.suffix.lower()}"
        try:
            # All or nothing per file: a full disk never leaves a truncated or 0-byte image behind.
            atomic_copy(path, new_image)
        except OSError as error:
            if is_disk_full(error):
                raise
            report.skipped.append((shown(path), f"cannot be copied ({error.strerror or error})"))
            continue
        new_caption = None
        if caption is not None:
            # a.png and a.jpg in one folder share a.txt: each imported image gets its own copy.
            new_caption = new_image.with_suffix(".txt")
            try:
                atomic_copy(caption, new_caption)
            except OSError as error:
                new_image.unlink(missing_ok=True)  # an image without its caption would train on nothing
                if is_disk_full(error):
                    raise
                report.skipped.append((shown(caption), f"cannot be copied ({error.strerror or error})"))
                continue
            used.add((path.parent, path.stem))
        report.imported.append(ImportedFile(shown(path), str(new_image), str(new_caption) if new_caption else None))
    for key, captions in captions_by_stem.items():
        if key not in used:
            report.skipped += [(shown(c), "caption without a matching image") for c in captions]


def _free_stem(taken: set[str], stem: str) -> str:
    """A stem unused in the target folder (``a`` → ``a_2``), then marked as used.

    Stems, not names, must differ: a.png and a.jpg in one folder would share one caption file.
    """
    candidate, n = stem, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{stem}_{n}"
    taken.add(candidate.lower())
    return candidate


def _check_image(path: Path, limits: ImportLimits) -> str | None:
    """A cheap header check (full decoding is the health check's job): None if it looks like an image."""
    try:
        if path.stat().st_size == 0:
            return "empty file (0 bytes)"
        with Image.open(path) as img:
            if img.width * img.height > limits.max_pixels:
                return f"too large to open safely ({img.width} x {img.height})"
    except Image.DecompressionBombError:
        return "too large to open safely (decompression bomb?)"
    except UnidentifiedImageError:
        return "not an image (or a kind Pillow cannot read)"
    except OSError as error:
        return f"cannot be read ({error})"
    return None


# -- ZIP ----------------------------------------------------------------------------------------------------
def _safe_member_path(name: str) -> PurePosixPath | None:
    """The entry's relative path, or None when it would land outside the extraction folder."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
        return None
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts) or path.is_absolute():
        return None
    return path


def unsafe_zip_entries(archive: str | os.PathLike) -> list[str]:
    """The entries of a ZIP archive that extraction would refuse: paths leading out of its folder, and links.

    Reads only the archive's directory (nothing is extracted); an unreadable archive gives ``[]`` (the import
    reports it). The web API refuses a whole archive with such entries before starting an import.
    """
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, OSError):
        return []
    return [
        info.filename
        for info in members
        if _safe_member_path(info.filename) is None or stat.S_ISLNK(info.external_attr >> 16)
    ]


def _extract_zip(archive: Path, staging: Path, report: ImportReport, limits: ImportLimits, emitter) -> bool:
    """Extract safely into ``staging``; refused entries go to the report. False if nothing could be read."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        report.skipped.append((str(archive), f"not a readable ZIP archive ({error})"))
        return False
    with zf:
        members = zf.infolist()
        if len(members) > limits.max_entries:
            report.skipped.append(
                (str(archive), f"has {len(members)} entries, more than the limit of {limits.max_entries}")
            )
            return False
        total = 0
        for info in members:
            shown = f"{archive}:{info.filename}"
            if info.is_dir():
                continue
            rel = _safe_member_path(info.filename)
            if rel is None:
                report.skipped.append((shown, "unsafe path (leaves the archive folder); refused"))
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                report.skipped.append((shown, "is a symbolic link; refused"))
                continue
            if rel.parts[0] == "__MACOSX" or rel.name.startswith("."):
                continue
            target = staging.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            written, problem = _copy_limited(zf, info, target, limits, limits.max_total_bytes - total)
            total += written
            if problem:
                target.unlink(missing_ok=True)
                report.skipped.append((shown, problem))
                if total >= limits.max_total_bytes:
                    report.skipped.append((str(archive), "stopped: the archive expands beyond the total size limit"))
                    break
            if emitter and total >= limits.max_total_bytes * 0.9:
                emitter.emit(WARNING, message=f"{archive.name} is close to the size limit", fix=None)
    return True


def _copy_limited(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, limits: ImportLimits, room: int):
    """Stream one entry, counting real bytes; returns (bytes written, problem or None)."""
    cap = min(limits.max_entry_bytes, room)
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(1024 * 1024):
                written += len(chunk)
                if written > cap:
                    return written, f"expands beyond {cap // 1024**2} MB; refused (decompression bomb?)"
                ratio = written / max(info.compress_size, 1)
                if written > limits.ratio_grace_bytes and ratio > limits.max_ratio:
                    return written, f"compressed {ratio:.0f}:1, far more than any image; refused (zip bomb?)"
                out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        if is_disk_full(error):
            target.unlink(missing_ok=True)
            raise
        return written, f"cannot be extracted ({error})"
    return written, None


def require_images(report: ImportReport) -> None:
    """Raise when an import brought in nothing, naming the first reasons."""
    if not report.imported:
        reasons = "; ".join(f"{Path(s).name}: {r}" for s, r in report.skipped[:3]) or "no files found"
        raise DatasetError(
            f"No images were imported ({reasons}).",
            "Point the import at a folder, ZIP archive or image files (PNG, JPEG, WebP, BMP, GIF, AVIF, HEIC).",
        )
