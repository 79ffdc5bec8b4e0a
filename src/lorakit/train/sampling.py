"""Preview images during training, rendered with a diffusers pipeline built from the training modules.

Prompts come in sd-scripts' format (``--n`` negative, ``--w``/``--h`` size, ``--d`` seed, ``--l`` CFG,
``--s`` steps, ``--ss`` sampler), parsed by :mod:`lorakit.train.prompts`; the sampler name is turned
into a diffusers scheduler by :mod:`lorakit.train.samplers`. Each image is saved as
``samples/<name>_<step>_<index>.png`` and announced with a ``sample`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class SamplePrompt:
    prompt: str
    negative: str = ""
    width: int = 512
    height: int = 512
    seed: int | None = None
    cfg_scale: float = 7.0
    steps: int = 20
    sampler: str | None = None


def read_prompts(source: Path | list[str] | None, default_size: int) -> list[SamplePrompt]:
    """Prompts from a file or a list, in sd-scripts' prompt-line format."""
    if source is None:
        return []
    lines = source if isinstance(source, list) else Path(source).read_text(encoding="utf-8").splitlines()
    try:
        from lorakit.train import prompts as parser
    except ImportError:  # parsing module not installed in this build: read the options here
        parser = None
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if parser is not None and hasattr(parser, "parse_prompt_line"):
            parsed = parser.parse_prompt_line(line)
            out.append(
                SamplePrompt(
                    prompt=parsed.prompt,
                    negative=parsed.negative or "",
                    width=parsed.width or default_size,
                    height=parsed.height or default_size,
                    seed=parsed.seed,
                    cfg_scale=parsed.cfg_scale or 7.0,
                    steps=parsed.steps or 20,
                    sampler=parsed.sampler,
                )
            )
        else:
            out.append(_parse_line(line, default_size))
    return out


def _parse_line(line: str, default_size: int) -> SamplePrompt:
    parts = line.split(" --")
    p = SamplePrompt(prompt=parts[0].strip(), width=default_size, height=default_size)
    for part in parts[1:]:
        key, _, value = part.partition(" ")
        value = value.strip()
        setters = {
            "n": lambda v: setattr(p, "negative", v),
            "w": lambda v: setattr(p, "width", int(v)),
            "h": lambda v: setattr(p, "height", int(v)),
            "d": lambda v: setattr(p, "seed", int(v)),
            "l": lambda v: setattr(p, "cfg_scale", float(v)),
            "s": lambda v: setattr(p, "steps", int(v)),
            "ss": lambda v: setattr(p, "sampler", v),
        }
        if key in setters and value:
            setters[key](value)
    return p


def make_scheduler(name: str, base_config: dict):
    """A diffusers scheduler for a sampler name (``euler_a``, ``ddim``, ``dpm++_2m_karras``, ...)."""
    try:
        from lorakit.train import samplers

        if hasattr(samplers, "make_scheduler"):
            return samplers.make_scheduler(name, base_config)
    except ImportError:
        pass
    import diffusers

    table = {
        "ddim": ("DDIMScheduler", {}),
        "euler": ("EulerDiscreteScheduler", {}),
        "euler_a": ("EulerAncestralDiscreteScheduler", {}),
        "dpm++_2m": ("DPMSolverMultistepScheduler", {}),
        "dpm++_2m_karras": ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}),
        "pndm": ("PNDMScheduler", {}),
        "lms": ("LMSDiscreteScheduler", {}),
    }
    cls_name, extra = table.get(name.lower(), table["euler_a"])
    return getattr(diffusers, cls_name).from_config({**base_config, **extra})


def render_samples(family, prompts: list[SamplePrompt], folder: Path, *, name: str, step: int, sampler: str, seed: int):
    """Render every prompt with the current weights; returns the written paths with their prompts."""
    folder.mkdir(parents=True, exist_ok=True)
    c = family.components
    training = {m: m.training for m in (c.unet, *c.text_encoders)}
    for module in training:
        module.eval()
    written = []
    try:
        for index, p in enumerate(prompts):
            scheduler = make_scheduler(p.sampler or sampler, dict(c.noise_scheduler.config))
            pipe = family.pipeline(scheduler)
            generator = torch.Generator().manual_seed(p.seed if p.seed is not None else seed + index)
            with torch.no_grad():
                image = pipe(
                    p.prompt,
                    negative_prompt=p.negative or None,
                    width=p.width,
                    height=p.height,
                    num_inference_steps=p.steps,
                    guidance_scale=p.cfg_scale,
                    generator=generator,
                ).images[0]
            path = folder / f"{name}_{step:06d}_{index:02d}.png"
            tmp = path.with_suffix(".tmp.png")
            image.save(tmp)
            tmp.replace(path)
            written.append((path, p.prompt))
    finally:
        for module, was_training in training.items():
            module.train(was_training)
    return written
