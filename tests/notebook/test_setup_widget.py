"""The setup widget: the base model choice, a bad link explained, tokens stored owner-only and shown masked."""

from __future__ import annotations

import json
import stat

from lorakit.notebook.setup_widget import SetupStep


def test_builtin_model_is_remembered_for_the_next_steps(nb_session):
    step = SetupStep(nb_session, checks=False)
    step.model.value = "tiny:sd1"
    assert "tiny" in step.model_note.value
    step.use_button.click()
    assert nb_session.get("base_model") == "tiny:sd1" and nb_session.get("family") == "sd1"
    assert SetupStep(nb_session, checks=False).model.value == "tiny:sd1"  # the cell run again


def test_a_link_that_cannot_work_is_refused_with_the_forms_that_do(nb_session):
    step = SetupStep(nb_session, checks=False)
    step.link.value = "ftp://example.com/model.safetensors"
    step.use_button.click()
    assert step.status.kind == "fail" and "ftp" in step.status.text
    assert nb_session.runner.list(kind="download") == []
    assert nb_session.get("base_model") is None


def test_tokens_are_stored_owner_only_and_shown_masked(nb_session, tmp_path):
    step = SetupStep(nb_session, checks=False)
    token = "hf_abcdefghijklmnop1234"
    step.tokens["huggingface"].value = token
    step.token_button.click()
    stored = tmp_path / "home" / "credentials.json"
    assert json.loads(stored.read_text())["huggingface"] == token
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert step.tokens["huggingface"].value == ""  # not left in the widget (or the saved notebook)
    assert "hf_…1234" in step.token_note.value and token not in step.token_note.value


def test_doctor_checks_are_shown_with_their_fixes(nb_session):
    step = SetupStep(nb_session)
    text = step.checks.children[0].value
    assert "Workspace" in text and "Python" in text
    assert step.status.kind in ("ok", "warn", "fail")
