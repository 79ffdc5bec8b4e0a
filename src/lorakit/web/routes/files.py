"""Files: browse the workspace, upload in chunks, download, mkdir, rename, move, delete to trash, restore.

Every path is workspace-relative and goes through ``Workspace.resolve_inside``. Uploads are raw bytes
(``application/octet-stream``) sent in chunks to ``POST /api/files/upload?path=..&offset=..&total=..``;
a part file grows until ``total`` bytes arrived, then takes the final name. An interrupted upload goes
on from ``GET /api/files/upload?path=..`` (the bytes received so far).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from lorakit.jobs.params import ImportParams
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing
from lorakit.web.errors import ApiError
from lorakit.workspace import FOLDERS, Workspace

router = APIRouter(prefix="/api/files", tags=["files"])

CHUNK_LIMIT = 64 * 1024 * 1024  # one request's body; bigger files come in several chunks
PART_SUFFIX = ".upload"
KINDS = {
    "image": {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".avif", ".heic", ".jxl"},
    "model": {".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".gguf", ".onnx"},
    "text": {".txt", ".caption", ".toml", ".json", ".md", ".csv", ".yaml", ".yml", ".jsonl"},
    "archive": {".zip"},
    "video": {".mp4", ".webm", ".mov", ".mkv"},
}
# lorakit's own files at the workspace root: shown only with hidden=true.
INTERNAL = {"lorakit.db", "lorakit.db-wal", "lorakit.db-shm", "lorakit.db-journal", "settings.toml"}
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


class TrashEntry(BaseModel):
    id: str
    original_path: str
    trashed_at: float
    name: str
    is_dir: bool


ImportBody = ImportParams  # the import job's parameters, declared once in lorakit.jobs.params


def _kind(path: Path, is_dir: bool) -> str:
    if is_dir:
        return "folder"
    suffix = path.suffix.lower()
    return next((kind for kind, suffixes in KINDS.items() if suffix in suffixes), "file")


def _entry(workspace: Workspace, path: Path) -> Entry:
    """A file or folder by its own name (a link keeps its name); ValueError for a link leading outside."""
    workspace.relative(path)  # raises ValueError when it resolves outside the workspace
    stat = path.stat()
    is_dir = path.is_dir()
    parent = workspace.relative(path.parent) if path != workspace.root else ""
    return Entry(
        name=path.name,
        path=f"{parent}/{path.name}" if parent else ("" if path == workspace.root else path.name),
        is_dir=is_dir,
        size=0 if is_dir else stat.st_size,
        modified=stat.st_mtime,
        kind=_kind(path, is_dir),
    )


def _refuse_internal(workspace: Workspace, path: Path) -> None:
    # settings.toml may hold the server token and the database holds every job: never served or changed here.
    if path.parent == workspace.root and path.name in INTERNAL:
        raise ApiError("forbidden", f"{path.name} is lorakit's own file.", "Change settings on the Settings page.")


def _changeable(workspace: Workspace, rel_path: str) -> Path:
    """A path the user may rename, move or delete: not the root, not a top-level folder, not in the trash."""
    path = existing(workspace, rel_path)
    name = PurePosixPath(rel_path).name
    link = workspace.resolve_inside(str(PurePosixPath(rel_path).parent)) / name if name else path
    if link.is_symlink():
        path = link  # rename, move or trash the link itself, never what it points at
    _refuse_internal(workspace, path)
    if path == workspace.root:
        rel = ""
    else:
        parent = workspace.relative(path.parent)
        rel = f"{parent}/{path.name}" if parent else path.name
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
    folder = existing(workspace, path)
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
            except (OSError, ValueError):  # a broken link, or one leading outside: not shown
                continue
    entries.sort(key=lambda e: (not e.is_dir, e.name.lower()))
    return Listing(path=workspace.relative(folder), entries=entries)


@router.get("/download", summary="Download a file", response_class=FileResponse)
def download(workspace: WorkspaceDep, path: str = PathQuery) -> FileResponse:
    target = existing(workspace, path)
    _refuse_internal(workspace, target)
    if not target.is_file():
        raise ApiError("not_a_file", f"{path!r} is a folder.", "List it instead.", field="path")
    return FileResponse(target, filename=target.name)


@router.post("/mkdir", response_model=Entry, status_code=201, summary="Make a folder")
def make_folder(body: PathBody, workspace: WorkspaceDep) -> Entry:
    target = workspace.resolve_inside(body.path)
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
    workspace.resolve_inside(f"{parent}/{body.name}" if parent else body.name)
    if target.exists():
        raise ApiError("conflict", f"{body.name!r} already exists there.", "Choose another name.", field="name")
    source.rename(target)
    return _entry(workspace, target)


@router.post("/move", response_model=list[Entry], summary="Move files or folders into a folder")
def move(body: MoveBody, workspace: WorkspaceDep) -> list[Entry]:
    folder = existing(workspace, body.to, field="to")
    if not folder.is_dir():
        raise ApiError("not_a_folder", f"{body.to!r} is not a folder.", "Move into a folder.", field="to")
    sources = [_changeable(workspace, p) for p in body.paths]
    for source in sources:
        if folder == source or folder.is_relative_to(source):
            raise ApiError("invalid", f"Cannot move {source.name!r} into itself.", "Pick another folder.", field="to")
        if (folder / source.name).exists():
            raise ApiError("conflict", f"{source.name!r} already exists in {body.to!r}.", "Rename one of them first.")
    moved = []
    for source in sources:
        shutil.move(str(source), str(folder / source.name))
        moved.append(_entry(workspace, folder / source.name))
    return moved


@router.post("/delete", response_model=list[TrashEntry], summary="Move files or folders to the trash")
def delete(body: PathsBody, workspace: WorkspaceDep) -> list[TrashEntry]:
    from lorakit.trash import Trash

    trash = Trash(workspace.trash)
    sources = [_changeable(workspace, p) for p in body.paths]
    return [_trash_entry(workspace, trash.move(source)) for source in sources]


def _trash_entry(workspace: Workspace, item) -> TrashEntry:
    try:
        original = Path(item.original_path).relative_to(workspace.root).as_posix()
    except ValueError:
        original = item.name
    return TrashEntry(
        id=item.id, original_path=original, trashed_at=item.trashed_at, name=item.name, is_dir=item.is_dir
    )


@router.get("/trash", response_model=list[TrashEntry], summary="What is in the trash, newest first")
def list_trash(workspace: WorkspaceDep) -> list[TrashEntry]:
    from lorakit.trash import Trash

    return [_trash_entry(workspace, item) for item in Trash(workspace.trash).list()]


@router.post("/trash/{item_id}/restore", response_model=Entry, summary="Put a trashed item back")
def restore(item_id: str, workspace: WorkspaceDep) -> Entry:
    from lorakit.trash import Trash

    trash = Trash(workspace.trash)
    item = trash.get(item_id)
    # The manifest lives inside the workspace, but check where it sends the file back to anyway.
    target = workspace.resolve_inside(_trash_entry(workspace, item).original_path)
    return _entry(workspace, trash.restore(item_id, target))


@router.get("/upload", response_model=UploadState, summary="How much of an upload has arrived")
def upload_state(workspace: WorkspaceDep, path: str = PathQuery) -> UploadState:
    target = workspace.resolve_inside(path)
    part = target.with_name(target.name + PART_SUFFIX)
    if target.exists() and not part.exists():
        return UploadState(path=path, received=target.stat().st_size, total=target.stat().st_size, complete=True)
    return UploadState(path=path, received=part.stat().st_size if part.exists() else 0, complete=False)


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
    if target.is_dir() or (target.exists() and not overwrite):
        raise ApiError("conflict", f"{path!r} already exists.", "Upload under another name, or pass overwrite=true.")
    if target.parent == workspace.root or workspace.relative(target).startswith(("trash/", "jobs/")):
        raise ApiError("forbidden", "Files go into a folder such as datasets/ or models/.", "Pick a folder first.")
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    have = part.stat().st_size if part.exists() else 0
    if offset not in (0, have):
        raise ApiError("conflict", f"The upload has {have} bytes so far, not {offset}.", f"Send from offset {have}.")
    room = min(CHUNK_LIMIT, total - offset)
    received = 0
    with open(part, "wb" if offset == 0 else "r+b") as f:
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


@router.post("/import", status_code=201, summary="Import folders, ZIP files or images into a dataset (a job)")
def import_files(body: ImportBody, workspace: WorkspaceDep, runner: RunnerDep):
    for source in body.sources:
        existing(workspace, source, field="sources")
    workspace.resolve_inside(body.to)
    return runner.submit("import", {"sources": body.sources, "to": body.to}, title=f"Import into {body.to}")
