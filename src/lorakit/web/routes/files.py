"""Files: browse the workspace, upload in chunks, download, mkdir, rename, move, delete to trash, restore.

Every path is workspace-relative and goes through ``Workspace.user_path`` (inside the workspace, not one of
lorakit's own files: the database, settings, trash, jobs, ``.lorakit`` folders); files are opened with
``lorakit.fileio.open_inside`` (a link leading outside, a fifo or a device is refused on the open file).
Links are listed only when they lead inside the workspace. Uploads are raw bytes
(``application/octet-stream``) sent in chunks to ``POST /api/files/upload?path=..&offset=..&total=..``;
a part file grows until ``total`` bytes arrived, then takes the final name. An interrupted upload goes
on from ``GET /api/files/upload?path=..`` (the bytes received so far), after the client compared some of
them with its file (``POST /api/files/upload/check``: its first and last MiB), so a part left by another
file of the same name, or damaged, is started again rather than completed with the wrong bytes.
``POST /api/files/trash/empty`` deletes what the trash holds for good (nothing else).
"""

from __future__ import annotations

import logging
import mimetypes
import os
import shutil
import stat
import time
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from lorakit.data.health_fixes import TRASH_FOLDER as DATASET_TRASH
from lorakit.errors import LorakitError, PathError
from lorakit.fileio import is_inside, open_inside
from lorakit.jobs.params import ImportParams
from lorakit.trash import Trash, TrashItem
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing
from lorakit.web.errors import ApiError
from lorakit.workspace import FOLDERS, INTERNAL_FILES, Workspace, is_internal_name

router = APIRouter(prefix="/api/files", tags=["files"])
log = logging.getLogger("lorakit.web")

CHUNK_LIMIT = 64 * 1024 * 1024  # one request's body; bigger files come in several chunks
CHECK_LIMIT = 4 * 1024 * 1024  # the bytes one upload check compares
PART_SUFFIX = ".upload"
KINDS = {
    "image": {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".avif", ".heic", ".jxl"},
    "model": {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx"},
    "text": {".txt", ".caption", ".toml", ".json", ".md", ".csv", ".yaml", ".yml", ".jsonl"},
    "archive": {".zip"},
    "video": {".mp4", ".webm", ".mov", ".mkv"},
}
# lorakit's own files at the workspace root: shown only with hidden=true (never served or changed).
INTERNAL = INTERNAL_FILES
PathQuery = Query("", max_length=4096, description="Workspace-relative path, e.g. datasets/my-set")


class Entry(BaseModel):
    name: str
    path: str
    is_dir: bool
    size: int
    modified: float
    kind: str


class Listing(BaseModel):
    path: str
    entries: list[Entry]


class PathBody(BaseModel):
    path: str = Field(max_length=4096)


class RenameBody(BaseModel):
    path: str = Field(max_length=4096)
    name: str = Field(min_length=1, max_length=255, description="The new name (no folders).")


class MoveBody(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=10_000)
    to: str = Field(max_length=4096, description="The folder to move them into.")


class PathsBody(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=10_000)


class UploadState(BaseModel):
    path: str
    received: int
    total: int | None = None
    complete: bool


class UploadCheck(BaseModel):
    path: str
    received: int = Field(description="The bytes the upload's part file holds.")
    matches: bool = Field(description="Whether the bytes sent equal the part file's bytes at that offset.")


class TrashEntry(BaseModel):
    id: str
    original_path: str
    trashed_at: float
    name: str
    is_dir: bool
    trash: str = Field(
        "",
        description="Which trash holds it: '' for the workspace's, or the dataset folder (datasets/cats) whose "
        "own trash holds files that command-line fixes (lorakit dataset check --fix, dedup --remove) set aside. "
        "Pass it back to restore.",
    )


ImportBody = ImportParams  # the import job's parameters, declared once in lorakit.jobs.params


def _kind(path: Path, is_dir: bool) -> str:
    if is_dir:
        return "folder"
    suffix = path.suffix.lower()
    return next((kind for kind, suffixes in KINDS.items() if suffix in suffixes), "file")


def _entry(workspace: Workspace, path: Path) -> Entry:
    """A file or folder by its own name (a link keeps its name); ValueError for a link leading outside."""
    if not workspace.contains(path):
        raise ValueError(f"{path.name} leads outside the workspace")
    st = path.stat()
    is_dir = stat.S_ISDIR(st.st_mode)
    parent = workspace.relative(path.parent) if path != workspace.root else ""
    return Entry(
        name=path.name,
        path=f"{parent}/{path.name}" if parent else ("" if path == workspace.root else path.name),
        is_dir=is_dir,
        size=0 if is_dir else st.st_size,
        modified=st.st_mtime,
        kind=_kind(path, is_dir),
    )


def _refuse_internal(workspace: Workspace, path: Path, rel: str | None = None) -> None:
    # settings.toml may hold the server token, the database holds every job, the trash manifest and the
    # journals say what to write where: never served or changed here (by its own name or where it leads).
    if workspace.is_internal(path) or (rel is not None and is_internal_name(rel)):
        raise ApiError(
            "forbidden",
            f"{path.name} is one of lorakit's own files or folders.",
            "Use the Settings, Jobs or Trash pages for those.",
            field="path",
        )


def _changeable(workspace: Workspace, rel_path: str) -> Path:
    """A path the user may rename, move or delete: not the root, not a top-level folder, not in the trash."""
    path = existing(workspace, rel_path, internal_ok=True)  # a link to an internal file may go; checked below
    name = PurePosixPath(rel_path).name
    link = workspace.resolve_inside(str(PurePosixPath(rel_path).parent)) / name if name else path
    if link.is_symlink():
        path = link  # rename, move or trash the link itself, never what it points at
    if path == workspace.root:
        rel = ""
    else:
        parent = workspace.relative(path.parent)
        rel = f"{parent}/{path.name}" if parent else path.name
    _refuse_internal(workspace, path.parent if path.is_symlink() else path, rel)
    if rel in ("", "jobs", "models", *FOLDERS) or rel.startswith(("trash/", "jobs/")):
        raise ApiError(
            "forbidden",
            f"{rel or 'The workspace'} is part of the workspace's layout and cannot be changed here.",
            "Change the files inside it instead; restore trashed files with the trash's restore.",
            field="path",
        )
    return path


@router.get("", response_model=Listing, summary="List a folder")
def list_folder(workspace: WorkspaceDep, path: str = PathQuery, hidden: bool = False) -> Listing:
    folder = existing(workspace, path, internal_ok=True)  # names only: the trash and job folders can be listed
    if not folder.is_dir():
        raise ApiError("not_a_folder", f"{path!r} is a file, not a folder.", "Download it instead.", field="path")
    entries = []
    with os.scandir(folder) as it:
        for item in it:
            internal = folder == workspace.root and item.name in INTERNAL
            if not hidden and (item.name.startswith(".") or item.name.endswith(PART_SUFFIX) or internal):
                continue
            try:
                entries.append(_entry(workspace, Path(item.path)))
            except (OSError, ValueError, RuntimeError):  # a broken link, a loop, one leading outside: not shown
                continue
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    return Listing(path=workspace.relative(folder), entries=entries)


def _stream(fd: int):
    with os.fdopen(fd, "rb") as f:
        while chunk := f.read(1 << 20):
            yield chunk


@router.get("/download", summary="Download a file", response_class=StreamingResponse)
def download(workspace: WorkspaceDep, path: str = PathQuery) -> StreamingResponse:
    target = existing(workspace, path)
    _refuse_internal(workspace, target, path)
    if target.is_dir():
        raise ApiError("not_a_file", f"{path!r} is a folder.", "List it instead.", field="path")
    # Served from the descriptor checked after opening: a link swapped in meanwhile is not followed out.
    fd = open_inside(target, workspace.root)
    size = os.fstat(fd).st_size
    headers = {
        "Content-Length": str(size),
        "Content-Disposition": f"attachment; filename*=utf-8''{quote(target.name)}",
    }
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return StreamingResponse(_stream(fd), media_type=media, headers=headers)


@router.post("/mkdir", response_model=Entry, status_code=201, summary="Make a folder")
def make_folder(body: PathBody, workspace: WorkspaceDep) -> Entry:
    target = workspace.resolve_inside(body.path)
    _refuse_internal(workspace, target, body.path)
    if target.exists() and not target.is_dir():
        raise ApiError("conflict", f"A file named {target.name!r} is already there.", "Choose another name.")
    target.mkdir(parents=True, exist_ok=True)
    return _entry(workspace, target)


def _check_name(name: str) -> str:
    if name in (".", "..") or any(c in name for c in "/\\\0") or name != name.strip():
        raise ApiError(
            "invalid", f"{name!r} cannot be a file name.", "Use a plain name without slashes.", field="name"
        )
    return name


@router.post("/rename", response_model=Entry, summary="Rename a file or folder")
def rename(body: RenameBody, workspace: WorkspaceDep) -> Entry:
    source = _changeable(workspace, body.path)
    target = source.parent / _check_name(body.name)
    parent = workspace.relative(source.parent)
    new_rel = f"{parent}/{body.name}" if parent else body.name
    _refuse_internal(workspace, workspace.resolve_inside(new_rel), new_rel)
    if target.exists() or target.is_symlink():
        raise ApiError("conflict", f"{body.name!r} already exists there.", "Choose another name.", field="name")
    source.rename(target)
    return _entry(workspace, target)


@router.post("/move", response_model=list[Entry], summary="Move files or folders into a folder")
def move(body: MoveBody, workspace: WorkspaceDep) -> list[Entry]:
    folder = existing(workspace, body.to, field="to")
    _refuse_internal(workspace, folder, body.to)
    if not folder.is_dir():
        raise ApiError("not_a_folder", f"{body.to!r} is not a folder.", "Move into a folder.", field="to")
    sources = [_changeable(workspace, p) for p in body.paths]
    for source in sources:
        where = workspace.relative(folder)
        _refuse_internal(workspace, folder / source.name, f"{where}/{source.name}" if where else source.name)
        if folder == source or folder.is_relative_to(source):
            raise ApiError("invalid", f"Cannot move {source.name!r} into itself.", "Pick another folder.", field="to")
        if (folder / source.name).exists() or (folder / source.name).is_symlink():
            raise ApiError("conflict", f"{source.name!r} already exists in {body.to!r}.", "Rename one of them first.")
    moved = []
    for source in sources:
        shutil.move(str(source), str(folder / source.name))
        moved.append(_entry(workspace, folder / source.name))
    return moved


@router.post("/delete", response_model=list[TrashEntry], summary="Move files or folders to the trash")
def delete(body: PathsBody, workspace: WorkspaceDep) -> list[TrashEntry]:
    trash = Trash(workspace.trash, workspace.root)
    sources = [_changeable(workspace, p) for p in body.paths]
    return [_trash_entry(workspace, trash.move(source)) for source in sources]


def _trash_entry(workspace: Workspace, item: TrashItem, where: str = "") -> TrashEntry:
    try:
        original = Path(item.original_path).relative_to(workspace.root).as_posix()
    except ValueError:
        original = item.name
    return TrashEntry(
        id=item.id,
        original_path=original,
        trashed_at=item.trashed_at,
        name=item.name,
        is_dir=item.is_dir,
        trash=where,
    )


def _dataset_trash(workspace: Workspace, dataset: Path) -> Trash | None:
    """A dataset's own trash (``<dataset>/.lorakit/trash``, where CLI fixes and dedup put files) if any.

    Its records may only send files back into that dataset (the Trash's root); a ``.lorakit`` or ``trash``
    folder that is a link is not used.
    """
    own = dataset / DATASET_TRASH
    if dataset.is_symlink() or not workspace.contains(dataset) or not (own / "manifest.json").is_file():
        return None
    if any(p.is_symlink() for p in (own.parent, own, own / "manifest.json")):
        return None
    try:
        return Trash(own, dataset.resolve())
    except LorakitError:
        return None


def _trashes(workspace: Workspace) -> list[tuple[str, Trash]]:
    """Every trash the Files page shows: the workspace's, then each dataset's own."""
    found = [("", Trash(workspace.trash, workspace.root))]
    if workspace.datasets.is_dir() and workspace.contains(workspace.datasets):
        for folder in sorted(p for p in workspace.datasets.iterdir() if p.is_dir() and not p.name.startswith(".")):
            trash = _dataset_trash(workspace, folder)
            if trash is not None:
                found.append((f"datasets/{folder.name}", trash))
    return found


def _trash_named(workspace: Workspace, where: str) -> Trash:
    if where == "":
        return Trash(workspace.trash, workspace.root)
    name = where.removeprefix("datasets/")
    trash = None
    if where.startswith("datasets/") and name and "/" not in name and name not in (".", ".."):
        trash = _dataset_trash(workspace, workspace.resolve_inside(f"datasets/{name}"))
    if trash is None:
        raise ApiError(
            "not_found",
            f"There is no trash for {where!r}.",
            "Use the trash field of an entry from the trash list ('' or datasets/<name>).",
            field="trash",
        )
    return trash


@router.get("/trash", response_model=list[TrashEntry], summary="What is in the trash, newest first")
def list_trash(workspace: WorkspaceDep) -> list[TrashEntry]:
    """The workspace's trash and every dataset's own trash (where command-line fixes put files), newest first."""
    entries = []
    for where, trash in _trashes(workspace):
        try:
            entries += [_trash_entry(workspace, item, where) for item in trash.list()]
        except (OSError, ValueError, LorakitError):  # an unreadable dataset manifest hides that trash only
            if where == "":
                raise
            log.warning("the trash of %s cannot be read; left out of the trash list", where)
    entries.sort(key=lambda e: e.trashed_at, reverse=True)
    return entries


@router.post("/trash/{item_id}/restore", response_model=Entry, summary="Put a trashed item back")
def restore(
    item_id: str,
    workspace: WorkspaceDep,
    trash: str = Query("", max_length=300, description="The entry's trash field ('' = the workspace's)."),
) -> Entry:
    holder = _trash_named(workspace, trash)
    try:
        item = holder.get(item_id)  # only records that pass the manifest's checks (plain id and name, inside)
    except PathError as error:
        raise ApiError(
            "not_found", error.problem, "Reload the trash list: it may have been restored already."
        ) from None
    # The manifest lives where the Files API cannot write, but check where it sends the file back to anyway.
    original = _trash_entry(workspace, item).original_path
    target = workspace.resolve_inside(original)
    _refuse_internal(workspace, target, original)
    return _entry(workspace, holder.restore(item_id, target))


@router.post("/trash/empty", response_model=list[TrashEntry], summary="Delete what is in the trash, for good")
def empty_trash(
    workspace: WorkspaceDep,
    trash: str | None = Query(
        None, max_length=300, description="Only this trash ('' = the workspace's, datasets/<name>); all when left out."
    ),
) -> list[TrashEntry]:
    """Deletes the trashed files and folders (what the trash list shows), and nothing else: only the items'
    own folders inside a trash's ``items`` folder, never through a link. Returns what was deleted."""
    holders = _trashes(workspace) if trash is None else [(trash, _trash_named(workspace, trash))]
    removed: list[TrashEntry] = []
    for where, holder in holders:
        items = holder.folder / "items"
        if items.is_symlink() or not is_inside(os.path.realpath(items), os.path.realpath(holder.folder)):
            log.warning("the trash of %s was not emptied: its items folder is a link", where or "the workspace")
            continue
        try:
            removed += [_trash_entry(workspace, item, where) for item in holder.empty()]
        except (OSError, ValueError, LorakitError):  # an unreadable dataset manifest leaves that trash alone
            if where == "":
                raise
            log.warning("the trash of %s cannot be read; it was not emptied", where)
    return removed


@router.get("/upload", response_model=UploadState, summary="How much of an upload has arrived")
def upload_state(workspace: WorkspaceDep, path: str = PathQuery) -> UploadState:
    target = workspace.resolve_inside(path)
    _refuse_internal(workspace, target, path)
    part = target.with_name(target.name + PART_SUFFIX)
    received = _part_size(part)
    if target.exists() and received is None:
        return UploadState(path=path, received=target.stat().st_size, total=target.stat().st_size, complete=True)
    return UploadState(path=path, received=received or 0, complete=False)


def _part_size(part: Path) -> int | None:
    """The bytes in an upload's part file (None when there is none); a link or a special file is refused."""
    try:
        st = os.lstat(part)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise ApiError(
            "forbidden",
            f"The upload's part file {part.name} is a link or a special file.",
            "Delete it, then upload again.",
            field="path",
        )
    return st.st_size


@router.post(
    "/upload",
    response_model=UploadState,
    summary="Upload one chunk of a file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_chunk(
    request: Request,
    workspace: WorkspaceDep,
    path: str = Query(..., min_length=1, max_length=4096),
    offset: int = Query(0, ge=0),
    total: int = Query(..., ge=0, description="The whole file's size in bytes."),
    overwrite: bool = False,
) -> UploadState:
    limit = workspace.settings.max_upload_mb * 1024 * 1024
    if total > limit:
        raise ApiError(
            "too_large",
            f"The file is {total / 2**20:.0f} MiB; uploads are limited to {limit // 2**20} MiB.",
            "Raise max_upload_mb in the settings, or copy the file into the workspace folder directly.",
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > min(CHUNK_LIMIT, total - offset):
        raise ApiError(
            "too_large", "This chunk is larger than allowed.", f"Send chunks of at most {CHUNK_LIMIT} bytes."
        )
    target = workspace.resolve_inside(path)
    _refuse_internal(workspace, target, path)
    if target.is_dir() or (target.exists() and not overwrite):
        raise ApiError("conflict", f"{path!r} already exists.", "Upload under another name, or pass overwrite=true.")
    if target.exists() and not target.is_file():
        raise ApiError("forbidden", f"{path!r} is a special file.", "Upload under another name.", field="path")
    if target.parent == workspace.root:
        raise ApiError("forbidden", "Files go into a folder such as datasets/ or models/.", "Pick a folder first.")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    have = _part_size(part) or 0
    if offset not in (0, have):
        raise ApiError("conflict", f"The upload has {have} bytes so far, not {offset}.", f"Send from offset {have}.")
    room = min(CHUNK_LIMIT, total - offset)
    received = 0
    # The part file itself is never a link (not even one inside), checked on the open file.
    fd = open_inside(part, workspace.root, write=True, create=True, follow=False)
    with os.fdopen(fd, "wb") as f:
        f.truncate(offset)
        f.seek(offset)
        async for chunk in request.stream():
            received += len(chunk)
            if received > room:
                f.truncate(offset)
                raise ApiError("too_large", "More bytes arrived than the upload's total.", "Check the total you send.")
            f.write(chunk)
        f.truncate(offset + received)
    size = offset + received
    if size == total:
        os.replace(part, target)
        os.utime(target, (time.time(), time.time()))
        return UploadState(path=workspace.relative(target), received=size, total=total, complete=True)
    return UploadState(path=workspace.relative(target), received=size, total=total, complete=False)


@router.post(
    "/upload/check",
    response_model=UploadCheck,
    summary="Compare bytes of your file with what an interrupted upload received",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def upload_check(
    request: Request,
    workspace: WorkspaceDep,
    path: str = Query(..., min_length=1, max_length=4096),
    offset: int = Query(0, ge=0, description="Where in the file the bytes sent begin."),
) -> UploadCheck:
    """Before going on with an interrupted upload, send some of the bytes the server should already hold (the
    first and last MiB, say): ``matches`` false means the part file holds something else (another file of
    that name, or damaged bytes), and the upload should start again from offset 0, which replaces it."""
    target = workspace.resolve_inside(path)
    _refuse_internal(workspace, target, path)
    part = target.with_name(target.name + PART_SUFFIX)
    have = _part_size(part)
    if have is None:
        raise ApiError("not_found", f"No upload of {path!r} is under way.", "Start it from offset 0.", field="path")
    expected = bytearray()
    async for chunk in request.stream():
        expected += chunk
        if len(expected) > CHECK_LIMIT:
            raise ApiError("too_large", "Too many bytes to compare.", f"Send at most {CHECK_LIMIT} bytes.")
    matches = offset + len(expected) <= have
    if matches and expected:
        fd = open_inside(part, workspace.root, follow=False)
        with os.fdopen(fd, "rb") as f:
            f.seek(offset)
            matches = f.read(len(expected)) == expected
    return UploadCheck(path=workspace.relative(target), received=have, matches=matches)


@router.post("/import", status_code=201, summary="Import folders, ZIP files or images into a dataset (a job)")
def import_files(body: ImportBody, workspace: WorkspaceDep, runner: RunnerDep):
    from lorakit.data.importer import unsafe_zip_entries

    for source in body.sources:
        path = existing(workspace, source, field="sources")
        unsafe = unsafe_zip_entries(path) if path.is_file() and zipfile.is_zipfile(path) else []
        if unsafe:
            shown = ", ".join(repr(name) for name in unsafe[:3]) + (
                f" and {len(unsafe) - 3} more" if len(unsafe) > 3 else ""
            )
            raise ApiError(
                "unsafe_archive",
                f"{path.name} was not imported: {len(unsafe)} of its entries would land outside the dataset folder "
                f"or are links ({shown}). A ZIP like this can overwrite other files, so lorakit refuses it whole.",
                "Make the ZIP again from a plain folder of images (zip tools do this by default), then upload it.",
                field="sources",
            )
    workspace.resolve_inside(body.to)
    return runner.submit("import", {"sources": body.sources, "to": body.to}, title=f"Import into {body.to}")
