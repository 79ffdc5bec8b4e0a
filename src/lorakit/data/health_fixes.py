"""One-call fixes for the safe health findings (``apply_fix(folder, fix_id)``).

Every fix can be taken back: caption changes go through the undo journal, replaced or removed images
go to the dataset's restorable trash (``<dataset>/.lorakit/trash``) first.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.captions import caption_path_for, guess_encoding, read_bytes, version_of
from lorakit.data.health import HealthReport, check_dataset
from lorakit.data.journal import Journal
from lorakit.errors import DatasetError
from lorakit.trash import Trash

TRASH_FOLDER = Path(".lorakit") / "trash"
FIX_IDS = (
    "trash-unreadable",
    "to-rgb",
    "rename-duplicate-stems",
    "create-empty-captions",
    "captions-to-utf8",
    "add-trigger-word",
    "trash-duplicates",
)


@dataclass
class FixResult:
    fix_id: str
    changed: list[str] = field(default_factory=list)
    journal_id: str | None = None  # undo caption changes with Journal(folder).undo()
    trashed: list[str] = field(default_factory=list)  # trash item ids (restorable)
    message: str = ""

    def to_dict(self) -> dict:
        return vars(self).copy()


def dataset_trash(folder: str | os.PathLike) -> Trash:
    """The restorable trash of a dataset folder."""
    return Trash(Path(folder) / TRASH_FOLDER)


def apply_fix(
    folder: str | os.PathLike,
    fix_id: str,
    *,
    report: HealthReport | None = None,
    trigger_word: str | None = None,
    empty_caption_text: str = "",
    trash: Trash | None = None,
) -> FixResult:
    """Carry out one safe fix named by a finding's ``fix_id`` (checks the dataset first unless given a report).

    Trashed files go to ``trash``, by default the dataset's own (:func:`dataset_trash`)."""
    if fix_id not in FIX_IDS:
        raise DatasetError(f"There is no fix called {fix_id!r}.", f"Use one of: {', '.join(FIX_IDS)}.")
    root = Path(folder).expanduser()
    report = report or check_dataset(root, trigger_word=trigger_word)
    kinds = {
        "trash-unreadable": ["unreadable"],
        "to-rgb": ["cmyk", "16bit"],
        "rename-duplicate-stems": ["duplicate_stems"],
        "create-empty-captions": ["missing_captions"],
        "captions-to-utf8": ["caption_encoding"],
        "add-trigger-word": ["trigger_missing", "trigger_not_first"],
        "trash-duplicates": ["near_duplicates"],
    }[fix_id]
    findings = [f for f in report.findings if f.kind in kinds]
    files = [Path(p) for f in findings for p in f.files]
    result = FixResult(fix_id)
    if not files:
        result.message = "Nothing to fix."
        return result
    trash = trash if trash is not None else dataset_trash(root)
    journal = Journal(root)
    if fix_id == "trash-unreadable":
        result.trashed = [trash.move(p).id for p in files if p.exists()]
        result.changed = [str(p) for p in files]
    elif fix_id == "to-rgb":
        for path in files:
            result.trashed.append(_convert_to_rgb(path, trash))
            result.changed.append(str(path))
    elif fix_id == "rename-duplicate-stems":
        result.changed = [str(_rename_stem(p)) for p in files]
    elif fix_id == "create-empty-captions":
        texts = {caption_path_for(p): empty_caption_text for p in files}
        _journaled(result, journal.write("create empty captions", texts, dict.fromkeys(texts, version_of(None))))
    elif fix_id == "captions-to-utf8":
        texts, versions = {}, {}
        for path in files:
            caption = caption_path_for(path)
            data = read_bytes(caption) or b""
            texts[caption] = data.decode(guess_encoding(data)).lstrip("\ufeff")
            versions[caption] = version_of(data)
        _journaled(result, journal.write("convert captions to UTF-8", texts, versions))
    elif fix_id == "add-trigger-word":
        from lorakit.data.tags import TagEdit, edit_captions

        word = trigger_word or findings[0].data.get("trigger_word")
        edit = edit_captions(root, files, TagEdit("trigger", tags=[word]), create_missing=False)
        _journaled(result, edit.result)
    elif fix_id == "trash-duplicates":
        from lorakit.data.dedup import DuplicateGroup, remove_duplicates

        groups = [
            DuplicateGroup(Path(g["keeper"]), [Path(p) for p in g["duplicates"]], g["distance"])
            for g in findings[0].data["groups"]
        ]
        result.trashed = [item.id for item in remove_duplicates(groups, trash)]
        result.changed = [str(p) for g in groups for p in g.duplicates]
    result.message = f"Fixed {len(result.changed)} files."
    return result


def _journaled(result: FixResult, edit) -> None:
    result.changed = [str(p) for p in edit.changed]
    result.journal_id = edit.entry.id if edit.entry else None


def _convert_to_rgb(path: Path, trash: Trash) -> str:
    """Re-save as 8-bit RGB in the same format; the original goes to the trash first."""
    from lorakit.data.images import open_image, to_rgb

    img = to_rgb(open_image(path))
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".bmp": "BMP"}.get(path.suffix.lower())
    target = path if fmt else path.with_suffix(".png")
    tmp = path.with_name(f".{path.name}.converting")
    img.save(tmp, format=fmt or "PNG", **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    item = trash.move(path)
    os.replace(tmp, target)
    return item.id


def _rename_stem(path: Path) -> Path:
    """Give ``path`` an unused stem, with its own copy of the shared caption."""
    n = 2
    while any(path.parent.glob(f"{path.stem}_{n}.*")):
        n += 1
    new = path.with_name(f"{path.stem}_{n}{path.suffix}")
    caption = caption_path_for(path)
    if caption.exists():
        shutil.copy2(caption, caption_path_for(new))
    path.rename(new)
    return new
