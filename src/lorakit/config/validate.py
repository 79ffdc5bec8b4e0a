"""Cross-field validation: settings that are fine alone but wrong together, each with a fix.

:func:`validate` collects every problem (training would fail or silently do the wrong thing) and every
warning (legal, but probably not what you want) in one :class:`ValidationReport`, so a user can fix
them all at once. Single-field checks (types, ranges) already happen when a config is built; the
cross-field checks live in :mod:`lorakit.config.checks`.
"""

from __future__ import annotations

import copy
import json
import re
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lorakit.config import checks as _checks  # noqa: F401  (registers the checks)
from lorakit.config import checks_training as _training_checks  # noqa: F401
from lorakit.config.dataset import IMAGE_EXTENSIONS
from lorakit.config.report import CHECKS, ConfigWarning, ValidationReport
from lorakit.config.schema import TrainConfig

__all__ = [
    "ConfigWarning",
    "ValidationReport",
    "check_keep_tokens",
    "check_machine",
    "check_paths",
    "detected_family",
    "validate",
    "validate_file",
]


def validate(
    cfg: TrainConfig,
    *,
    family: str | None = None,
    caption_tag_counts: Mapping[str, Sequence[int]] | None = None,
    check_files: bool = True,
) -> ValidationReport:
    """Check ``cfg`` as a whole.

    ``family`` is the model family when ``cfg.model.family`` is 'auto'; if not given, a local model
    file's header is read to find it (checks that depend on the family are skipped while it is unknown).
    ``caption_tag_counts`` maps a subset's image_dir to the tag counts of its captions (from the step
    plan), to check keep_tokens against the real captions.
    """
    report = ValidationReport()
    if family is None and check_files:
        family = detected_family(cfg)
        if cfg.model.family != "auto":
            source = cfg.model.pretrained_model_name_or_path or ""
            if family is not None:
                check_family(cfg.model.family, family, source, report)
            else:
                check_layout(cfg.model.family, source, report)
    known = cfg.model.family if cfg.model.family != "auto" else family
    for run_check in CHECKS:
        run_check(cfg, known, report)
    if caption_tag_counts is not None:
        check_keep_tokens(cfg, caption_tag_counts, report)
    if check_files:
        check_paths(cfg, report)
        check_machine(cfg, report)
    return report


def check_machine(cfg: TrainConfig, report: ValidationReport | None = None) -> ValidationReport:
    """Problems for what this machine cannot run: an optimizer whose package is missing, an 8-bit
    (bitsandbytes) optimizer without a CUDA GPU, or fp8 base weights without an fp8-capable GPU. Without
    torch installed nothing can train here; the trainer says so itself, so this check stays quiet."""
    report = report if report is not None else ValidationReport()
    try:
        from lorakit.train.optimizers import cannot_run_here
    except ImportError:
        return report
    import torch

    from lorakit.train.precision import precision_problem

    problem = cannot_run_here(cfg.optimizer.optimizer_type)
    if problem is not None:
        report.problems.append(problem)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    problem = precision_problem(cfg, device)  # fp8 base weights without an fp8-capable GPU
    if problem is not None:
        report.problems.append(problem)
    return report


def validate_file(path: str | Path, *, family: str | None = None, check_files: bool = True) -> ValidationReport:
    """Every problem of a config file at once: unknown keys and wrong types, and the cross-field problems.

    The fields that could not be read are left out (their defaults stand in) and the cross-field checks run
    on the rest, so a user sees everything in one pass instead of fixing the types first and only then
    learning about the rest. Cross-field findings on the fields that could not be read are left out: they
    would be about the stand-in defaults, not what was written.
    """
    from lorakit.config.io import config_from_dict, read_toml, resolve_relative
    from lorakit.errors import ConfigError

    p = Path(path).expanduser()
    try:
        data = read_toml(p)
    except ConfigError as error:
        return ValidationReport(problems=[error])
    cfg: TrainConfig | None
    unreadable: list[ConfigError] = []
    try:
        cfg = config_from_dict(data, source=str(p))
    except ConfigError as error:
        unreadable = error.issues or [error]
        cfg = _readable_part(data, unreadable, str(p))
    report = ValidationReport(problems=list(unreadable))
    if cfg is None:
        return report
    cfg = resolve_relative(cfg, p.resolve().parent)
    found = validate(cfg, family=family, check_files=check_files)
    broken = {issue.field for issue in unreadable if issue.field}

    def about_broken(field: str | None) -> bool:
        return field is not None and any(field == b or field.startswith((b + ".", b + "[")) for b in broken)

    report.problems += [x for x in found.problems if not about_broken(x.field)]
    report.warnings += [w for w in found.warnings if not about_broken(w.field)]
    return report


_INDEX = re.compile(r"^(.*)\[(\d+)\]$")


def _drop(data: dict, field: str) -> bool:
    """Remove the value at a dotted path such as ``dataset.subsets[0].image_dir``; False when it cannot."""
    table: Any = data
    parts = field.split(".")
    for depth, part in enumerate(parts):
        match = _INDEX.match(part)
        key, index = (match[1], int(match[2])) if match else (part, None)
        last = depth == len(parts) - 1
        if not isinstance(table, dict) or key not in table:
            return False
        if index is None:
            if last:
                del table[key]
                return True
            table = table[key]
            continue
        items = table[key]
        if not isinstance(items, list) or index >= len(items):
            return False
        if last:
            del items[index]
            return True
        if not isinstance(items[index], dict) or parts[depth + 1] not in items[index]:
            del items[index]  # a required key missing inside an item: the item cannot be read at all
            return True
        table = items[index]
    return False


def _readable_part(data: dict, issues: list, source: str) -> TrainConfig | None:
    """The config built from what could be read: each field with a problem left out (a few rounds, since
    leaving one out can reveal another), or None when that does not give a config."""
    from lorakit.config.io import config_from_dict
    from lorakit.config.migrate import migrate
    from lorakit.errors import ConfigError

    try:
        raw, _ = migrate(copy.deepcopy({k: v for k, v in data.items() if k != "preset"}), source=source)
    except ConfigError:
        return None
    for _ in range(5):
        if not all(issue.field and _drop(raw, issue.field) for issue in issues):
            return None
        try:
            return config_from_dict(raw, source=source)
        except ConfigError as error:
            issues = error.issues or [error]
    return None


_TITLES = {
    "sd1/sd2": "SD1/SD2",
    "sd1": "SD1",
    "sd2": "SD2",
    "sd2-v": "SD2 (v-prediction)",
    "sdxl": "SDXL",
    "flux": "Flux",
}


def check_family(configured: str, detected: str, source: str, report: ValidationReport) -> None:
    """A problem when model.family names another family than the base model's files say it is: training
    would build the wrong network (or fail deep inside the model loader)."""
    if configured == detected or {configured, detected} <= {"sd2", "sd2-v"}:
        return  # v-prediction is a scheduler setting; the weights of sd2 and sd2-v have one layout
    suggested = "sd1" if detected == "sd1/sd2" else detected
    report.problem(
        "model.family",
        f"model.family = {configured!r}, but the base model {source} is an {_TITLES.get(detected, detected)} model"
        + ("." if source.startswith("tiny:") else " (read from its files)."),
        f"Set model.family = {suggested!r} (or 'auto' to follow the model),"
        " or choose"
        f" {'an' if configured in ('sd1', 'sd2', 'sd2-v', 'sdxl') else 'a'} {_TITLES.get(configured, configured)}"
        " base model.",
    )


def check_layout(configured: str, source: str, report: ValidationReport) -> None:
    """For a diffusers folder whose exact family its files do not say (an unusual text width, such as the tiny
    test models'), compare at least the layout: SDXL (two text encoders) or SD1/SD2 (one), as the loader does."""
    folder = Path(source).expanduser()
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    pipeline = str(index.get("_class_name", "")) if isinstance(index, dict) else ""
    if not pipeline.startswith("StableDiffusion") or pipeline.startswith("StableDiffusion3"):
        return
    is_xl = "text_encoder_2" in index
    if (configured == "sdxl") != is_xl and configured in ("sd1", "sd2", "sd2-v", "sdxl"):
        check_family(configured, "sdxl" if is_xl else "sd1/sd2", source, report)


def detected_family(cfg: TrainConfig) -> str | None:
    """The family of a local base model read from its header (sd1, sd2, sd2-v, sdxl, flux), or None."""
    source = cfg.model.pretrained_model_name_or_path
    if source and source.startswith("tiny:"):  # the built-in tiny models (lorakit.train.setup)
        return source.split(":", 1)[1] or "sd1"
    if not source or not Path(source).expanduser().exists():
        return None
    from lorakit.errors import LorakitError
    from lorakit.models.detect import detect

    try:
        info = detect(Path(source).expanduser())
    except (LorakitError, OSError, ValueError):
        return None  # an unreadable model is reported when it is loaded; validation just cannot use it
    if info.family == "sd2" and info.prediction == "v":
        return "sd2-v"
    return info.family if info.family in ("sd1", "sd2", "sdxl", "flux") else None


_MODEL_FILES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".bin", ".gguf")


def check_paths(cfg: TrainConfig, report: ValidationReport | None = None) -> ValidationReport:
    """Problems for image folders that are missing or hold no images, and local model files that are missing."""
    report = report if report is not None else ValidationReport()
    for i, subset in enumerate(cfg.dataset.subsets):
        folder = Path(subset.image_dir)
        path = f"dataset.subsets[{i}].image_dir"
        if not folder.is_dir():
            report.problem(
                path,
                f"The image folder {folder} does not exist.",
                "Check the path (relative paths start"
                " at the config file's folder), or create the folder and put your images in it.",
            )
        elif not any(p.suffix.lower() in IMAGE_EXTENSIONS for p in folder.iterdir() if p.is_file()):
            report.problem(
                path,
                f"The folder {folder} has no images ({', '.join(IMAGE_EXTENSIONS[:4])}, ...).",
                "Put your training images in it, or point image_dir at the folder that has them.",
            )
    for name in ("train_data_dir", "reg_data_dir"):
        folder = getattr(cfg.dataset, name)
        if folder is not None and not Path(folder).is_dir():
            report.problem(f"dataset.{name}", f"The folder {folder} does not exist.", "Check the path.")
    model = cfg.model
    base = Path(model.pretrained_model_name_or_path or "").expanduser()
    if model.pretrained_model_name_or_path and base.is_dir():
        from lorakit.models.loading import pickle_only_parts

        parts = pickle_only_parts(base)
        if parts:
            report.problem(
                "model.pretrained_model_name_or_path",
                f"The base model folder {base} keeps the weights of {', '.join(parts)} only as pickle files"
                " (.bin), which lorakit never opens (loading one can run code).",
                "Use a copy of this model with .safetensors weights (`lorakit models download` fetches only those).",
            )
    for name in ("pretrained_model_name_or_path", "vae", "clip_l", "t5xxl", "ae"):
        value = getattr(model, name)
        if value and value.lower().endswith(_MODEL_FILES) and not Path(value).expanduser().exists():
            report.problem(
                f"model.{name}",
                f"The model file {value} does not exist.",
                "Check the path, or download the model first (see `lorakit models --help`).",
            )
    if cfg.network.network_weights is not None and not Path(cfg.network.network_weights).is_file():
        report.problem(
            "network.network_weights",
            f"The LoRA {cfg.network.network_weights} does not exist.",
            "Check the path, or remove network_weights to start from zero.",
        )
    return report


def check_keep_tokens(
    cfg: TrainConfig, caption_tag_counts: Mapping[str, Sequence[int]], report: ValidationReport | None = None
) -> ValidationReport:
    """Warn where keep_tokens keeps as many tags as a typical caption has (then shuffling and tag dropout
    do nothing). ``caption_tag_counts`` maps ``str(image_dir)`` to the comma-separated tag count of each
    caption in that subset, as the step plan reads them."""
    report = report if report is not None else ValidationReport()
    subsets = cfg.dataset.subsets
    for i, resolved in enumerate(cfg.resolved_subsets() if subsets else []):
        counts = caption_tag_counts.get(str(resolved.image_dir))
        keep = resolved.keep_tokens
        if not counts or not keep or resolved.keep_tokens_separator:
            continue
        typical = statistics.median(counts)
        if keep >= typical:
            own = subsets[i].keep_tokens is not None
            path = f"dataset.subsets[{i}].keep_tokens" if own else "captions.keep_tokens"
            report.warn(
                path,
                f"keep_tokens = {keep} keeps as many tags as a typical caption in {resolved.label} has"
                f" ({typical:g}), so shuffling and tag dropout do nothing there.",
                f"Lower keep_tokens to 1 (the trigger word), or write longer captions (now {typical:g} tags)."
                if keep > 1
                else f"Write longer captions (now {typical:g} tag): tags after the trigger word are what shuffling"
                " moves.",
            )
    return report
