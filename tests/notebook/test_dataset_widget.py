"""The dataset widget driven as a user would: images in, health, duplicates, caption edits with Undo."""

from __future__ import annotations

import datetime
import io

from PIL import Image

from lorakit.data.captions import read_caption
from lorakit.notebook.dataset_widget import DatasetStep


def _upload(name: str, content: bytes) -> dict:
    now = datetime.datetime.now()
    return {"name": name, "type": "", "size": len(content), "content": memoryview(content), "last_modified": now}


def _png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (96, 96), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_out_of_order_clicks_say_which_step_comes_first(nb_session):
    step = DatasetStep(nb_session)
    step.check_button.click()
    assert step.status.kind == "fail"
    assert "No dataset has been chosen yet" in step.status.text
    step.captions.apply_button.click()
    assert "No dataset has been chosen yet" in step.status.text


def test_a_missing_server_path_and_a_non_image_upload_are_explained(nb_session):
    step = DatasetStep(nb_session)
    step.server_path.value = str(nb_session.workspace.root / "nowhere")
    step.server_button.click()
    assert step.status.kind == "fail" and "Nothing is at" in step.status.text
    step.name.value = "uploads"
    step.upload.value = (_upload("notes.txt", b"not an image"),)
    step.upload_button.click()
    assert step.status.kind == "fail"
    assert "No images were imported" in step.status.text
    assert "notes.txt" in step.summary.value


def test_upload_imports_images_and_remembers_the_dataset(nb_session):
    step = DatasetStep(nb_session)
    step.name.value = "colours"
    step.upload.value = (_upload("red.png", _png("red")), _upload("blue.png", _png("blue")))
    step.upload_button.click()
    folder = nb_session.workspace.datasets / "colours"
    assert sorted(p.name for p in folder.glob("*.png")) == ["blue.png", "red.png"], step.status.text
    assert nb_session.get("dataset") == "datasets/colours"
    assert not list((nb_session.workspace.root / ".cache" / "uploads").iterdir())  # staging cleaned up


def test_tag_edit_applied_and_undone_on_disk(sample_session):
    step = DatasetStep(sample_session, tab="captions")
    caption = sample_session.workspace.datasets / "kitbot" / "10_kitbot" / "kitbot_03.txt"
    before = caption.read_bytes()
    panel = step.captions
    panel.edit_kind.value = "add"
    panel.edit_tags.value = "red scarf"
    panel.apply_button.click()
    assert read_caption(caption).text.endswith("red scarf"), step.status.text
    assert "red scarf" in panel.frequency.value
    panel.edit_kind.value = "replace"
    panel.edit_tags.value = "red scarf=blue scarf"
    panel.apply_button.click()
    assert "blue scarf" in read_caption(caption).text
    panel.undo_button.click()
    assert "red scarf" in read_caption(caption).text
    panel.undo_button.click()
    assert caption.read_bytes() == before


def test_trigger_word_and_single_caption_editor(sample_session):
    step = DatasetStep(sample_session, tab="captions")
    caption = sample_session.workspace.datasets / "kitbot" / "10_kitbot" / "kitbot_01.txt"
    caption.write_text("robot cat, kitbot", encoding="utf-8")
    step.trigger.value = "kitbot"
    step.captions.trigger_button.click()
    assert read_caption(caption).text.startswith("kitbot, robot cat")
    panel = step.captions
    panel.load_button.click()
    panel.image.value = next(p for _name, p in panel.image.options if p.stem == "kitbot_01")
    assert panel.preview.value[:4] == b"\x89PNG"
    assert panel.caption.value == read_caption(caption).text
    panel.caption.value = "kitbot, waving"
    panel.save_caption_button.click()
    assert read_caption(caption).text == "kitbot, waving"
    panel.undo_button.click()
    assert read_caption(caption).text.startswith("kitbot, robot cat")


def test_health_findings_and_duplicates_keep_or_trash(sample_session):
    step = DatasetStep(sample_session, tab="health")
    step.check_button.click()
    texts = " ".join(getattr(w, "value", "") or "" for w in step.findings.children if hasattr(w, "value"))
    assert "duplicate" in texts
    step.dedup_button.click()
    assert step._groups, step.status.text
    group = step._groups[0]
    chosen = group.duplicates[0]  # keep the one lorakit did not suggest
    step._keep[0].value = chosen
    step.trash_button.click()
    assert chosen.exists()
    assert not group.keeper.exists()
    assert "trash" in step.status.text
