"""The dataset health check: what is wrong with a dataset, how bad it is, and how to fix it.

One pass decodes every image in a thread pool (finding damaged files, modes, transparency and sizes)
and computes the perceptual hashes the duplicate finder needs, into its cache, so ``check`` then
``dedup`` decodes each image once. Captions are read as bytes to catch encodings. The step count and
bucket distribution come from the step plan (:mod:`lorakit.data.plan`), so both always agree.

Every :class:`Finding` has a severity, the affected files, a fix in plain words and, where the fix is
safe and mechanical, a ``fix_id`` that :func:`lorakit.data.health_fixes.apply_fix` carries out.
"""

from __future__ import annotations

import multiprocessing
import os
import shlex
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lorakit.data.captions import CaptionEncodingError, caption_path_for, decode_caption, read_bytes
from lorakit.data.dedup import (
    DECODE_SIDE,
    DEFAULT_THRESHOLD,
    HashCache,
    ImageHashes,
    default_workers,
    group_duplicates,
    hash_image,
)
from lorakit.data.images import ImageError, ImageInfo, describe_image, list_images, open_image
from lorakit.data.tags import normalize_tag, parse_tags
from lorakit.errors import DatasetError
from lorakit.events import PROGRESS, Emitter

ERROR, WARNING, INFO = "error", "warning", "info"
_SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
CHUNK = 32  # images per task: amortises the cost of handing work to a process
PROCESS_THRESHOLD = 256  # fewer images: threads (a process pool takes ~0.5 s to start)


@dataclass
class Finding:
    """One thing found: ``kind`` names it for machines, ``title`` and ``fix`` for people."""

    kind: str
    severity: str
    title: str
    fix: str
    files: list[str] = field(default_factory=list)
    fix_id: str | None = None
    data: dict = field(default_factory=dict)


@dataclass
class ImageCheck:
    """What the health pass learned about one image."""

    path: Path
    info: ImageInfo | None = None
    error: str | None = None
    hashes: ImageHashes | None = None
    caption: str | None = None  # None: no caption file
    caption_problem: str | None = None  # e.g. not UTF-8


@dataclass
class HealthReport:
    folder: str
    images: int
    readable: int
    findings: list[Finding] = field(default_factory=list)
    buckets: list[dict] = field(default_factory=list)
    steps: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def finding(self, kind: str) -> Finding | None:
        return next((f for f in self.findings if f.kind == kind), None)

    def to_dict(self) -> dict:
        return asdict(self) | {"ok": self.ok}

    def summary(self, command: str | None = None) -> str:
        """A readable report: one paragraph per finding, worst first.

        ``command`` is the check command a fix hint extends with ``--fix ID`` (the CLI passes the one the
        user ran, with its options); by default ``lorakit dataset check <folder>``. Every hint runs as printed.
        """
        command = command or f"lorakit dataset check {shlex.quote(self.folder)}"
        lines = [f"{self.folder}: {self.images} images, {self.readable} readable."]
        if self.steps:
            lines.append(
                f"Training plan: {self.steps['total_steps']} steps ({self.steps['steps_per_epoch']} per epoch x"
                f" {self.steps['epochs']} epochs, batch size {self.steps['batch_size']})."
            )
        if not self.findings:
            lines.append("No problems found.")
        for f in sorted(self.findings, key=lambda f: _SEVERITY_ORDER[f.severity]):
            mark = {ERROR: "✗", WARNING: "!", INFO: "·"}[f.severity]
            lines.append(f"{mark} {f.title}")
            lines += [f"    {Path(p).name}" for p in f.files[:5]]
            if len(f.files) > 5:
                lines.append(f"    ... and {len(f.files) - 5} more")
            lines.append(f"  → {f.fix}" + (f"  [{command} --fix {f.fix_id}]" if f.fix_id else ""))
        return "\n".join(lines)


def _check_one(path: Path, extension: str, known_hashes: ImageHashes | None) -> ImageCheck:
    check = ImageCheck(path)
    data = read_bytes(caption_path_for(path, extension))
    if data is not None:
        try:
            check.caption = decode_caption(data, path)
        except CaptionEncodingError as error:
            check.caption, check.caption_problem = "", error.encoding
    try:
        # A JPEG is decoded at reduced scale (still every byte, so damage is found): the checks need the
        # real size (from the header), the mode and a 64 px copy for the hashes, not every pixel.
        img = open_image(path, reduce_to=DECODE_SIDE)
    except ImageError as error:
        check.error = error.problem
        return check
    check.info = describe_image(path, img)
    if known_hashes is None:
        phash, dhash = hash_image(img)
        known_hashes = ImageHashes(phash, dhash, check.info.width, check.info.height)
    check.hashes = known_hashes
    return check


def _check_chunk(paths: list[Path], extension: str, known: list[ImageHashes | None]) -> list[ImageCheck]:
    return [_check_one(p, extension, k) for p, k in zip(paths, known, strict=True)]


def _process_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver (POSIX): children fork from a clean server that has the decoders imported, never from
    # this process's threads (a web server, a notebook). spawn elsewhere.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        context.set_forkserver_preload(["lorakit.data.health"])
    return ProcessPoolExecutor(workers, mp_context=context)


def scan_health(
    images: list[Path],
    *,
    extension: str = ".txt",
    hash_cache: HashCache | None = None,
    workers: int | None = None,
    emitter: Emitter | None = None,
) -> list[ImageCheck]:
    """Decode and examine every image in parallel.

    Large datasets use worker processes: the Python part of each image's checks holds the GIL for about
    as long as a small image takes to decode, so threads would stop scaling at two or three cores.
    """
    known = [hash_cache.get(p) if hash_cache else None for p in images]
    workers = workers or default_workers()
    chunks = [(images[i : i + CHUNK], known[i : i + CHUNK]) for i in range(0, len(images), CHUNK)]
    use_processes = len(images) >= PROCESS_THRESHOLD and workers > 1
    results: list[ImageCheck] = []
    with _process_pool(workers) if use_processes else ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(_check_chunk, paths, extension, hashes) for paths, hashes in chunks]
        for future in futures:
            results.extend(future.result())
            if emitter:
                emitter.emit(PROGRESS, done=len(results), total=len(images), unit="images", stage="checking")
    if hash_cache:
        for check, cached in zip(results, known, strict=True):
            if check.hashes and cached is None:
                hash_cache.put(check.path, check.hashes)
        hash_cache.save()
    return results


def check_dataset(
    folder: str | os.PathLike,
    *,
    resolution: int = 512,
    trigger_word: str | None = None,
    max_token_length: int = 75,
    batch_size: int = 1,
    epochs: int = 10,
    alpha_mask: bool = False,
    duplicate_threshold: int = DEFAULT_THRESHOLD,
    extension: str = ".txt",
    workers: int | None = None,
    emitter: Emitter | None = None,
) -> HealthReport:
    """Check a dataset folder (plain, or holding ``<repeats>_<name>`` subsets) and report every finding."""
    from lorakit.data import health_checks as checks

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise DatasetError(f"The dataset folder {root} does not exist.", "Check the path, or import images first.")
    images = list_images(root)
    results = scan_health(images, extension=extension, hash_cache=HashCache(root), workers=workers, emitter=emitter)
    readable = [r for r in results if r.info]
    report = HealthReport(str(root), len(images), len(readable))
    add = report.findings.extend
    if not images:
        report.findings.append(
            Finding(
                "no_images",
                ERROR,
                f"{root} has no images.",
                f"Import some with: lorakit dataset import <your images> --to {shlex.quote(str(root))}"
                " (folders, ZIP archives or PNG, JPEG, WebP, BMP, GIF, AVIF files).",
            )
        )
        return report
    add(checks.image_findings(results, resolution=resolution, alpha_mask=alpha_mask))
    add(checks.duplicate_stem_findings(images))
    add(checks.caption_findings(results, max_token_length=max_token_length, folder=root))
    if trigger_word:
        add(checks.trigger_findings(results, trigger_word))
    add(checks.tag_balance_findings(results, trigger_word))
    hashes = {r.path: r.hashes for r in readable if r.hashes}
    groups = group_duplicates(hashes, threshold=duplicate_threshold)
    if groups:
        dupes = [str(p) for g in groups for p in g.duplicates]
        report.findings.append(
            Finding(
                "near_duplicates",
                WARNING,
                f"{len(dupes)} images are near-duplicates of others ({len(groups)} groups).",
                "Duplicates make the LoRA memorise those pictures. The fix moves all but the best of each group to"
                f" the trash (restorable); to review them first, run: lorakit dataset dedup {shlex.quote(str(root))}",
                dupes,
                "trash-duplicates",
                {"groups": [g.to_dict() for g in groups]},
            )
        )
    if readable:
        checks.add_plan(report, root, results, resolution=resolution, batch_size=batch_size, epochs=epochs)
    return report


def tags_of(check: ImageCheck) -> list[str]:
    return parse_tags(check.caption or "")


def trigger_key(trigger_word: str) -> str:
    return normalize_tag(trigger_word).lower()


def common_tags(results: list[ImageCheck]) -> Counter:
    counts: Counter = Counter()
    for r in results:
        counts.update({t.lower() for t in tags_of(r)})
    return counts
