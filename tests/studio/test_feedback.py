from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lorakit.errors import LorakitError
from lorakit.studio import feedback
from lorakit.studio.negatives import BUILTIN
from lorakit.studio.store import Conflict, StudioError, StudioStore


def _pending(store, character, png, n):
    return [store.add_image(character.id, png(i), source="generated").id for i in range(n)]


def test_approve_and_reject_record_feedback_and_learn_negatives(store, character, png):
    a, b, c = _pending(store, character, png, 3)
    assert feedback.approve(store, a).status == "approved"
    feedback.reject(store, b, ["not_solo", "bad_quality"], notes="two people")
    feedback.reject(store, c, ["not_solo"])
    learned = store.character(character.id).learned_negatives
    assert learned == BUILTIN["not_solo"] + BUILTIN["bad_quality"]  # in order, no duplicates
    assert store.character(character.id).counts == {"pending": 0, "approved": 1, "rejected": 2}
    negative = feedback.negative_prompt(store, store.character(character.id))
    assert negative.split(", ").count("lowres") == 1  # the project's base and the learned term merge
    assert [f["decision"] for f in store.feedback(character.id)] == ["approved", "rejected", "rejected"]


def test_bad_rejections_are_refused(store, character, png):
    (a,) = _pending(store, character, png, 1)
    with pytest.raises(StudioError, match="Unknown rejection categories: ugly"):
        feedback.reject(store, a, ["ugly"])
    with pytest.raises(StudioError, match="needs a reason"):
        feedback.reject(store, a, [])
    assert store.image(a).status == "pending"


def test_a_decided_image_is_not_decided_again(store, character, png):
    (a,) = _pending(store, character, png, 1)
    feedback.approve(store, a)
    with pytest.raises(Conflict, match="already approved"):
        feedback.reject(store, a, ["wrong_pose"])
    assert store.character(character.id).learned_negatives == []


def _race(workspace, image: int) -> list[str]:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def review(category: str) -> None:
        with StudioStore(workspace) as own:  # each reviewer its own connection, like two server workers
            barrier.wait()
            try:
                feedback.reject(own, image, [category])
                outcomes.append("won")
            except Conflict as error:
                outcomes.append("lost" if "already rejected" in error.problem else error.problem)

    threads = [threading.Thread(target=review, args=(c,)) for c in ("wrong_pose", "wrong_style")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_reviewers_rejecting_at_once_exactly_one_wins(workspace, store, character, png):
    for round_ in range(5):
        image = store.add_image(character.id, png(round_), source="generated").id
        assert sorted(_race(workspace, image)) == ["lost", "won"]
        assert len([f for f in store.feedback(character.id) if f["image_id"] == image]) == 1


def test_rejections_of_different_images_at_once_both_add_their_negatives(workspace, store, character, png):
    ids = _pending(store, character, png, 6)
    categories = ["wrong_appearance", "wrong_style", "bad_quality", "not_solo", "wrong_pose", "wrong_expression"]
    barrier = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def review(image: int, category: str) -> None:
        with StudioStore(workspace) as own:
            barrier.wait()
            try:
                feedback.reject(own, image, [category])
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=review, args=pair) for pair in zip(ids, categories, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    learned = set(store.character(character.id).learned_negatives)
    assert learned == {term for c in categories for term in BUILTIN[c]}


def test_the_workspace_table_overrides_the_builtin_one(workspace, store, character, png):
    (workspace.root / "studio").mkdir(exist_ok=True)
    (workspace.root / "studio" / "negatives.toml").write_text('not_solo = ["crowd", "Crowd ", "duo"]\n')
    a, b = _pending(store, character, png, 2)
    feedback.reject(store, a, ["not_solo", "wrong_pose"])
    assert store.character(character.id).learned_negatives == ["crowd", "duo"] + BUILTIN["wrong_pose"]
    (workspace.root / "studio" / "negatives.toml").write_text('shiny = ["x"]\n')
    with pytest.raises(LorakitError, match="unknown category 'shiny'"):
        feedback.reject(store, b, ["not_solo"])
    assert store.image(b).status == "pending"


def test_a_prompt_edit_on_reject_changes_the_design_prompt(store, character, png):
    (a,) = _pending(store, character, png, 1)
    feedback.reject(store, a, ["wrong_appearance"], prompt_edit="1girl, short red hair, green eyes")
    history = store.prompt_history(character.id)
    assert [h.reason for h in history] == ["created", "edited on reject"]
    assert store.character(character.id).design_prompt == "1girl, short red hair, green eyes"


def _three_rejections(store, character, png):
    ids = _pending(store, character, png, 3)
    feedback.reject(store, ids[0], ["wrong_appearance"], notes="hair too short")
    feedback.reject(store, ids[1], ["not_solo", "wrong_appearance"])
    return ids[2]


def test_rule_based_proposal_after_three_structured_rejections(store, character, png):
    third = _three_rejections(store, character, png)
    with pytest.raises(StudioError, match="has 2 rejection"):
        feedback.propose_prompt(store, character.id)
    feedback.reject(store, third, ["bad_quality"])
    proposal = feedback.propose_prompt(store, character.id)
    assert proposal.source == "rules" and proposal.rejections == 3 and proposal.message is None
    assert proposal.reasons[0] == "wrong_appearance ×2"
    terms = proposal.prompt.split(", ")
    assert terms[:3] == ["(1girl:1.2)", "(red hair:1.2)", "(green eyes:1.2)"]
    assert {"solo", "masterpiece", "hair too short"} <= set(terms)
    feedback.accept_proposal(store, character.id, proposal.prompt)
    assert store.character(character.id).design_prompt == proposal.prompt
    assert store.prompt_history(character.id)[-1].reason == "accepted proposal"
    with pytest.raises(StudioError, match="has 0 rejection"):  # the count starts again after a change
        feedback.propose_prompt(store, character.id)


class _FakeLlm(BaseHTTPRequestHandler):
    """Follows the OpenAI chat-completions API: POST /v1/chat/completions -> choices[0].message.content."""

    received: list[dict] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        _FakeLlm.received.append(body)
        answer = {
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "1girl, solo, long red hair"}}],
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeLlm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _configure(workspace, url):
    (workspace.root / "studio").mkdir(exist_ok=True)
    (workspace.root / "studio" / "settings.toml").write_text(
        f'[llm]\nurl = "{url}"\nmodel = "tiny-llm"\ntimeout_s = 5\n'
    )


def test_llm_writes_the_proposal_when_configured(workspace, store, character, png, llm_server):
    _configure(workspace, llm_server)
    feedback.reject(store, _three_rejections(store, character, png), ["bad_quality"])
    _FakeLlm.received.clear()
    proposal = feedback.propose_prompt(store, character.id)
    assert proposal.source == "llm" and proposal.prompt == "1girl, solo, long red hair"
    (request,) = _FakeLlm.received
    assert request["model"] == "tiny-llm"
    assert "hair too short" in request["messages"][-1]["content"]


def test_llm_down_gives_the_rule_based_proposal_and_says_why(workspace, store, character, png, llm_server):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _configure(workspace, f"http://127.0.0.1:{port}")
    feedback.reject(store, _three_rejections(store, character, png), ["bad_quality"])
    proposal = feedback.propose_prompt(store, character.id)
    assert proposal.source == "rules" and "(red hair:1.2)" in proposal.prompt
    assert "did not answer" in proposal.message and "by rules" in proposal.message
