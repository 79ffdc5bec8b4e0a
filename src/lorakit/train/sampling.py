"""Preview images during training, rendered with a diffusers pipeline built from the training modules.

Prompts come in sd-scripts' format (``--n`` negative, ``--w``/``--h`` size, ``--d`` seed, ``--l`` CFG,
``--s`` steps, ``--ss`` sampler), parsed by :mod:`lorakit.train.prompts`; the sampler name is turned
into a diffusers scheduler by :mod:`lorakit.train.samplers`. Each image is saved as
``samples/<name>_<step>_<index>.png`` and announced with a ``sample`` event.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lorakit.train.prompts import SamplePrompt, parse_prompts
from lorakit.train.samplers import make_sampler


def read_prompts(source: Path | list[str] | None, default_size: int, sampler: str) -> list[SamplePrompt]:
    """Prompts from a file or a list, in sd-scripts' prompt-line format, at the run's size by default."""
    if not source:
        return []
    return parse_prompts(source, width=default_size, height=default_size, sampler=sampler)


def render_samples(
    family,
    prompts: list[SamplePrompt],
    folder: Path,
    *,
    name: str,
    step: int,
    sampler: str,
    seed: int,
    zero_terminal_snr: bool = False,
) -> list[tuple[Path, str]]:
    """Render every prompt with the current weights; returns the written paths with their prompts."""
    from lorakit.train.precision import vae_in_own_format

    folder.mkdir(parents=True, exist_ok=True)
    c = family.components
    training = {m: m.training for m in (c.unet, *c.text_encoders)}
    for module in training:
        module.eval()
    written = []
    try:
        for index, p in enumerate(prompts):
            scheduler = make_sampler(p.sampler or sampler, c.noise_scheduler, zero_terminal_snr=zero_terminal_snr)
            pipe = family.pipeline(scheduler)
            generator = torch.Generator().manual_seed(p.seed if p.seed is not None else seed + index)
            with torch.no_grad(), vae_in_own_format(c.vae):
                image = pipe(
                    p.prompt,
                    negative_prompt=p.negative_prompt or None,
                    width=p.width,
                    height=p.height,
                    num_inference_steps=p.steps,
                    # Flux: the distilled guidance (--g, 3.5 when not given) instead of CFG
                    guidance_scale=(p.guidance or 3.5) if family.name == "flux" else p.cfg_scale,
                    generator=generator,
                ).images[0]
            path = folder / f"{name}_{step:06d}_{p.index:02d}.png"
            tmp = path.with_suffix(".tmp.png")
            image.save(tmp)
            tmp.replace(path)
            written.append((path, p.prompt))
    finally:
        for module, was_training in training.items():
            module.train(was_training)
    return written
