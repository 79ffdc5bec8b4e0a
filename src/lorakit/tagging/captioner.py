"""Sentence captions from transformers image-to-text models (BLIP, BLIP-2, Florence-2, GIT, any model id).

Optional: needs the ``caption`` extra (transformers + torch), imported only when a captioner is made.
Captions are generated in batches, get an optional prefix/suffix (a trigger word, a style note), and
are written to the caption files, replacing them or combined with the tags already there. Like tagging,
the whole run is one journaled edit: ``lorakit dataset undo`` takes it back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lorakit.data.captions import CaptionEncodingError, caption_path_for, read_caption
from lorakit.data.images import load_rgb
from lorakit.data.journal import Journal
from lorakit.errors import LorakitError, ModelError
from lorakit.events import PROGRESS, RESULT, STATUS, Commands, Emitter
from lorakit.tagging.pipeline import prepared_batches

DEFAULT_CAPTIONER = "Salesforce/blip-image-captioning-large"
MODES = ("replace", "before_tags", "after_tags", "skip_existing")


@dataclass
class CaptionSettings:
    """How captions are made and written.

    mode: ``replace`` the caption, put the sentence ``before_tags`` or ``after_tags`` already in the
    file, or ``skip_existing`` (only images without a caption).
    """

    prefix: str = ""
    suffix: str = ""
    mode: str = "replace"
    prompt: str | None = None  # a task or start text, e.g. "<MORE_DETAILED_CAPTION>" for Florence-2
    batch_size: int = 8
    max_new_tokens: int = 60
    min_new_tokens: int = 0
    num_beams: int = 3
    caption_extension: str = ".txt"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            from lorakit.errors import ConfigError

            raise ConfigError(f"mode={self.mode!r} is not a choice.", f"Use one of: {', '.join(MODES)}.")


class Captioner:
    """A loaded image-to-text model with its processor, on the best device available."""

    def __init__(
        self, model: str | os.PathLike = DEFAULT_CAPTIONER, *, device: str | None = None, trust_remote_code=False
    ):
        try:
            import torch
            from transformers import AutoModelForImageTextToText, AutoProcessor
        except ImportError as error:
            raise LorakitError(
                "Captioning needs transformers and torch, which are not installed.",
                "Install the extra: pip install 'lorakit[caption]'.",
            ) from error
        self.name = str(model)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
        self.device = device
        dtype = torch.float16 if device == "cuda" else torch.float32
        local_only = False
        looks_like_repo_id = self.name.count("/") == 1 and not self.name.startswith((".", "/", "~"))
        if looks_like_repo_id and not Path(self.name).expanduser().is_dir():
            from lorakit.tagging.hub_check import require_hub

            local_only = require_hub(
                self.name,
                "captioning model",
                "config.json",
                "download the whole model folder on a connected machine (huggingface-cli download"
                f" {self.name} --local-dir <folder>) and give that folder: --model <folder>.",
            )
        try:
            self.processor = AutoProcessor.from_pretrained(
                self.name, trust_remote_code=trust_remote_code, local_files_only=local_only
            )
            self.model = AutoModelForImageTextToText.from_pretrained(
                self.name, dtype=dtype, trust_remote_code=trust_remote_code, local_files_only=local_only
            )
        except (OSError, ValueError) as error:
            raise ModelError(
                f"Could not load the captioning model {self.name} ({error}).",
                "Check the model id or folder. Models with custom code (Florence-2) need --trust-remote-code.",
            ) from error
        self.model.to(device).eval()
        self.dtype = dtype

    def caption(self, images: list, settings: CaptionSettings) -> list[str]:
        """Captions for a list of RGB PIL images (one batch)."""
        import torch

        kwargs = {"images": images, "return_tensors": "pt"}
        if settings.prompt:
            kwargs["text"] = [settings.prompt] * len(images)
        inputs = self.processor(**kwargs).to(self.device)
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(self.dtype)
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=settings.max_new_tokens,
                min_new_tokens=settings.min_new_tokens,
                num_beams=settings.num_beams,
                do_sample=False,
            )
        texts = self.processor.batch_decode(out, skip_special_tokens=True)
        return [clean_caption(t, settings.prompt) for t in texts]


def clean_caption(text: str, prompt: str | None) -> str:
    """Strip the echoed prompt and whitespace (conditional BLIP repeats its start text)."""
    text = text.strip()
    if prompt and not prompt.startswith("<") and text.lower().startswith(prompt.lower()):
        text = text[len(prompt) :].strip()
    return " ".join(text.split())


def combine(sentence: str, existing: str, settings: CaptionSettings) -> str:
    sentence = " ".join(p for p in (settings.prefix.strip(), sentence, settings.suffix.strip()) if p)
    existing = existing.strip()
    if settings.mode == "before_tags" and existing:
        return f"{sentence}, {existing}"
    if settings.mode == "after_tags" and existing:
        return f"{existing}, {sentence}"
    return sentence


@dataclass
class CaptionReport:
    captioned: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    journal_id: str | None = None
    device: str = ""
    images_per_second: float = 0.0

    def to_dict(self) -> dict:
        return vars(self).copy()


def caption_images(
    root: str | os.PathLike,
    images: Iterable[str | os.PathLike],
    captioner: Captioner,
    settings: CaptionSettings | None = None,
    *,
    emitter: Emitter | None = None,
    commands: Commands | None = None,
) -> CaptionReport:
    """Caption images in batches and write the captions as one undoable edit."""
    settings = settings or CaptionSettings()
    report = CaptionReport(device=captioner.device)
    if emitter:
        emitter.emit(STATUS, state="running", message=f"Captioning with {captioner.name} on {captioner.device}")
    todo, existing = [], {}
    for image in map(Path, images):
        try:
            caption = read_caption(caption_path_for(image, settings.caption_extension))
        except CaptionEncodingError as error:
            report.skipped[str(image)] = error.problem
            continue
        if settings.mode == "skip_existing" and caption.text.strip():
            report.skipped[str(image)] = "already has a caption"
            continue
        existing[image] = caption
        todo.append(image)
    new_texts, versions = {}, {}
    started, done = time.perf_counter(), 0
    # Images are decoded ahead in threads; the processor resizes and normalises for its own model.
    for paths, pictures, errors in prepared_batches(todo, max(1, settings.batch_size), load_rgb):
        report.skipped.update({str(p): e for p, e in errors.items()})
        if paths:
            for path, sentence in zip(paths, captioner.caption(pictures, settings), strict=True):
                file = caption_path_for(path, settings.caption_extension)
                new_texts[file] = combine(sentence, existing[path].text, settings)
                versions[file] = existing[path].version
                report.captioned[str(path)] = new_texts[file]
        done += len(paths) + len(errors)
        if emitter:
            emitter.emit(PROGRESS, done=done, total=len(todo), unit="images")
        asked = commands.poll() if commands else set()
        if asked & {"stop", "cancel"}:
            if "cancel" in asked:  # cancel: write nothing; stop: keep the captions made so far
                new_texts.clear()
                report.captioned.clear()
            break
    elapsed = time.perf_counter() - started
    report.images_per_second = round(len(report.captioned) / elapsed, 2) if report.captioned and elapsed else 0.0
    result = Journal(root).write(f"caption with {Path(captioner.name).name}", new_texts, versions)
    report.journal_id = result.entry.id if result.entry else None
    if emitter:
        emitter.emit(RESULT, captioned=len(report.captioned), journal_id=report.journal_id)
    return report
