"""The step plan of a config: images, buckets, exact steps, advice (the web app's step calculator)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lorakit.data import plan as _plan  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import RunnerDep, WorkspaceDep, existing
from lorakit.workspace import confine_config

router = APIRouter(prefix="/api/plans", tags=["plans"])


class PlanBody(BaseModel):
    config: dict[str, Any] | None = Field(None, description="A config as JSON ...")
    config_name: str | None = Field(None, max_length=100, description="... or the name of a saved config.")
    goal: str | None = Field(None, pattern="^(character|style|concept)$")
    include_images: bool = False


@router.post("", summary="Plan a training run: which images, which buckets, how many steps")
def make(body: PlanBody, workspace: WorkspaceDep, runner: RunnerDep) -> dict[str, Any]:
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
    answer = plan.to_dict(include_images=body.include_images)
    answer["time_estimate"] = time_estimate(runner, cfg, answer["total_steps"], answer["batch_size"])
    return _relative(answer, str(workspace.root) + "/")


def _speed_key(config: Any) -> tuple[Any, Any] | None:
    """What a past run must share with this one for its speed to say anything: the model and the size."""
    if not isinstance(config, dict):
        return None
    model, dataset = config.get("model") or {}, config.get("dataset") or {}
    return model.get("pretrained_model_name_or_path"), str(dataset.get("resolution", 512))


def time_estimate(runner, cfg, total_steps: int, batch_size: int, *, look_at: int = 20) -> dict[str, Any]:
    """How long the run should take, from the speed of the newest training job on this machine with the same
    model and resolution (its last measured steps per second, scaled by batch size). Without one there is
    no estimate: a guess from a table would be wrong on most machines."""
    from lorakit.config.io import config_to_dict

    key = _speed_key(config_to_dict(cfg))
    for job in runner.list(kind="train", limit=look_at):
        if _speed_key(job.params.get("config")) != key:
            continue
        steps = [e for e in runner.events(job.id) if e.type == "step" and e.data.get("it_s")]
        if not steps:
            continue
        past = steps[-1].data
        past_batch = ((job.params["config"].get("schedule") or {}).get("train_batch_size")) or 1
        per_step = 1.0 / float(past["it_s"]) * (batch_size / past_batch)
        return {
            "seconds": round(per_step * total_steps, 1),
            "seconds_per_step": round(per_step, 4),
            "based_on": f"job {job.id} ({job.title or 'training'}): {float(past['it_s']):.2f} steps/s at batch "
            f"{past_batch}",
        }
    return {
        "seconds": None,
        "seconds_per_step": None,
        "based_on": "No run of this model at this size on this machine yet: the first run measures the speed.",
    }


def _relative(data: Any, prefix: str) -> Any:
    if isinstance(data, dict):
        return {k: _relative(v, prefix) for k, v in data.items()}
    if isinstance(data, list):
        return [_relative(v, prefix) for v in data]
    if isinstance(data, str):
        return data.removeprefix(prefix)
    return data
