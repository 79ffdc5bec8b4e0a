"""Training configs and presets: list, read, save, delete, new from a preset, validate, explain, the
form schema, and sd-scripts export/import. Configs live in the workspace's ``configs/`` as TOML.

A config file that is a link leading outside the workspace is left out of the list (logged once) and
refused by name; files are read with a confined open (:meth:`Workspace.read_bytes`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from lorakit.config import io as config_io  # noqa: F401 - an ImportError here leaves these routes out
from lorakit.web.deps import WorkspaceDep, existing
from lorakit.web.errors import ApiError
from lorakit.workspace import confine_config, warn_outside_once

router = APIRouter(prefix="/api/configs", tags=["configs"])

NAME = r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,99}$"


class ConfigBody(BaseModel):
    config: dict[str, Any] = Field(description="The config as JSON (the TOML's tables), e.g. {'network': {'dim': 16}}")


class NewConfigBody(BaseModel):
    preset: str | None = Field(None, max_length=100)
    overrides: dict[str, Any] = Field(default_factory=dict, description="Dotted keys: {'network.dim': 32}.")


class TomlBody(BaseModel):
    toml: str = Field(max_length=1_000_000, description="A lorakit config as TOML text.")


class KohyaTextBody(BaseModel):
    config_toml: str = Field(max_length=1_000_000, description="sd-scripts' config.toml, as text.")
    dataset_toml: str | None = Field(None, max_length=1_000_000, description="Its dataset.toml, when it has one.")


class PresetBody(BaseModel):
    name: str = Field(max_length=64, description="The preset's file name: lower-case letters, digits, - and _.")
    title: str | None = Field(None, max_length=200)
    for_whom: str = Field("", max_length=500)
    what: str = Field("", max_length=2000)
    config: dict[str, Any] = Field(description="The settings to keep (only those that differ from the defaults are).")


class ImportKohyaBody(BaseModel):
    paths: list[str] = Field(min_length=1, max_length=3, description="config.toml, dataset.toml, lorakit.toml")
    name: str = Field(pattern=NAME, description="Save the imported config under this name.")


def _file(workspace, name: str):
    import re

    if not re.match(NAME, name) or ".." in name:
        raise ApiError(
            "invalid", f"{name!r} is not a config name.", "Use letters, digits, spaces, _ - and .", field="name"
        )
    # The folder resolved (and confined); the file itself not: saving replaces a link, never writes through it.
    return workspace.user_path("configs") / (name if name.endswith(".toml") else f"{name}.toml")


def _read(workspace, name: str):
    """A saved config's path and its text, read with a confined open (a link leading outside is refused)."""
    from lorakit.config.io import parse_toml

    path = _file(workspace, name)
    if not path.exists():
        raise ApiError("not_found", f"There is no config {name!r}.", "The list shows the saved ones.", field="name")
    data = workspace.read_bytes(path)
    return path, data.decode("utf-8", errors="replace"), parse_toml(data, f"The config {path.name}")


def _presets_folder(workspace):
    """The user's presets folder, or None when it is a link leading outside the workspace (logged once)."""
    folder = workspace.configs / "presets"
    if workspace.contains(folder):
        return folder
    warn_outside_once("configs/presets")
    return None


def _as_json(cfg) -> dict[str, Any]:
    from lorakit.config.io import config_to_dict

    return config_to_dict(cfg)


@router.get("", summary="Saved configs")
def list_configs(workspace: WorkspaceDep) -> list[dict[str, Any]]:
    folder = workspace.user_path("configs")
    out = []
    for p in sorted(folder.glob("*.toml")):
        if not workspace.contains(p):
            warn_outside_once(f"configs/{p.name}")
            continue
        try:
            modified = p.stat().st_mtime
        except OSError:  # a dangling link
            continue
        out.append({"name": p.stem, "path": f"configs/{p.name}", "modified": modified})
    return out


@router.get("/presets", summary="Built-in and saved presets")
def presets(workspace: WorkspaceDep) -> list[dict[str, Any]]:
    from lorakit.config.presets import list_presets

    out = []
    for info in list_presets(_presets_folder(workspace)):
        data = info.to_dict()
        data.pop("path", None)  # the server's folders are not the client's business
        out.append(data)
    return out


@router.post("/presets", summary="Save settings as your own preset (only what differs from the defaults)")
def save_preset(body: PresetBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict
    from lorakit.config.presets import list_presets, save_user_preset

    folder = _presets_folder(workspace)
    if folder is None:
        raise ApiError(
            "invalid",
            "The presets folder configs/presets leads outside the workspace.",
            "Replace the link configs/presets with a real folder.",
            field="name",
        )
    cfg = config_from_dict(body.config)
    path = save_user_preset(cfg, body.name, folder, title=body.title, for_whom=body.for_whom, what=body.what)
    info = next(p for p in list_presets(folder) if p.path == path)
    data = info.to_dict()
    data.pop("path", None)
    return data


@router.post("/toml", summary="A config (JSON) as the TOML text lorakit saves")
def as_toml(body: ConfigBody) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict, to_toml

    return {"toml": to_toml(config_from_dict(body.config))}


@router.post("/from-toml", summary="Read lorakit TOML text into a config (JSON), checked like a file")
def from_toml(body: TomlBody) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict, parse_toml

    data = parse_toml(body.toml, "The TOML")
    return {"config": _as_json(config_from_dict(data, source="The TOML"))}


@router.post("/kohya", summary="The sd-scripts files for a config, as text (nothing is written)")
def kohya_text(body: ConfigBody) -> dict[str, Any]:
    import tomli_w

    from lorakit.config.io import config_from_dict
    from lorakit.config.kohya import to_kohya

    kohya = to_kohya(config_from_dict(body.config))
    files = {"config.toml": tomli_w.dumps(kohya.config)}
    if kohya.dataset is not None:
        files["dataset.toml"] = tomli_w.dumps(kohya.dataset)
    files["lorakit.toml"] = tomli_w.dumps(kohya.lorakit)
    if kohya.sample_prompts is not None:
        files["sample_prompts.txt"] = "\n".join(kohya.sample_prompts) + "\n"
    return {"files": files, "script": kohya.script, "notes": kohya.notes}


@router.post("/kohya/parse", summary="Read pasted or uploaded sd-scripts TOML text into a config (not saved)")
def kohya_parse(body: KohyaTextBody) -> dict[str, Any]:
    from lorakit.config.io import parse_toml
    from lorakit.config.kohya import from_kohya
    from lorakit.config.kohya_import import flatten

    config = flatten(parse_toml(body.config_toml, "config.toml"))
    dataset = parse_toml(body.dataset_toml, "dataset.toml") if body.dataset_toml else None
    result = from_kohya(config, dataset)
    # Paths are kept as written (often another machine's): validation marks the ones to change.
    return {"config": _as_json(result.config), "notes": result.notes}


@router.get("/schema", summary="Every setting, grouped by section, for building forms")
def form(level: str | None = Query(None, pattern="^(basic|advanced|expert)$")) -> dict[str, Any]:
    from lorakit.config.schema_export import form_schema

    schema = form_schema()
    if level is None:
        return schema
    order = ("basic", "advanced", "expert")
    keep = set(order[: order.index(level) + 1])
    sections = [{**s, "fields": [f for f in s["fields"] if f["level"] in keep]} for s in schema["sections"]]
    return {**schema, "sections": sections}


@router.get("/explain/{name}", summary="Plain-words help on one setting")
def explain(name: str) -> dict[str, Any]:
    from lorakit.config.schema_export import explain as explain_field

    return explain_field(name).to_dict()


@router.post("/new", summary="A new config from a preset with changes (not saved)")
def new(body: NewConfigBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.presets import new_config

    cfg = new_config(body.preset, body.overrides, user_folder=_presets_folder(workspace))
    return {"config": _as_json(cfg)}


@router.post("/validate", summary="Check a config: problems (must fix) and warnings (may ignore)")
def validate(body: ConfigBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict
    from lorakit.config.validate import validate as check

    cfg = confine_config(workspace, config_from_dict(body.config))
    # Messages name folders as the user wrote them (datasets/x), not the server's absolute paths.
    return _without_root(check(cfg).to_dict(), str(workspace.root) + "/")


def _without_root(data: Any, root: str) -> Any:
    if isinstance(data, dict):
        return {k: _without_root(v, root) for k, v in data.items()}
    if isinstance(data, list):
        return [_without_root(v, root) for v in data]
    return data.replace(root, "") if isinstance(data, str) else data


@router.get("/{name}", summary="A saved config")
def read(name: str, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict

    path, text, data = _read(workspace, name)
    cfg = config_from_dict(data, source=f"The config {path.name}")
    return {"name": path.stem, "config": _as_json(cfg), "toml": text}


@router.put("/{name}", summary="Save a config (checked first; nothing is written when it is invalid)")
def save(name: str, body: ConfigBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict, save_config

    cfg = config_from_dict(body.config)
    confine_config(workspace, cfg)  # refuse paths outside the workspace before saving
    path = save_config(cfg, _file(workspace, name))
    return {"name": path.stem, "path": workspace.relative(path), "config": _as_json(cfg)}


@router.delete("/{name}", summary="Move a saved config to the trash")
def delete(name: str, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.trash import Trash

    path = _file(workspace, name)
    if not path.exists() and not path.is_symlink():
        raise ApiError("not_found", f"There is no config {name!r}.", "The list shows the saved ones.", field="name")
    return {"trashed": Trash(workspace.trash, workspace.root).move(path).id}


@router.post("/{name}/export-kohya", summary="Write sd-scripts files (config.toml, dataset.toml) for a config")
def export_kohya(name: str, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import config_from_dict
    from lorakit.config.kohya import export_kohya as export
    from lorakit.config.kohya import to_kohya

    path, _, data = _read(workspace, name)
    folder = workspace.user_path(f"outputs/sd-scripts/{path.stem}")
    cfg = config_from_dict(data, source=f"The config {path.name}")
    written = export(cfg, folder)
    kohya = to_kohya(cfg)
    return {
        "folder": workspace.relative(folder),
        "files": [workspace.relative(p) for p in written],
        "script": kohya.script,
        "notes": kohya.notes,  # what sd-scripts cannot take as it is (e.g. the tiny model's path)
    }


@router.post("/import-kohya", summary="Make a config from sd-scripts TOML files in the workspace")
def import_kohya(body: ImportKohyaBody, workspace: WorkspaceDep) -> dict[str, Any]:
    from lorakit.config.io import save_config
    from lorakit.config.kohya import import_kohya as read_kohya

    files = [existing(workspace, p, field="paths") for p in body.paths]
    for p, file in zip(body.paths, files, strict=True):
        workspace.user_path(p)  # not lorakit's own files
        workspace.read_bytes(file)  # a regular file inside the workspace (not a fifo, not a link out)
    result = read_kohya(*files)
    path = save_config(result.config, _file(workspace, body.name))
    return {
        "name": path.stem,
        "path": workspace.relative(path),
        "notes": result.notes,
        "config": _as_json(result.config),
    }
