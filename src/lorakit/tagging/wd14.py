"""WD14 tagging (SmilingWolf's taggers) on onnxruntime.

A model is a folder (or a Hugging Face repo, downloaded once into the hub cache) with ``model.onnx`` and
``selected_tags.csv``. Preprocessing is the reference one exactly (REFERENCE.md): composite on white,
pad to a centred white square, bicubic resize to the model's input size, float32 0-255, BGR, NHWC, no
normalisation. The input size and whether the batch dimension is dynamic are read from the model.

The pipeline decodes and prepares images in a thread pool, ahead of the model, so the model never
waits for pixels (the bottleneck of most tagging tools). Captions are written as one journaled edit,
undoable with ``lorakit dataset undo``.
"""

from __future__ import annotations

import csv
import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from lorakit.data.captions import CaptionEncodingError, caption_path_for, read_caption
from lorakit.data.images import load_rgb
from lorakit.data.journal import Journal
from lorakit.data.tags import deduplicate, parse_tags
from lorakit.errors import ModelError
from lorakit.events import PROGRESS, RESULT, STATUS, WARNING, Commands, Emitter
from lorakit.tagging.pipeline import prepared_batches
from lorakit.tagging.providers import choose_providers
from lorakit.tagging.tag_rules import TagSettings, caption_text, default_threshold, select_tags

log = logging.getLogger(__name__)
MODEL_FILE, TAGS_FILE = "model.onnx", "selected_tags.csv"
DEFAULT_MODEL = "SmilingWolf/wd-vit-tagger-v3"


def prepare_image(img: Image.Image, size: int) -> np.ndarray:
    """The reference WD14 preprocessing of an RGB image: (size, size, 3) float32, BGR, 0-255."""
    width, height = img.size
    side = max(width, height)
    padded = Image.new("RGB", (side, side), (255, 255, 255))
    padded.paste(img, ((side - width) // 2, (side - height) // 2))
    if side != size:
        padded = padded.resize((size, size), Image.BICUBIC)
    return np.asarray(padded, dtype=np.float32)[:, :, ::-1]


def resolve_model_folder(model: str | os.PathLike) -> Path:
    """A local folder as is; otherwise a Hugging Face repo id, downloaded once (cached by huggingface_hub)."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    name = str(model)
    if path.exists() or name.count("/") != 1 or name.startswith((".", "/", "~")):
        raise ModelError(
            f"The tagger model {name!r} is neither a folder nor a Hugging Face repo id.",
            f"Give a folder holding {MODEL_FILE} and {TAGS_FILE}, or a repo such as {DEFAULT_MODEL}.",
        )
    from huggingface_hub import hf_hub_download

    from lorakit.tagging.hub_check import require_hub

    local_only = require_hub(
        name,
        "tagger",
        MODEL_FILE,
        f"download {MODEL_FILE} and {TAGS_FILE} from huggingface.co/{name} on a connected machine into one"
        " folder and give that folder: --model <folder>.",
    )
    try:
        onnx_path = hf_hub_download(name, MODEL_FILE, local_files_only=local_only)
        hf_hub_download(name, TAGS_FILE, local_files_only=local_only)
    except Exception as error:  # network, auth, missing repo: all one message for the user
        raise ModelError(
            f"Could not download the tagger {name} from Hugging Face ({type(error).__name__}: {error}).",
            "Check the repo id and your internet connection, or download the folder and give its path.",
        ) from error
    return Path(onnx_path).parent


def read_tags_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Tag names and categories from ``selected_tags.csv`` (columns tag_id,name,category,count)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        names = [row["name"] for row in rows]
        categories = np.array([int(row["category"]) for row in rows], dtype=np.int64)
    except (KeyError, ValueError, UnicodeDecodeError, csv.Error) as error:
        raise ModelError(
            f"{path} is not a WD14 tag list ({error}).",
            "It needs the columns tag_id,name,category,count; download it again from the model's repo.",
        ) from error
    return names, categories


class Tagger:
    """A loaded WD14 model: its session, tag list, input size and the provider that runs it."""

    def __init__(self, model: str | os.PathLike, *, providers: list[str] | None = None, threads: int | None = None):
        folder = resolve_model_folder(model)
        onnx_path, tags_path = folder / MODEL_FILE, folder / TAGS_FILE
        for needed in (onnx_path, tags_path):
            if not needed.is_file():
                raise ModelError(
                    f"The tagger folder {folder} has no {needed.name}.",
                    f"A WD14 tagger folder needs both {MODEL_FILE} and {TAGS_FILE} (from the same Hugging Face"
                    " repo); download the missing file next to the other.",
                )
        import onnxruntime as ort

        self.name = str(model)
        self.names, self.categories = read_tags_csv(tags_path)
        chosen, self.provider_note = choose_providers(providers)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        if chosen[0] == "CPUExecutionProvider":
            # Idle onnxruntime threads busy-wait by default, taking the cores our decode threads need to
            # prepare the next batch; sleeping instead lets both share the CPU.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(onnx_path), options, providers=chosen)
        except Exception as error:  # onnxruntime raises its own exception types for a bad file
            raise ModelError(
                f"{onnx_path} cannot be loaded by onnxruntime ({error}).", "Download it again."
            ) from error
        self.provider = self.session.get_providers()[0]
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        shape = model_input.shape
        if len(shape) != 4 or not isinstance(shape[1], int) or shape[3] != 3:
            raise ModelError(
                f"{onnx_path.name} does not look like a WD14 tagger (input shape {shape}, expected [batch, H, W, 3]).",
                "Use a SmilingWolf WD14 tagger model.",
            )
        self.size = int(shape[1])
        self.fixed_batch = shape[0] if isinstance(shape[0], int) else None
        outputs = self.session.get_outputs()[0].shape
        if isinstance(outputs[-1], int) and outputs[-1] != len(self.names):
            raise ModelError(
                f"The model predicts {outputs[-1]} tags but {TAGS_FILE} lists {len(self.names)}.",
                "Both files must come from the same model repo; download them again together.",
            )
        self.default_threshold = default_threshold(self.name)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a prepared batch (N, size, size, 3); split when the model's batch is fixed."""
        if self.fixed_batch and len(batch) != self.fixed_batch:
            return np.concatenate([self.predict(batch[i : i + 1]) for i in range(len(batch))])
        return self.session.run(None, {self.input_name: batch})[0]

    def tags(self, probs: np.ndarray, settings: TagSettings) -> list[str]:
        threshold = settings.general_threshold if settings.general_threshold is not None else self.default_threshold
        return select_tags(probs, self.names, self.categories, settings, general_threshold=threshold)


@dataclass
class TagReport:
    tagged: dict[str, str] = field(default_factory=dict)  # image → caption written
    skipped: dict[str, str] = field(default_factory=dict)  # image → reason
    journal_id: str | None = None
    provider: str = ""
    provider_note: str = ""
    images_per_second: float = 0.0
    stopped: bool = False

    def to_dict(self) -> dict:
        return vars(self).copy()


def tag_images(
    root: str | os.PathLike,
    images: Iterable[str | os.PathLike],
    tagger: Tagger,
    settings: TagSettings | None = None,
    *,
    emitter: Emitter | None = None,
    commands: Commands | None = None,
    workers: int | None = None,
) -> TagReport:
    """Tag images and write their captions as one undoable edit (``Journal(root).undo()``)."""
    settings = settings or TagSettings()
    report = TagReport(provider=tagger.provider, provider_note=tagger.provider_note)
    if emitter:
        emitter.emit(STATUS, state="running", message=f"Tagging on {tagger.provider}. {tagger.provider_note}".strip())
        if "GPU" in tagger.provider_note and "missing" in tagger.provider_note:
            emitter.emit(WARNING, message=tagger.provider_note, fix="pip install onnxruntime-gpu")
    todo, existing = [], {}
    for image in map(Path, images):
        caption_file = caption_path_for(image, settings.caption_extension)
        try:
            caption = read_caption(caption_file)
        except CaptionEncodingError as error:
            report.skipped[str(image)] = error.problem
            continue
        if caption.text.strip() and settings.existing == "skip":
            report.skipped[str(image)] = "already has a caption"
            continue
        existing[image] = caption
        todo.append(image)

    new_texts, versions = {}, {}
    started, done = time.perf_counter(), 0

    def prepare(path: Path) -> np.ndarray:
        return prepare_image(load_rgb(path), tagger.size)

    for paths, arrays, errors in prepared_batches(todo, max(1, settings.batch_size), prepare, workers=workers):
        report.skipped.update({str(p): e for p, e in errors.items()})
        probs = tagger.predict(np.stack(arrays)) if arrays else []
        for path, row in zip(paths, probs, strict=True):
            tags = tagger.tags(row, settings)
            old = existing[path]
            if settings.existing == "append" and old.text.strip():
                tags = deduplicate(parse_tags(old.text) + tags)
            caption_file = caption_path_for(path, settings.caption_extension)
            new_texts[caption_file] = caption_text(tags, settings)
            versions[caption_file] = old.version
            report.tagged[str(path)] = new_texts[caption_file]
        done += len(paths) + len(errors)
        if emitter:
            rate = done / max(time.perf_counter() - started, 1e-9)
            emitter.emit(PROGRESS, done=done, total=len(todo), unit="images", rate=round(rate, 2))
        asked = commands.poll() if commands else set()
        if asked & {"stop", "cancel"}:
            report.stopped = True
            if "cancel" in asked:  # cancel: write nothing; stop: keep the captions made so far
                new_texts.clear()
                report.tagged.clear()
            break
    elapsed = time.perf_counter() - started
    report.images_per_second = round(len(report.tagged) / elapsed, 2) if elapsed > 0 and report.tagged else 0.0
    result = Journal(root).write(f"tag with {Path(tagger.name).name}", new_texts, versions)
    report.journal_id = result.entry.id if result.entry else None
    image_of = {caption_path_for(Path(i), settings.caption_extension): i for i in report.tagged}
    for path in result.conflicts:
        report.tagged.pop(image_of[path], None)
        report.skipped[image_of[path]] = "caption changed by another program while tagging; left as it is"
    if emitter:
        emitter.emit(RESULT, tagged=len(report.tagged), skipped=len(report.skipped), journal_id=report.journal_id)
    return report
