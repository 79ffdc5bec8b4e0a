"""Job kinds: the name a front end asks for -> the core function a worker process runs.

A job function has the signature ``fn(params: P, ctx: JobContext) -> dict | None`` where ``P`` is the
kind's parameter model (``lorakit.jobs.params``), validated when the job is submitted and again when it
starts. It reports
through ``ctx.emitter``, polls ``ctx.commands`` (or calls ``ctx.check_cancelled()``) at safe points,
raises :class:`~lorakit.errors.LorakitError` for problems the user can fix, and returns its result
(paths and figures, JSON-able). Targets are ``"module:function"`` strings, imported only inside the
worker, so listing kinds never imports torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lorakit.events import CANCEL, Commands, Emitter
from lorakit.jobs.params import JobParams, JobParamsError, validate_params
from lorakit.jobs.store import JobError


class JobCancelled(Exception):
    """Raised inside a job when the user cancelled it; the worker records the job as cancelled."""


@dataclass
class JobContext:
    """What a running job gets besides its params."""

    job_id: str
    workspace: Any  # lorakit.workspace.Workspace (not imported here to keep this module light)
    job_dir: Path
    emitter: Emitter
    commands: Commands
    set_run_dir: Callable[[Path], None]
    resume_from: str | None = None

    def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` if a cancel arrived (other commands stay for the job to poll)."""
        pending = self.commands.poll()
        if CANCEL in pending:
            raise JobCancelled()
        for name in pending:  # put back what was not ours to consume
            self.commands.request(name)


@dataclass(frozen=True)
class JobKind:
    name: str
    target: str  # "package.module:function"
    help: str
    gpu: bool = False
    resumable: bool = False
    # True for kinds that exist only so tests and demos can exercise the runner.
    testing: bool = False
    # Core modules the job needs; the kind is offered only when they are present.
    requires: tuple[str, ...] = ()
    # For resumable kinds: "module:function(run_dir: Path) -> bool", whether a run folder holds a saved
    # state to continue from. It must be cheap and import nothing heavy (it runs for every job listed).
    saved_state: str = ""
    # The parameters the job takes (declared once, in lorakit.jobs.params).
    params: type[JobParams] = JobParams

    @property
    def available(self) -> bool:
        """Whether the core modules behind this kind are installed in this version (checked without importing)."""
        for module in (self.target.split(":", 1)[0], *self.requires):
            try:
                if importlib.util.find_spec(module) is None:
                    return False
            except (ImportError, ValueError):
                return False
        return True

    def load(self) -> Callable[[dict, JobContext], dict | None]:
        module_name, _, function = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
            return getattr(module, function)
        except (ImportError, AttributeError) as error:
            raise JobError(
                f"Jobs of kind {self.name!r} cannot run in this installation ({error}).",
                "Install the extra this job needs (for example `pip install lorakit[train]`), or update lorakit.",
            ) from error

    def validate(self, params: Any, workspace=None) -> JobParams:
        """The job's parameters, checked (against ``workspace`` when given): a :class:`JobParamsError` if bad."""
        return validate_params(self.params, params, workspace)

    def has_saved_state(self, run_dir: Path) -> bool:
        """Whether ``run_dir`` holds a state this kind can resume from (never for kinds that cannot resume)."""
        if not (self.resumable and self.saved_state):
            return False
        module_name, _, function = self.saved_state.partition(":")
        try:
            return bool(getattr(importlib.import_module(module_name), function)(run_dir))
        except (ImportError, AttributeError, OSError):
            return False

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "help": self.help,
            "gpu": self.gpu,
            "resumable": self.resumable,
            "available": self.available,
            "params": self.params.model_json_schema(),
        }


KINDS: dict[str, JobKind] = {}


def register(
    name: str,
    target: str,
    *,
    help: str,
    gpu: bool = False,
    resumable: bool = False,
    testing: bool = False,
    requires: tuple[str, ...] = (),
    saved_state: str = "",
    params: type[JobParams] = JobParams,
) -> JobKind:
    """Add (or replace) a job kind."""
    kind = JobKind(
        name=name,
        target=target,
        help=help,
        gpu=gpu,
        resumable=resumable,
        testing=testing,
        requires=requires,
        saved_state=saved_state,
        params=params,
    )
    KINDS[name] = kind
    return kind


def get_kind(name: str) -> JobKind:
    _load_builtin()
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        shown = ascii(name)[:80]
        raise JobParamsError(f"There is no job kind {shown}.", f"Use one of: {known}.", field="kind") from None


def all_kinds() -> list[JobKind]:
    _load_builtin()
    return sorted(KINDS.values(), key=lambda k: k.name)


def _load_builtin() -> None:
    # The built-in kinds register themselves on import; importing here avoids a cycle.
    import lorakit.jobs.kinds  # noqa: F401
