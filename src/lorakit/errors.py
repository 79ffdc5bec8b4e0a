"""Errors a user can act on.

Every problem caused by input (a config value, a file, a link, a dataset) is raised as a
:class:`LorakitError` that names the problem and the fix. Front ends show ``str(error)`` (problem and
fix together) without a traceback; the web API returns :meth:`LorakitError.to_dict`.
"""

from __future__ import annotations


class LorakitError(Exception):
    """A problem the user can fix: what went wrong, and what to do about it."""

    code = "error"

    def __init__(self, problem: str, fix: str | None = None, *, field: str | None = None):
        self.problem = problem
        self.fix = fix
        self.field = field
        super().__init__(problem if not fix else f"{problem}\n  Fix: {fix}")

    def to_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.problem, "fix": self.fix, "field": self.field}


class ConfigError(LorakitError):
    """A setting is missing, of the wrong type, out of range, or contradicts another setting."""

    code = "config"

    def __init__(self, problem: str, fix: str | None = None, *, field: str | None = None, issues: list | None = None):
        super().__init__(problem, fix, field=field)
        # Every problem found in one pass, so a user can fix them all at once, not one per run.
        self.issues: list[ConfigError] = issues or []


class DatasetError(LorakitError):
    """The dataset on disk cannot be used as described (missing folder, no images, bad captions)."""

    code = "dataset"


class ModelError(LorakitError):
    """A model file or folder is missing, unsafe, corrupt or of the wrong kind."""

    code = "model"


class DownloadError(LorakitError):
    """A link could not be resolved or downloaded."""

    code = "download"


class TokenRequiredError(DownloadError):
    """A download needs an access token (none set, or the one set was refused). ``field`` names the service
    (``civitai`` or ``huggingface``), so a front end can point at the place where its token is set."""

    code = "token_required"


class TrainingError(LorakitError):
    """Training cannot start or had to stop (NaN loss, out of memory, ...)."""

    code = "training"


class PathError(LorakitError):
    """A path points outside the workspace or at something that does not exist."""

    code = "path"
