"""Sample prompts in sd-scripts' format: what to render while training, one prompt per line.

Public names (stable):

- ``SamplePrompt`` (dataclass): prompt, negative_prompt, width, height, seed, cfg_scale, steps, sampler,
  guidance (Flux), index, extra.
- ``parse_prompt_line(line, line_no=None, **defaults) -> SamplePrompt``
- ``parse_prompts(source, **defaults) -> list[SamplePrompt]``: a prompt file (``.txt``, ``.toml``,
  ``.json``), a text with one prompt per line, or a list of lines.

A line is ``prompt --n negative --w 768 --h 512 --d 42 --l 7 --s 28 --ss euler_a --g 3.5``; lines starting
with ``#`` and blank lines are skipped. Options start with `` --`` (a space, then two dashes). Defaults
(sd-scripts'): 512×512, CFG 7.5, 30 steps, random seed, the run's sampler. Sizes are rounded down to a
multiple of 8 (at least 64), steps kept in 1..1000, as sd-scripts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomllib

from lorakit.errors import ConfigError


@dataclass
class SamplePrompt:
    """One sample image to render during training."""

    prompt: str
    negative_prompt: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    cfg_scale: float = 7.5
    steps: int = 30
    sampler: str | None = None  # None: the run's sample_sampler
    guidance: float | None = None  # Flux's distilled guidance (--g)
    index: int = 0  # position in the list; names the sample files
    extra: dict[str, Any] = field(default_factory=dict)  # sd-scripts options we keep but do not use


# option → (field, converter). sd-scripts' names; --cn/--ctr/--rcfg/--fs are kept in `extra`.
_OPTIONS: dict[str, tuple[str, Any]] = {
    "n": ("negative_prompt", str),
    "w": ("width", int),
    "h": ("height", int),
    "d": ("seed", int),
    "l": ("cfg_scale", float),
    "s": ("steps", int),
    "ss": ("sampler", str),
    "g": ("guidance", float),
}
_EXTRA = {"cn": str, "ctr": float, "rcfg": float, "fs": float}
_HELP = (
    "Options are --n negative, --w width, --h height, --d seed, --l CFG scale, --s steps, --ss sampler, --g guidance."
)
_TOML_KEYS = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "width": "width",
    "height": "height",
    "seed": "seed",
    "scale": "cfg_scale",
    "sample_steps": "steps",
    "sample_sampler": "sampler",
    "guidance_scale": "guidance",
}


_TOML_NAME = {field_name: key for key, field_name in _TOML_KEYS.items()}
_FIELD_TYPES: dict[str, Any] = {
    "width": int,
    "height": int,
    "seed": int,
    "steps": int,
    "cfg_scale": float,
    "guidance": float,
}


def _where(line_no: int | None, source: str | None = None) -> str:
    if line_no is None:
        return "A sample prompt"
    return f"Line {line_no}" + (f" of {source}" if source else "") + " of the sample prompts"


def _finish(prompt: SamplePrompt, where: str) -> SamplePrompt:
    if not prompt.prompt.strip():
        raise ConfigError(f"{where} has options but no prompt text.", "Write the prompt before the first --option.")
    for name in ("width", "height"):
        value = getattr(prompt, name)
        if value < 64:
            raise ConfigError(f"{where} asks for {name} {value}.", "Use a size of 64 pixels or more (e.g. --w 512).")
        setattr(prompt, name, value - value % 8)
    prompt.steps = max(1, min(1000, prompt.steps))
    if prompt.cfg_scale < 0 or (prompt.guidance is not None and prompt.guidance < 0):
        raise ConfigError(f"{where} has a negative guidance scale.", "Use --l 7 (CFG) or --g 3.5 (Flux).")
    return prompt


def parse_prompt_line(
    line: str, line_no: int | None = None, source: str | None = None, **defaults: Any
) -> SamplePrompt:
    """One ``prompt --option value ...`` line → :class:`SamplePrompt`; a bad option raises ConfigError."""
    where = _where(line_no, source)
    parts = (" " + line.strip()).split(" --")  # the leading space lets a line that starts with --w fail clearly
    prompt = replace(SamplePrompt(prompt=parts[0].strip()), **defaults)
    prompt.prompt = parts[0].strip()
    prompt.extra = dict(prompt.extra)
    for part in parts[1:]:
        name, _, value = part.strip().partition(" ")
        name, value = name.lower(), value.strip()
        known = _OPTIONS.get(name)
        convert = known[1] if known else _EXTRA.get(name)
        if convert is None:
            raise ConfigError(f"{where} has an unknown option --{name}.", _HELP)
        if not value:
            raise ConfigError(f"{where}: the option --{name} has no value.", _HELP)
        try:
            converted = convert(value)
        except ValueError:
            kind = "a whole number" if convert is int else "a number"
            raise ConfigError(f"{where}: --{name} {value!r} is not {kind}.", _HELP) from None
        if known:
            setattr(prompt, known[0], converted)
        else:
            prompt.extra[name] = converted
    return _finish(prompt, where)


def _from_dict(raw: dict[str, Any], where: str, defaults: dict[str, Any]) -> SamplePrompt:
    values = dict(defaults)
    extra: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TOML_KEYS:
            values[_TOML_KEYS[key]] = value
        elif key not in ("enum", "subset"):
            extra[key] = value
    if not isinstance(values.get("prompt"), str):
        raise ConfigError(f"{where} has no prompt text.", 'Give each sample a prompt = "...".')
    for name, kind in _FIELD_TYPES.items():
        value = values.get(name)
        if value is None:
            continue
        try:
            values[name] = kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {_TOML_NAME[name]} = {value!r} is not a number.", _HELP) from None
    return _finish(SamplePrompt(**{**values, "extra": extra}), where)


def _lines(text: str) -> list[tuple[int, str]]:
    return [
        (n, line.strip())
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def parse_prompts(source: str | Path | Iterable[str], **defaults: Any) -> list[SamplePrompt]:
    """All sample prompts from a file path, a text of lines, or a list of lines, numbered by ``index``.

    ``defaults`` set the run's defaults (e.g. ``width=1024, height=1024, sampler="euler_a"``); options
    written on a line win. A ``.toml`` file uses sd-scripts' ``[prompt]`` defaults with
    ``[[prompt.subset]]`` entries; a ``.json`` file is a list of strings or objects.
    """
    unknown = set(defaults) - set(SamplePrompt.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown SamplePrompt defaults: {sorted(unknown)}")
    prompts: list[SamplePrompt] = []
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and _looks_like_file(source)):
        prompts = _from_file(Path(source), defaults)
    else:
        lines = _lines(source) if isinstance(source, str) else _lines("\n".join(source))
        prompts = [parse_prompt_line(line, n, **defaults) for n, line in lines]
    for i, prompt in enumerate(prompts):
        prompt.index = i
    return prompts


def _looks_like_file(text: str) -> bool:
    # "prompts.txt" is a file name (a missing one is an error, not a prompt); "a cat --w 512" is a prompt.
    return Path(text.strip()).suffix.lower() in (".txt", ".toml", ".json") and " --" not in text


def _from_file(path: Path, defaults: dict[str, Any]) -> list[SamplePrompt]:
    path = path.expanduser()
    if not path.is_file():
        raise ConfigError(
            f"The sample prompt file {path} does not exist.",
            "Check the path, or write the prompts directly (one per line).",
            field="sample_prompts",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"The sample prompt file {path} cannot be read ({exc.__class__.__name__}).",
            "Check the path, and save the file as UTF-8 text.",
            field="sample_prompts",
        ) from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            data = tomllib.loads(text).get("prompt", {})
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}.", "Fix the TOML syntax.") from None
        common = {k: v for k, v in data.items() if k != "subset"}
        return [
            _from_dict({**common, **sub}, f"Entry {i + 1} of {path}", defaults)
            for i, sub in enumerate(data.get("subset", []))
        ]
    if suffix == ".json":
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path} is not valid JSON: {exc}.", "Fix the JSON syntax.") from None
        if not isinstance(items, list):
            raise ConfigError(f"{path} does not hold a list of prompts.", 'Write a JSON list: ["a cat --w 512", ...].')
        return [
            parse_prompt_line(item, i + 1, str(path), **defaults)
            if isinstance(item, str)
            else _from_dict(item, f"Entry {i + 1} of {path}", defaults)
            for i, item in enumerate(items)
        ]
    return [parse_prompt_line(line, n, str(path), **defaults) for n, line in _lines(text)]
