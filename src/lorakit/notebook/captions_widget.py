"""The dataset step's Tagging and Captions tabs: WD14 tagging or image-to-text captioning as a job with live
progress, then the trigger word, bulk add/remove/replace with Undo (the dataset's caption journal), the tag
frequency table and a per-image caption editor with a thumbnail."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import ipywidgets as W

from lorakit.errors import DatasetError, LorakitError
from lorakit.events import Event
from lorakit.notebook import kit
from lorakit.notebook.images import thumbnail_bytes
from lorakit.notebook.jobview import JobView

if TYPE_CHECKING:
    from lorakit.notebook.dataset_widget import DatasetStep

# Tagging presets: the thresholds people start from (a character keeps fewer, surer tags; a style more).
TAG_PRESETS = {
    "Character (fewer, surer tags)": {"general_threshold": 0.35, "character_first": True},
    "Style (more tags)": {"general_threshold": 0.25},
    "Automatic threshold (MCut)": {"general_mcut": True},
}
CAPTION_PRESETS = {
    "Replace captions with a sentence": {"mode": "replace"},
    "Sentence before the tags": {"mode": "before_tags"},
    "Sentence after the tags": {"mode": "after_tags"},
}
EDITS = {"Add tags": "add", "Remove tags": "remove", "Replace tags (old=new, ...)": "replace"}


class CaptionsPanel:
    """Two boxes, ``tagging`` and ``editing``, working on the dataset step's current dataset."""

    def __init__(self, step: DatasetStep):
        self.step = step
        self.session = step.session
        self.status = step.status
        # --- tagging -------------------------------------------------------------------------------
        self.tagger = W.Dropdown(options=self._taggers(), description="WD14 model")
        self.tag_preset = W.Dropdown(options=list(TAG_PRESETS), description="Preset")
        self.existing = W.Dropdown(options=["skip", "append", "overwrite"], description="Existing captions")
        self.tag_button = kit.button("Tag the images", "success", "tags")
        self.tag_button.on_click(lambda _b: self.tag())
        self.captioner = W.Text(placeholder="models/… folder or a Hugging Face repo id", description="Caption model")
        self.caption_preset = W.Dropdown(options=list(CAPTION_PRESETS), description="Preset")
        self.caption_button = kit.button("Caption the images", "success")
        self.caption_button.on_click(lambda _b: self.caption())
        self.job = JobView(self.session, self.status, self._job_event)
        self.tagging = W.VBox(
            [
                W.HTML("Put a WD14 tagger (model.onnx + selected_tags.csv) in <code>models/taggers/NAME</code>."),
                W.HBox([self.tagger, self.tag_preset, self.existing]),
                self.tag_button,
                kit.advanced(W.HBox([self.captioner, self.caption_preset]), self.caption_button, title="Captioning"),
                self.job.box,
            ]
        )
        # --- captions ------------------------------------------------------------------------------
        self.trigger_button = kit.button("Put the trigger word first in every caption", "info")
        self.trigger_button.on_click(lambda _b: self.add_trigger())
        self.edit_kind = W.Dropdown(options=list(EDITS.items()), description="Bulk edit")
        self.edit_tags = W.Text(placeholder="tag one, tag two   (replace: old=new, old2=new2)", description="Tags")
        self.apply_button = kit.button("Apply to every caption", "warning")
        self.apply_button.on_click(lambda _b: self.bulk_edit())
        self.undo_button = kit.button("Undo the last edit", "", "undo")
        self.undo_button.on_click(lambda _b: self.undo())
        self.frequency = W.HTML()
        self.refresh_button = kit.button("Show tag frequency", "", "refresh")
        self.refresh_button.on_click(lambda _b: self.show_frequency())
        self.image = W.Dropdown(description="Image", layout=W.Layout(width="30em"))
        self.image.observe(lambda _c: self.show_image(), names="value")
        self.preview = W.Image(format="png", width=192)
        self.caption = W.Textarea(layout=W.Layout(width="36em", height="8em"))
        self.save_caption_button = kit.button("Save caption", "success", "save")
        self.save_caption_button.on_click(lambda _b: self.save_caption())
        self.load_button = kit.button("List images", "", "list")
        self.load_button.on_click(lambda _b: self.list_images())
        self.editing = W.VBox(
            [
                self.trigger_button,
                W.HBox([self.edit_kind, self.edit_tags]),
                W.HBox([self.apply_button, self.undo_button]),
                W.HBox([self.refresh_button]),
                self.frequency,
                W.HBox([self.load_button, self.image]),
                W.HBox([self.preview, W.VBox([self.caption, self.save_caption_button])]),
            ]
        )

    def _taggers(self) -> list[tuple[str, str]]:
        folder = self.session.workspace.model_folder("taggers")
        found = sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [(p.name, self.session.rel(p)) for p in found]

    # --- tagging and captioning as jobs ------------------------------------------------------------
    @kit.guarded()
    def tag(self) -> str:
        dataset = self.step.current()
        self.tagger.options = self._taggers()
        if not self.tagger.value:
            raise DatasetError(
                "There is no WD14 tagger in models/taggers.",
                "Put one there (a folder with model.onnx and selected_tags.csv, e.g. SmilingWolf/wd-vit-tagger-v3),"
                " or download it with the Setup step's model link.",
            )
        settings = {**TAG_PRESETS[self.tag_preset.value], "existing": self.existing.value}
        params = {"dataset": self.session.rel(dataset), "model": self.tagger.value, "settings": settings}
        return self._submit("tag", params)

    @kit.guarded()
    def caption(self) -> str:
        dataset = self.step.current()
        params = {"dataset": self.session.rel(dataset), "settings": CAPTION_PRESETS[self.caption_preset.value]}
        if self.captioner.value.strip():
            params["model"] = self.captioner.value.strip()
        return self._submit("caption", params)

    def _submit(self, kind: str, params: dict) -> str:
        job = self.session.runner.submit(kind, params)
        self.status.set("busy", f"{kind.capitalize()} job {job.id} started.")
        self.job.attach(job.id)
        return job.id

    def _job_event(self, event: Event) -> None:
        if event.type == "result":
            self.show_frequency()

    # --- caption edits -----------------------------------------------------------------------------
    def _images(self) -> list[Path]:
        from lorakit.data.images import list_images

        return list_images(self.step.current())

    def _edit(self, edit, images: list[Path] | None = None) -> None:
        from lorakit.data.tags import edit_captions

        report = edit_captions(self.step.current(), images or self._images(), edit)
        changed = len(report.result.changed)
        self.status.set("ok", f"{edit.describe().capitalize()}: {changed} caption(s) changed.", "Undo is one click.")
        self.show_frequency()

    @kit.guarded()
    def add_trigger(self) -> None:
        from lorakit.data.tags import TagEdit

        self.step.current()
        word = self.step.trigger.value.strip()
        if not word:
            raise DatasetError("No trigger word has been set.", "Type one in the Health tab's Trigger word box.")
        self.session.remember(trigger_word=word)
        self._edit(TagEdit("trigger", tags=[word]))

    @kit.guarded()
    def bulk_edit(self) -> None:
        from lorakit.data.tags import TagEdit, parse_tags

        self.step.current()  # an out-of-order click names the missing step first
        kind = self.edit_kind.value
        text = self.edit_tags.value.strip()
        if kind == "replace":
            mapping = {}
            for pair in filter(None, (p.strip() for p in text.split(","))):
                old, sep, new = pair.partition("=")
                if not sep:
                    raise DatasetError(
                        f"{pair!r} is not old=new.", "Write replacements as old=new, separated by commas."
                    )
                mapping[old.strip()] = new.strip()
            edit = TagEdit("replace", mapping=mapping)
        else:
            edit = TagEdit(kind, tags=parse_tags(text))
        self._edit(edit)

    @kit.guarded()
    def undo(self) -> None:
        from lorakit.data.journal import Journal

        results = Journal(self.step.current()).undo(1)
        if not results:
            raise LorakitError("There is no caption edit to undo.", "Edits made here (and by lorakit) can be undone.")
        result = results[0]
        if result.conflicts:
            self.status.set("warn", f"{len(result.conflicts)} caption(s) changed since; left as they are.")
        else:
            self.status.set("ok", "Undone.")
        self.show_frequency()
        self.show_image()

    @kit.guarded()
    def show_frequency(self) -> None:
        from lorakit.data.tags import read_all_tags, tag_frequency

        counts = tag_frequency(read_all_tags(self._images()).values())
        rows = "".join(
            f"<tr><td>{kit.esc(tag)}</td><td align='right'>{n}</td></tr>" for tag, n in counts.most_common(40)
        )
        self.frequency.value = (
            f"<table><tr><th align='left'>tag</th><th>captions</th></tr>{rows}</table>"
            if rows
            else kit.line("info", "No tags yet.")
        )

    @kit.guarded()
    def list_images(self) -> None:
        root = self.step.current()
        self.image.options = [(str(p.relative_to(root)), p) for p in self._images()]

    def show_image(self) -> None:
        from lorakit.data.captions import caption_path_for, read_caption

        path = self.image.value
        if path is None:
            return
        try:
            self.preview.value = thumbnail_bytes(path, 192)
            self.caption.value = read_caption(caption_path_for(path), self.step.current()).text
        except (LorakitError, OSError) as error:
            self.status.set("warn", f"Cannot show {Path(path).name}: {error}")

    @kit.guarded()
    def save_caption(self) -> None:
        from lorakit.data.tags import TagEdit

        if self.image.value is None:
            raise DatasetError("No image is chosen.", "Press 'List images' and pick one.")
        self._edit(TagEdit("set", text=self.caption.value), [self.image.value])
