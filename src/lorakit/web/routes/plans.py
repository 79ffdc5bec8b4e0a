"""The step plan of a config: images, buckets, exact steps, advice (the web app's step calculator)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lorakit.data import plan as _plan  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import WorkspaceDep, existing
from lorakit.workspace import confine_config

router = APIRouter(prefix="/api/plans", tags=["plans"])


class PlanBody(BaseModel):
    config: dict[str, Any] | None = Field(None, description="A config as JSON ...")
    config_name: str | None = Field(None, max_length=100, description="... or the name of a saved config.")
    goal: str | None = Field(None, pattern="^(character|style|concept)$")
    include_images: bool = False


@router.post("", summary="Plan a training run: which images, which buckets, how many steps")
def make(body: PlanBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict, load_config
    from lorakit.data.plan import plan_for_config

    if body.config is not None:
        cfg = config_from_dict(body.config)
    elif body.config_name:
        name = body.config_name if body.config_name.endswith(".toml") else f"{body.config_name}.toml"
        cfg = load_config(existing(workspace, f"configs/{name}", field="config_name"), relative_to_file=False)
    else:
        from lorakit.web.errors import ApiError

        raise ApiError(
            "invalid", "Say which config to plan.", "Send 'config' (JSON) or 'config_name'.", field="config"
        )
    plan = plan_for_config(confine_config(workspace, cfg), goal=body.goal)
    return _relative(plan.to_dict(include_images=body.include_images), str(workspace.root) + "/")


def _relative(data: Any, prefix: str) -> Any:
    if isinstance(data, dict):
        return {k: _relative(v, prefix) for k, v in data.items()}
    if isinstance(data, list):
        return [_relative(v, prefix) for v in data]
    if isinstance(data, str):
        return data.removeprefix(prefix)
    return data
