"""The README.md model card for a published LoRA, written from what the LoRA file knows about itself.

The YAML header is what the Hugging Face Hub reads: ``base_model`` (links the LoRA to its base),
``instance_prompt`` (trigger words), ``tags`` and a ``widget`` gallery of sample images with their prompts.
The body repeats that for people: how to use it, the training settings, and the most frequent tags of
the dataset (from ``ss_tag_frequency``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from lorakit.lora.inspect import InspectReport

# The Hub repo each family's LoRAs are usually trained on; users can override it.
BASE_MODELS = {
    "sd1": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sd2": "stabilityai/stable-diffusion-2-1",
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "flux": "black-forest-labs/FLUX.1-dev",
}
PIPELINES = {
    "sd1": "StableDiffusionPipeline",
    "sd2": "StableDiffusionPipeline",
    "sdxl": "StableDiffusionXLPipeline",
    "flux": "FluxPipeline",
}


@dataclass
class SampleImage:
    """An image to show on the card: where it is in the repo and the prompt that made it."""

    path_in_repo: str
    prompt: str = ""


@dataclass
class CardInput:
    repo_id: str
    lora_filename: str
    report: InspectReport
    title: str | None = None
    description: str | None = None
    base_model: str | None = None
    trigger_words: list[str] | None = None
    prompts: list[str] = field(default_factory=list)
    images: list[SampleImage] = field(default_factory=list)
    license: str | None = None


def _yaml(value: str) -> str:
    # A JSON string is a valid YAML scalar and escapes quotes, colons and newlines safely.
    return json.dumps(value, ensure_ascii=False)


def model_card(card: CardInput) -> str:
    """The full README.md text."""
    report = card.report
    family = report.family or ""
    base_model = card.base_model or BASE_MODELS.get(family)
    triggers = card.trigger_words if card.trigger_words is not None else report.trigger_words
    title = card.title or report.modelspec.get("title") or card.lora_filename.rsplit(".", 1)[0]
    prompts = list(card.prompts) or [img.prompt for img in card.images if img.prompt]
    if not prompts and triggers:
        prompts = [", ".join(triggers)]

    tags = ["text-to-image", "lora", "diffusers", "template:sd-lora", "lorakit"]
    if family == "sdxl":
        tags.insert(1, "stable-diffusion-xl")
    elif family in ("sd1", "sd2"):
        tags.insert(1, "stable-diffusion")
    elif family == "flux":
        tags.insert(1, "flux")
    lines = ["---", "tags:"] + [f"- {_yaml(t)}" for t in tags]
    if base_model:
        lines.append(f"base_model: {_yaml(base_model)}")
    if triggers:
        lines.append(f"instance_prompt: {_yaml(', '.join(triggers))}")
    if card.license:
        lines.append(f"license: {_yaml(card.license)}")
    if card.images:
        lines.append("widget:")
        for image in card.images:
            lines.append(f"- text: {_yaml(image.prompt or (', '.join(triggers) if triggers else title))}")
            lines.append("  output:")
            lines.append(f"    url: {_yaml(image.path_in_repo)}")
    lines += ["---", "", f"# {title}", ""]
    if card.description:
        lines += [card.description.strip(), ""]
    lines += [
        f"A {report.network or 'LoRA'} adapter for {report.base_label}"
        + (f" (`{base_model}`)" if base_model else "")
        + ", made with lorakit.",
        "",
    ]
    if card.images:
        lines += ["<Gallery />", ""]
    lines += ["## Trigger words", ""]
    lines += [f"Use `{', '.join(triggers)}` in your prompt." if triggers else "This LoRA has no trigger words.", ""]
    lines += [
        "## Download",
        "",
        f"[{card.lora_filename}](/{card.repo_id}/blob/main/{card.lora_filename}) — for "
        "ComfyUI, A1111/Forge (`models/Lora`) and diffusers.",
        "",
    ]
    lines += _usage(card, family, base_model, prompts)
    if prompts:
        lines += ["## Example prompts", ""] + [f"- `{p}`" for p in prompts] + [""]
    lines += _training(report)
    if report.top_tags:
        lines += ["## Most frequent tags in the training captions", "", "| tag | count |", "|---|---|"]
        lines += [f"| {tag.replace('|', '/')} | {count} |" for tag, count in report.top_tags[:15]] + [""]
    return "\n".join(lines)


def _usage(card: CardInput, family: str, base_model: str | None, prompts: list[str]) -> list[str]:
    if not base_model or family not in PIPELINES:
        return []
    prompt = prompts[0] if prompts else "a photo"
    return [
        "## Use with diffusers",
        "",
        "```python",
        "import torch",
        f"from diffusers import {PIPELINES[family]}",
        "",
        f"pipe = {PIPELINES[family]}.from_pretrained({base_model!r}, torch_dtype=torch.float16).to('cuda')",
        f"pipe.load_lora_weights({card.repo_id!r}, weight_name={card.lora_filename!r})",
        f"image = pipe({prompt!r}).images[0]",
        "```",
        "",
    ]


def _training(report: InspectReport) -> list[str]:
    rows = dict(report.training)
    if report.ranks:
        rows.setdefault("rank (network_dim)", ", ".join(str(r) for r in report.ranks))
    rows["modules"] = ", ".join(f"{part}: {n}" for part, n in report.parts.items())
    if not rows:
        return []
    out = ["## Training settings", "", "| setting | value |", "|---|---|"]
    out += [f"| {name} | {str(value).replace('|', '/')[:200]} |" for name, value in rows.items()]
    if report.dataset_dirs:
        out += ["", "Dataset folders: " + ", ".join(f"`{d}`" for d in report.dataset_dirs)]
    return [*out, ""]
