"""Chat and prompt enhancement: with a loopback OpenAI-compatible server, without an LLM, and with it down."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lorakit.studio.memory import AssistantMemory, ChatModel, LLMUnavailable, WordLlamaEmbedder

NOTES = [
    ("note", "Mira has long crimson hair tied in a ponytail and bright green eyes.", "Mira", {}),
    ("note", "Kaito wears a navy school uniform with a red scarf.", "Kaito", {}),
    ("training", "Kaito's LoRA finished after 1200 steps with loss 0.071.", "Kaito", {}),
    ("prompt", "1girl, mira, crimson hair, ponytail, green eyes, watercolor", "Mira", {}),
    ("prompt", "1girl, mira, crimson hair, ponytail, green eyes, school rooftop", "Mira", {}),
    ("feedback", "Rejected Mira image: six fingers.", "Mira", {"negatives": ["extra fingers", "bad hands"]}),
    ("feedback", "Rejected Mira image: another person in frame.", "Mira", {"negatives": ["2girls", "bad hands"]}),
]


class OpenAIStandIn(BaseHTTPRequestHandler):
    """Follows the documented /v1/chat/completions request and response shapes; records what it was sent."""

    requests: list[dict] = []
    status = 200
    reply = "Mira has crimson hair and green eyes [1]."

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        payload = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": self.reply}, "finish_reason": "stop"}
            ],
        }
        data = json.dumps(payload if self.status == 200 else {"error": {"message": "model not found"}}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def llm_server():
    handler = type("Handler", (OpenAIStandIn,), {"requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def embedder():
    return WordLlamaEmbedder()


def _brain(tmp_path, embedder, llm=None):
    brain = AssistantMemory(tmp_path / "memory", embedder=embedder, llm=llm)
    for kind, text, character, extra in NOTES:
        brain.remember(kind, text, source="user", project="studio", character=character, extra=extra)
    return brain


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chat_with_llm_sends_memories_and_returns_its_answer(tmp_path, embedder, llm_server):
    handler, url = llm_server
    brain = _brain(tmp_path, embedder, ChatModel(url, "llama3", api_key="k"))
    answer = brain.chat("what colour is Mira's hair, what are her eyes", project="studio")
    assert answer.answer == OpenAIStandIn.reply
    assert answer.message == ""
    assert answer.memories[0].memory.text == NOTES[0][1]
    sent = handler.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer k"
    assert sent["body"]["model"] == "llama3"
    assert sent["body"]["messages"][0]["role"] == "system"
    assert NOTES[0][1] in sent["body"]["messages"][1]["content"]
    # The exchange itself becomes a memory, answer included.
    chats = brain.search("Mira look", k=5, filters={"kind": "chat"})
    assert len(chats) == 1 and OpenAIStandIn.reply in chats[0].memory.text
    assert chats[0].memory.project == "studio"
    assert answer.to_dict()["memories"][0]["citation"].startswith("note · user")
    assert json.loads(json.dumps(answer.to_dict()))["answer"] == OpenAIStandIn.reply


def test_enhance_prompt_with_llm(tmp_path, embedder, llm_server):
    handler, url = llm_server
    handler.reply = "masterpiece, 1girl, mira, crimson hair, ponytail, green eyes, smiling"
    brain = _brain(tmp_path, embedder, ChatModel(url + "/v1", "llama3"))
    result = brain.enhance_prompt("1girl, mira, smiling", character="Mira")
    assert result.by_llm and result.enhanced == handler.reply
    content = handler.requests[0]["body"]["messages"][1]["content"]
    assert "crimson hair" in content and "bad hands" in content
    assert handler.requests[0]["auth"] is None


def test_without_llm_memories_and_rules_are_returned(tmp_path, embedder):
    brain = _brain(tmp_path, embedder)
    answer = brain.chat("what colour is Mira's hair, what are her eyes")
    assert answer.answer is None and "No language model" in answer.message
    assert answer.memories[0].memory.text == NOTES[0][1]

    result = brain.enhance_prompt("1girl, mira, smiling", character="Mira")
    assert not result.by_llm
    # Phrases in both of Mira's earlier prompts, missing here; quality tags; negatives from her rejections.
    for phrase in ("crimson hair", "ponytail", "green eyes", "masterpiece"):
        assert phrase in result.additions
    assert "watercolor" not in result.additions  # written once: not a habit
    assert result.negatives[0] == "bad hands" and set(result.negatives) == {"bad hands", "extra fingers", "2girls"}
    assert result.enhanced.startswith("1girl, mira, smiling, ") and "crimson hair" in result.enhanced
    assert {h.memory.character for h in result.memories} == {"Mira"}
    assert json.loads(json.dumps(result.to_dict()))["negatives"] == result.negatives


@pytest.mark.parametrize("failure", ["down", "http_error", "empty"])
def test_llm_down_gives_a_plain_message_and_loses_nothing(tmp_path, embedder, llm_server, failure):
    handler, url = llm_server
    if failure == "down":
        url = f"http://127.0.0.1:{_closed_port()}"
    elif failure == "http_error":
        handler.status = 500
    else:
        handler.reply = "  "
    brain = _brain(tmp_path, embedder, ChatModel(url, "llama3", timeout=5))
    answer = brain.chat("how many steps did Kaito's LoRA training take, what loss")
    assert answer.answer is None
    assert answer.message.startswith("The language model is unavailable (")
    assert answer.memories[0].memory.text == NOTES[2][1]
    # The question is kept even though nobody answered it.
    assert (
        brain.search("Kaito training", k=1, filters={"kind": "chat"})[0].memory.text
        == "Q: how many steps did Kaito's LoRA training take, what loss"
    )
    result = brain.enhance_prompt("1girl, mira", character="Mira")
    assert not result.by_llm and "crimson hair" in result.enhanced and "unavailable" in result.message


def test_chat_model_errors_name_the_url(llm_server):
    handler, url = llm_server
    handler.status = 404
    with pytest.raises(LLMUnavailable, match=r"/v1/chat/completions answered HTTP 404"):
        ChatModel(url, "missing-model").complete([{"role": "user", "content": "hi"}])
