"""The assistant memory finds the relevant memory first, with the bundled embedding model and no network."""

from __future__ import annotations

import pytest

from lorakit.studio.memory import (
    AssistantMemory,
    AssistantMemoryError,
    LocalStore,
    Memory,
    QdrantStore,
    WordLlamaEmbedder,
)

# A small project's history, written as a user and the feedback loop would write it.
NOTES = [
    ("note", "Mira has long crimson hair tied in a ponytail and bright green eyes.", "Mira"),
    ("note", "Kaito wears a navy school uniform with a red scarf and carries a wooden sword.", "Kaito"),
    ("feedback", "Rejected: the hands had six fingers and the left arm was twisted.", "Mira"),
    (
        "training",
        "LoRA training for Kaito finished after 1200 steps; final loss 0.071, saved kaito_v3.safetensors.",
        "Kaito",
    ),
    ("note", "The whole project uses a soft watercolor style with pastel colours and paper texture.", ""),
    ("note", "The client wants every character sheet delivered at 1024 by 1024 pixels in PNG.", ""),
    ("feedback", "Rejected: two people in the frame, Mira must appear alone.", "Mira"),
    ("note", "Yuna is a shy librarian with round glasses and short silver hair.", "Yuna"),
    ("prompt", "1girl, yuna, silver hair, round glasses, library, bookshelves, soft light", "Yuna"),
    ("note", "Backgrounds for the night scenes should show the neon city skyline in the rain.", ""),
    ("training", "Training Yuna's LoRA failed: out of GPU memory at batch size 8 on the 12 GB card.", "Yuna"),
    ("note", "Deadline for the first episode storyboard is the end of March.", ""),
]

# Each query worded differently from its note; the indices are the notes that answer it (one must come first).
QUERIES = [
    ("what colour are Mira's eyes and hair", 0),
    ("anatomy problems with fingers", 2),
    ("how did the Kaito model train, what was the loss", 3),
    ("which painting look does the project use", 4),
    ("what resolution and file format does the customer expect", 5),
    ("who is the girl wearing spectacles", (7, 8)),
    ("why did the Yuna run crash with memory errors", 10),
    ("when is the storyboard due", 11),
    ("city at night with rain", 9),
]


@pytest.fixture(scope="module")
def embedder():
    return WordLlamaEmbedder()


@pytest.fixture
def memory(tmp_path, embedder):
    brain = AssistantMemory(tmp_path / "memory", embedder=embedder)
    for kind, text, character in NOTES:
        brain.remember(kind, text, source="user", project="studio", character=character)
    yield brain
    brain.close()


@pytest.mark.parametrize(("query", "expected"), QUERIES)
def test_relevant_memory_comes_first(memory, query, expected):
    expected = expected if isinstance(expected, tuple) else (expected,)
    hits = memory.search(query, k=3)
    assert hits[0].memory.text in {NOTES[i][1] for i in expected}, [h.memory.text for h in hits]
    assert hits[0].score >= hits[1].score
    assert hits[0].memory.source_line().split(" · ")[0] in {NOTES[i][0] for i in expected}


def test_filters_narrow_the_search(memory):
    hits = memory.search("what went wrong", k=10, filters={"kind": "feedback", "character": "Mira"})
    assert {h.memory.text for h in hits} == {NOTES[2][1], NOTES[6][1]}
    assert memory.search("anything", k=5, filters={"character": "Nobody"}) == []
    both = memory.search("hair", k=20, filters={"character": ["Mira", "Yuna"]})
    assert {h.memory.character for h in both} == {"Mira", "Yuna"}
    with pytest.raises(AssistantMemoryError, match="Cannot filter"):
        memory.search("hair", filters={"colour": "red"})


def test_memories_survive_reopening(tmp_path, embedder, memory):
    folder = memory.store.path.parent
    again = AssistantMemory(folder, embedder=embedder)
    try:
        assert again.store.count() == len(NOTES)
        hits = again.search("how did the Kaito model train, what was the loss", k=1)
        assert hits[0].memory.text == NOTES[3][1]
        assert hits[0].memory.project == "studio"
    finally:
        again.close()


def test_bad_memories_are_refused(memory):
    with pytest.raises(AssistantMemoryError, match="Unknown memory kind"):
        memory.remember("gossip", "text")
    with pytest.raises(AssistantMemoryError, match="empty"):
        memory.remember("note", "   ")


def test_a_store_from_another_model_is_refused(tmp_path):
    LocalStore(tmp_path, 256, "wordllama-l2_supercat-256").close()
    with pytest.raises(AssistantMemoryError, match="embedded with"):
        LocalStore(tmp_path, 64, "other-model")


def test_qdrant_store_gives_the_same_ranking(embedder, memory):
    # qdrant-client's in-process mode runs the same client calls as a server; no server is faked here.
    pytest.importorskip("qdrant_client")
    store = QdrantStore(embedder.dim, location=":memory:")
    brain = AssistantMemory(store=store, embedder=embedder)
    brain.remember_many([Memory(kind=k, text=t, project="studio", character=c) for k, t, c in NOTES])
    assert store.count() == len(NOTES)
    for query, expected in QUERIES:
        local = memory.search(query, k=3)
        remote = brain.search(query, k=3)
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert remote[0].memory.text in {NOTES[i][1] for i in expected}
        assert [h.memory.text for h in remote] == [h.memory.text for h in local]
        assert remote[0].score == pytest.approx(local[0].score, abs=1e-4)
    hits = brain.search("what went wrong", k=10, filters={"kind": "feedback", "character": "Mira"})
    assert {h.memory.text for h in hits} == {NOTES[2][1], NOTES[6][1]}


def test_qdrant_server_down_is_a_plain_error(embedder):
    pytest.importorskip("qdrant_client")
    with pytest.raises(AssistantMemoryError, match="cannot be used"):
        QdrantStore(embedder.dim, url="http://127.0.0.1:9")


def test_two_stage_search_keeps_the_ranking(memory):
    # Force the coarse 64-dimension scan with fewer candidates than memories: the best one must survive it.
    store = memory.store
    assert store.coarse_dim == 64
    exact = {query: memory.search(query, k=3)[0] for query, _ in QUERIES}
    store.exact_up_to, store.candidates = 0, 6
    for query, _ in QUERIES:
        hits = memory.search(query, k=3)
        assert len(hits) == 3
        assert hits[0].memory.text == exact[query].memory.text
        assert hits[0].score == pytest.approx(exact[query].score, abs=1e-6)  # rescored with the full vectors
    assert len(memory.search("hair", k=10)) == 10  # at least k candidates are rescored


def test_a_damaged_store_is_refused(tmp_path, memory):
    import sqlite3

    path = memory.store.path
    memory.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE memories SET vector = ? WHERE rowid = 1", (b"\0" * 12,))
    db.close()
    with pytest.raises(AssistantMemoryError, match="damaged"):
        LocalStore(path.parent, 256, "wordllama-l2_supercat-256")
