"""Datasets: list, images paged with thumbnails, captions with versions, bulk tag edits with undo.

A dataset folder that is a link leading outside the workspace is not listed (logged once); captions are
read and written only inside their dataset (``read_caption(..., inside=root)``, the journal's checks).
"""

from __future__ import annotations

import os
from typing import Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from lorakit.fileio import open_inside
from lorakit.jobs.params import CaptionOptions, DedupOptions, HealthOptions, TagOptions
from lorakit.web.deps import RunnerDep, WorkspaceDep
from lorakit.web.errors import ApiError
from lorakit.web.thumbnails import ImageListing, thumbnail
from lorakit.workspace import warn_outside_once

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


class DatasetOut(BaseModel):
    name: str
    path: str
    images: int


class ImageItem(BaseModel):
    path: str = Field(description="Relative to the dataset folder.")
    caption: str | None
    version: str = Field(description="The caption's version: send it back when saving (or 'missing').")
    caption_error: str | None = None


class ImagePage(BaseModel):
    dataset: str
    total: int
    offset: int
    items: list[ImageItem]


class CaptionOut(BaseModel):
    path: str
    text: str
    version: str


class CaptionIn(BaseModel):
    text: str = Field(max_length=100_000)
    version: str | None = Field(None, max_length=64, description="The version you read ('missing' for a new caption).")


class TagEditIn(BaseModel):
    action: str = Field(description="add, remove, replace, trigger, dedupe, sort, front, regex, set or normalize.")
    tags: list[str] = Field(default_factory=list, max_length=1000)
    mapping: dict[str, str] = Field(default_factory=dict)
    front: bool = False
    keep_first: int = Field(0, ge=0, le=1000)
    by_frequency: bool = False
    pattern: str = Field("", max_length=1000)
    replacement: str = Field("", max_length=1000)
    text: str = Field("", max_length=100_000)
    paths: list[str] | None = Field(None, max_length=100_000, description="Only these images (dataset-relative).")
    all_of: list[str] = Field(default_factory=list)
    any_of: list[str] = Field(default_factory=list)
    none_of: list[str] = Field(default_factory=list)


class UndoIn(BaseModel):
    count: int = Field(1, ge=1, le=100)
    force: bool = Field(False, description="Undo even captions changed since the edit.")
    entry: str | None = Field(
        None,
        max_length=100,
        description="The journal_id of the edit to undo: refused (409) unless it is the latest (count must be 1).",
    )


def _dataset(workspace, name: str):
    if "/" in name or name in ("", ".", ".."):
        raise ApiError("invalid", f"{name!r} is not a dataset name.", "Use the folder name under datasets/.")
    root = workspace.user_path(f"datasets/{name}")
    if not root.is_dir():
        raise ApiError(
            "not_found", f"There is no dataset {name!r}.", "Create it or import images first.", field="name"
        )
    return root


def _image(workspace, name: str, rel: str):
    root = _dataset(workspace, name)
    image = workspace.user_path(f"datasets/{name}/{rel}")
    if not image.is_relative_to(root) or not image.is_file():
        raise ApiError("not_found", f"There is no image {rel!r} in {name!r}.", "Reload the image list.", field="path")
    return root, image


def _listing(request: Request) -> ImageListing:
    state = request.app.state
    if getattr(state, "image_listing", None) is None:
        state.image_listing = ImageListing()
    return state.image_listing


@router.get("", response_model=list[DatasetOut], summary="The datasets in the workspace")
def list_datasets(request: Request, workspace: WorkspaceDep) -> list[DatasetOut]:
    out = []
    if not workspace.contains(workspace.datasets):
        warn_outside_once("datasets")
        return out
    for folder in sorted(p for p in workspace.datasets.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not workspace.contains(folder):
            warn_outside_once(f"datasets/{folder.name}")
            continue
        count = len(_listing(request).images(folder))
        out.append(DatasetOut(name=folder.name, path=workspace.relative(folder), images=count))
    return out


@router.get("/{name}/images", response_model=ImagePage, summary="A page of images with their captions")
def images_page(
    name: str,
    request: Request,
    workspace: WorkspaceDep,
    offset: int = Query(0, ge=0),
    limit: int = Query(200, ge=1, le=1000),
) -> ImagePage:
    from lorakit.data.captions import read_caption

    root = _dataset(workspace, name)
    entries = _listing(request).entries(root)
    items = []
    for rel, caption_path in entries[offset : offset + limit]:
        try:
            caption = read_caption(caption_path, inside=root)
            text = caption.text if caption.exists else None
            items.append({"path": rel, "caption": text, "version": caption.version, "caption_error": None})
        except Exception as error:  # one unreadable caption must not hide the page
            items.append({"path": rel, "caption": None, "version": "", "caption_error": str(error)})
    # Built as plain JSON: validating 200 items again through the response model would double the time.
    return JSONResponse({"dataset": name, "total": len(entries), "offset": offset, "items": items})


@router.get("/{name}/thumbnail", summary="An image's thumbnail (WebP, cached)", response_class=FileResponse)
def image_thumbnail(name: str, workspace: WorkspaceDep, path: str = Query(..., max_length=4096)) -> FileResponse:
    root, image = _image(workspace, name, path)
    os.close(open_inside(image, root))  # a regular file of this dataset (checked on the open file)
    if not workspace.contains(workspace.thumbnails):
        raise ApiError("forbidden", "The thumbnail cache is a link leading outside the workspace.", "Delete .cache.")
    cached = thumbnail(image, workspace.thumbnails, workspace.settings.thumbnail_size)
    return FileResponse(cached, media_type="image/webp", headers={"Cache-Control": "private, max-age=86400"})


@router.get("/{name}/caption", response_model=CaptionOut, summary="An image's caption and its version (ETag)")
def get_caption(name: str, workspace: WorkspaceDep, path: str = Query(..., max_length=4096)):
    from lorakit.data.captions import caption_path_for, read_caption

    root, image = _image(workspace, name, path)
    caption = read_caption(caption_path_for(image), inside=root)
    body = CaptionOut(path=path, text=caption.text, version=caption.version)
    return JSONResponse(body.model_dump(), headers={"ETag": f'"{caption.version}"'})


@router.put(
    "/{name}/caption",
    response_model=CaptionOut,
    summary="Save an image's caption (409 if it changed since you read it)",
    responses={409: {"description": "The caption changed since it was read."}},
)
def put_caption(
    name: str,
    body: CaptionIn,
    workspace: WorkspaceDep,
    path: str = Query(..., max_length=4096),
    if_match: str | None = Header(None, max_length=100),
):
    from lorakit.data.captions import caption_path_for, read_caption
    from lorakit.data.journal import Journal

    root, image = _image(workspace, name, path)
    version = body.version or (if_match.strip().strip('"') if if_match else None)
    if not version:
        raise ApiError(
            "precondition",
            "Saving a caption needs the version you read, so another window's edit is never overwritten.",
            "Send 'version' (from GET .../caption or the image list), or an If-Match header.",
            field="version",
        )
    target = caption_path_for(image)
    result = Journal(root).write(f"edit caption {path}", {target: body.text}, {target: version})
    if result.conflicts:
        current = read_caption(target, inside=root)
        raise ApiError(
            "conflict",
            f"The caption of {path} was changed elsewhere since you opened it.",
            f"Reload it (now version {current.version}), then make your edit again.",
            field="version",
        )
    caption = read_caption(target, inside=root)
    out = CaptionOut(path=path, text=caption.text, version=caption.version)
    return JSONResponse(out.model_dump(), headers={"ETag": f'"{caption.version}"'})


@router.post("/{name}/tags", summary="Edit the tags of many captions at once (undoable)")
def edit_tags(name: str, body: TagEditIn, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.data.images import list_images
    from lorakit.data.tags import TagEdit, TagFilter, edit_captions

    root = _dataset(workspace, name)
    if body.paths is None:
        images = list_images(root)
    else:
        images = [_image(workspace, name, p)[1] for p in body.paths]
    edit = TagEdit(
        **body.model_dump(include={"action", "tags", "mapping", "front", "keep_first", "by_frequency"}),
        **body.model_dump(include={"pattern", "replacement", "text"}),
    )
    where = TagFilter(all_of=body.all_of, any_of=body.any_of, none_of=body.none_of)
    report = edit_captions(root, images, edit, where=where)
    return _relative_report(report.to_dict(), root)


@router.get("/{name}/history", summary="Recent caption edits that can be undone")
def history(name: str, workspace: WorkspaceDep) -> list[dict[str, Any]]:
    from lorakit.data.journal import Journal

    return [entry.summary() for entry in Journal(_dataset(workspace, name)).entries()]


@router.post("/{name}/undo", summary="Undo the latest caption edits")
def undo(name: str, body: UndoIn, workspace: WorkspaceDep) -> list[dict[str, Any]]:
    from lorakit.data.journal import Journal

    root = _dataset(workspace, name)
    journal = Journal(root)
    if body.entry is not None:
        latest = journal.entries()[:1]
        if body.count != 1 or not latest or latest[0].id != body.entry:
            raise ApiError(
                "conflict",
                "That edit is no longer the latest one (it was undone, or captions were edited since).",
                "Open the edit history and undo the newer edits first.",
                field="entry",
            )
    results = journal.undo(body.count, force=body.force)
    return [
        _relative_report({"entry": r.entry.summary(), "restored": r.restored, "conflicts": r.conflicts}, root)
        for r in results
    ]


# The dataset jobs' options (the dataset is in the URL), declared once in lorakit.jobs.params.
DedupIn, TagJobIn, CaptionJobIn, HealthIn = DedupOptions, TagOptions, CaptionOptions, HealthOptions


@router.post("/{name}/dedup", status_code=201, summary="Find near-duplicate images (a job)")
def dedup(name: str, body: DedupIn, workspace: WorkspaceDep, runner: RunnerDep):
    _dataset(workspace, name)
    params = {"dataset": f"datasets/{name}", **body.model_dump(exclude_none=True)}
    return runner.submit("dedup", params, title=f"Find duplicates in {name}")


def _job_images(workspace, name: str, images: list[str] | None) -> list[str] | None:
    if images is None:
        return None
    return [workspace.relative(_image(workspace, name, p)[1]) for p in images]


@router.post("/{name}/tag", status_code=201, summary="Tag the images with a WD14 model (a job, undoable)")
def tag(name: str, body: TagJobIn, workspace: WorkspaceDep, runner: RunnerDep):
    _dataset(workspace, name)
    workspace.resolve_inside(body.model, must_exist=True)
    params = {"dataset": f"datasets/{name}", "model": body.model, "settings": body.settings}
    if body.images is not None:
        params["images"] = _job_images(workspace, name, body.images)
    return runner.submit("tag", params, title=f"Tag {name}")


@router.post("/{name}/caption", status_code=201, summary="Caption the images with a model (a job, undoable)")
def caption(name: str, body: CaptionJobIn, workspace: WorkspaceDep, runner: RunnerDep):
    _dataset(workspace, name)
    params: dict[str, Any] = {"dataset": f"datasets/{name}", "settings": body.settings}
    if body.model:
        params["model"] = body.model
    if body.images is not None:
        params["images"] = _job_images(workspace, name, body.images)
    return runner.submit("caption", params, title=f"Caption {name}")


@router.post("/{name}/health", status_code=201, summary="Check the dataset's health (a job)")
def health(name: str, body: HealthIn, workspace: WorkspaceDep, runner: RunnerDep):
    _dataset(workspace, name)
    params = {"dataset": f"datasets/{name}", **body.model_dump(exclude_none=True)}
    return runner.submit("health", params, title=f"Check {name}")


def _relative_report(data: Any, root) -> Any:
    """Paths in a core report, shown relative to the dataset (the API never shows the server's folders)."""
    prefix = str(root) + "/"
    if isinstance(data, dict):
        return {
            (k.removeprefix(prefix) if isinstance(k, str) else k): _relative_report(v, root) for k, v in data.items()
        }
    if isinstance(data, list | tuple):
        return [_relative_report(v, root) for v in data]
    if isinstance(data, str):
        return data.removeprefix(prefix)
    if hasattr(data, "__fspath__"):
        return str(data).removeprefix(prefix)
    return data
