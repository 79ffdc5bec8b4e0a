"""One JSON shape for every error the API returns: ``{"error": {"code", "message", "fix", "field"}}``.

User-fixable problems (:class:`~lorakit.errors.LorakitError`) keep their own words; validation errors
name the field; anything unexpected is a 500 with a plain message and no traceback (that goes to the
server log).
"""

from __future__ import annotations

import errno
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lorakit.errors import LorakitError

log = logging.getLogger("lorakit.web")

# LorakitError.code -> HTTP status; anything else a user can fix is a 400.
STATUS_BY_CODE = {
    "not_found": 404,
    "job": 409,
    "conflict": 409,
    "too_large": 413,
    "config": 422,
    "invalid_params": 422,  # a job's parameters (lorakit.jobs.params)
    "auth": 401,
    "forbidden": 403,
}


OS_ERRORS = {
    errno.ENAMETOOLONG: (400, "A file name is too long.", "Use a shorter name."),
    errno.ENOENT: (404, "The file or folder is not there (any more).", "Reload the list."),
    errno.EEXIST: (409, "Something with that name is already there.", "Choose another name."),
    errno.ENOTDIR: (400, "A part of the path is a file, not a folder.", "Check the path."),
    errno.EISDIR: (400, "That is a folder, not a file.", "Pick a file."),
    errno.ENOTEMPTY: (409, "The folder is not empty.", "Empty it first, or move it to the trash."),
    errno.EACCES: (403, "lorakit is not allowed to use that file.", "Check the file's permissions."),
    errno.EPERM: (403, "lorakit is not allowed to do that to the file.", "Check the file's permissions."),
    errno.ENOSPC: (507, "The disk is full.", "Free some space (empty the trash?) and try again."),
    errno.EXDEV: (400, "That move crosses disks.", "Copy the file instead."),
    errno.EINVAL: (400, "The file system does not accept that name.", "Use a simpler name."),
}


class ApiError(LorakitError):
    """An API-level problem with its own HTTP status (a conflict, a missing file, a too-large upload)."""

    def __init__(self, code: str, problem: str, fix: str | None = None, *, field: str | None = None):
        super().__init__(problem, fix, field=field)
        self.code = code


def error_body(code: str, message: str, fix: str | None = None, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fix": fix, "field": field}}


def error_response(status: int, code: str, message: str, fix: str | None = None, field: str | None = None):
    return JSONResponse(error_body(code, message, fix, field), status_code=status)


def _workspace_relative(data, root: str):
    """The core names files by absolute path; the browser knows them by their workspace path."""
    if isinstance(data, dict):
        return {k: _workspace_relative(v, root) for k, v in data.items()}
    if isinstance(data, list):
        return [_workspace_relative(v, root) for v in data]
    if isinstance(data, str):
        return data.replace(root + "/", "").replace(root, "the workspace")
    return data


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(LorakitError)
    async def _lorakit(request: Request, error: LorakitError):
        body = error.to_dict()
        issues = getattr(error, "issues", None)
        if issues:  # a config with several problems: all of them, so the form can mark every field at once
            body["issues"] = [issue.to_dict() for issue in issues]
        workspace = getattr(request.app.state, "workspace", None)
        if workspace is not None:
            body = _workspace_relative(body, str(workspace.root))
        return JSONResponse({"error": body}, status_code=STATUS_BY_CODE.get(error.code, 400))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError):
        problems = error.errors()
        first = problems[0] if problems else {}
        if first.get("type") == "json_invalid":
            return error_response(
                400, "bad_json", "The request body is not valid JSON.", 'Send a JSON object, e.g. {"name": "x"}.'
            )
        where = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
        field = ".".join(where) or None
        message = first.get("msg", "The request is not valid.")
        if field:
            message = f"{field}: {message}"
        return error_response(422, "invalid", message, "Correct this value and send the request again.", field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException):
        if error.status_code == 404:
            return error_response(404, "not_found", "There is nothing at this address.", "Check the URL.")
        if error.status_code == 405:
            return error_response(405, "method", "This address does not accept that method.", "See /docs.")
        return error_response(error.status_code, "http", str(error.detail))

    @app.exception_handler(OSError)
    async def _os(request: Request, error: OSError):
        # The file system said no: name the reason in plain words, never the server's own folders.
        status, message, fix = OS_ERRORS.get(
            error.errno or 0, (500, f"The file system refused: {error.strerror or 'unknown error'}.", "Try again.")
        )
        if status == 500:
            log.exception("file system error on %s %s", request.method, request.url.path)
        return error_response(status, "file_system", message, fix)

    @app.exception_handler(Exception)
    async def _internal(request: Request, error: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            "internal",
            "Something went wrong inside lorakit.",
            "Try again; if it keeps happening, report it with the server log.",
        )
