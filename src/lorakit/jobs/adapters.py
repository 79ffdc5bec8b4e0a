"""Job functions for the core's long work: params (JSON, workspace-relative paths) -> a core call.

Each adapter confines every path to the workspace, hands the job's emitter to the core function, and
returns a JSON-able result. The work itself lives in the core modules; nothing here trains or edits.
"""

from __future__ import annotations

from typing import Any

from lorakit.errors import LorakitError
from lorakit.jobs.registry import JobContext


def _need(params: dict[str, Any], name: str) -> Any:
    if params.get(name) in (None, "", []):
        raise LorakitError(f"The job needs '{name}'.", f"Add '{name}' to the job's params.", field=name)
    return params[name]


def import_images(params: dict[str, Any], ctx: JobContext) -> dict[str, Any]:
    """Import folders, ZIP archives or images (``sources``) into a dataset folder (``to``)."""
    from lorakit.data.importer import import_images as run_import

    ws = ctx.workspace
    sources = [ws.resolve_inside(p, must_exist=True) for p in _need(params, "sources")]
    target = ws.resolve_inside(_need(params, "to"))
    ctx.set_run_dir(target)
    report = run_import(sources, target, emitter=ctx.emitter)
    result = report.to_dict()
    result["summary"] = report.summary()
    return result
