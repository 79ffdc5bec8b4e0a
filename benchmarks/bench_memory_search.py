"""Assistant memory search over 100,000 memories: p95 latency of ``AssistantMemory.search`` vs the 50 ms target.

Builds synthetic project memories (notes, prompts, feedback, training results, chats about 200 characters),
embeds them with the bundled WordLlama model and stores them in the embedded store (SQLite + numpy) in a
temporary workspace; build, store and reopen are timed separately from search. Search is timed end to end
(embedding the query included), unfiltered and filtered by character and kind. References measured in the same
run: a bare numpy matrix-vector product over the same vectors (the least any exact search does), and
qdrant-client's local mode on ``--qdrant`` of the memories (0 skips it).

    .venv/bin/python benchmarks/bench_memory_search.py [--memories 100000] [--queries 200] [--qdrant 20000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from lorakit.studio.memory import AssistantMemory, LocalStore, Memory, QdrantStore, WordLlamaEmbedder

TARGET_MS = 50.0
HAIR = ["crimson", "silver", "black", "blonde", "blue", "pink", "white", "brown"]
EYES = ["green", "amber", "violet", "grey", "red", "blue"]
CLOTHES = ["school uniform", "kimono", "armor", "hoodie", "sailor suit", "lab coat", "dress", "jacket"]
PLACES = ["rooftop", "library", "forest", "neon city", "beach", "classroom", "temple", "train station"]
FLAWS = ["extra fingers", "two people in frame", "wrong hair colour", "blurry face", "bad perspective", "wrong style"]


def _text(rng: random.Random, kind: str, name: str) -> str:
    hair, eyes, cloth, place = rng.choice(HAIR), rng.choice(EYES), rng.choice(CLOTHES), rng.choice(PLACES)
    if kind == "note":
        return f"{name} has {hair} hair and {eyes} eyes, usually wears a {cloth}, often drawn at the {place}."
    if kind == "prompt":
        return f"1girl, {name.lower()}, {hair} hair, {eyes} eyes, {cloth}, {place}, masterpiece"
    if kind == "feedback":
        return f"Rejected {name} image: {rng.choice(FLAWS)}; regenerate with the {cloth} visible."
    if kind == "training":
        return f"LoRA training of {name} finished after {rng.randint(5, 30) * 100} steps, loss {rng.random():.3f}."
    return f"Q: what should {name} wear at the {place}? A: the {cloth}, matching her {hair} hair."


def _memories(count: int, seed: int = 0) -> list[Memory]:
    rng = random.Random(seed)
    names = [f"Char{i:03d}" for i in range(200)]
    kinds = ["note", "prompt", "feedback", "training", "chat"]
    out = []
    for i in range(count):
        kind, name = kinds[i % 5], rng.choice(names)
        out.append(Memory(kind=kind, text=_text(rng, kind, name), project=f"p{i % 4}", character=name, time=i))
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def _time(calls) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--memories", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--qdrant", type=int, default=20_000, help="memories for the qdrant-client local reference")
    args = parser.parse_args()

    embedder = WordLlamaEmbedder()
    embedder.embed(["warm up"])
    memories = _memories(args.memories)
    start = time.perf_counter()
    vectors = embedder.embed([m.text for m in memories])
    build_s = time.perf_counter() - start

    rng = random.Random(1)
    queries = [
        f"what does Char{rng.randrange(200):03d} wear at the {rng.choice(PLACES)}, {rng.choice(HAIR)} hair?"
        for _ in range(args.queries)
    ]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore(tmp, embedder.dim, embedder.name)
        start = time.perf_counter()
        for i in range(0, len(memories), 10_000):  # the feedback loop writes in batches, not one 100k insert
            store.add(memories[i : i + 10_000], vectors[i : i + 10_000])
        store_s = time.perf_counter() - start
        store.close()
        start = time.perf_counter()
        brain = AssistantMemory(tmp, embedder=embedder)
        reopen_s = time.perf_counter() - start
        assert brain.store.count() == args.memories

        # Interleaved per query, so a load spike on a shared machine hits all three alike.
        qv = embedder.embed(queries)
        matrix = vectors.copy()
        found: list[set[str]] = []
        plain, exact, bare = [], [], []
        for q, v in zip(queries, qv, strict=True):
            plain += _time([lambda q=q: found.append({h.memory.id for h in brain.search(q, k=10)})])
            brain.store.exact_up_to = 10**9  # the same store, every row scored with the full vectors
            exact += _time([lambda q=q: brain.search(q, k=10)])
            brain.store.exact_up_to = LocalStore.exact_up_to
            bare += _time([lambda v=v: np.argpartition(-(matrix @ v), 9)[:10]])
        chars = [q.split()[3].rstrip(",") for q in queries]
        filtered = _time(
            lambda q=q, c=c: brain.search(q, k=10, filters={"character": c, "kind": ["note", "prompt"]})
            for q, c in zip(queries, chars, strict=True)
        )
        truth = [{memories[i].id for i in np.argpartition(-(matrix @ v), 9)[:10]} for v in qv]
        recall = sum(len(f & t) for f, t in zip(found, truth, strict=True)) / (10 * len(truth))
        rows += [("search, k=10 (query embedding included)", plain), ("search, filtered by character+kind", filtered)]
        rows += [("search, exact (every row, full vectors)", exact)]
        rows += [("reference: bare numpy matvec + top-k", bare)]
        brain.close()

    qdrant_row = None
    if args.qdrant:
        n = min(args.qdrant, args.memories)
        qstore = QdrantStore(embedder.dim, location=":memory:")
        start = time.perf_counter()
        for i in range(0, n, 2000):
            qstore.add(memories[i : min(n, i + 2000)], vectors[i : min(n, i + 2000)])
        qdrant_build_s = time.perf_counter() - start
        qtimes = _time(lambda v=v: qstore.search(v, 10) for v in qv[:50])
        qfilter = _time(
            lambda v=v, c=c: qstore.search(v, 10, {"character": c, "kind": ["note", "prompt"]})
            for v, c in zip(qv[:50], chars[:50], strict=True)
        )
        qstore.close()
        qdrant_row = (n, qdrant_build_s, qtimes, qfilter)
        rows += [(f"reference: qdrant-client local mode, {n:,} memories", qtimes)]
        rows += [(f"reference: qdrant-client local mode filtered, {n:,}", qfilter)]

    print(f"{args.memories:,} memories: embed {build_s:.1f} s, store {store_s:.1f} s, reopen {reopen_s:.1f} s")
    print(f"{'what':58} {'median ms':>10} {'p95 ms':>8}")
    for name, times in rows:
        print(f"{name:58} {statistics.median(times):10.2f} {_p95(times):8.2f}")
    p95, p95_filtered = _p95(plain), _p95(filtered)
    figures = {
        "memories": args.memories,
        "embed_s": round(build_s, 2),
        "embed_per_s": round(args.memories / build_s),
        "store_s": round(store_s, 2),
        "reopen_s": round(reopen_s, 2),
        "search_p95_ms": round(p95, 2),
        "filtered_p95_ms": round(p95_filtered, 2),
        "recall_at_10_vs_exact": round(recall, 4),
        "exact_search_p95_ms": round(_p95(exact), 2),
        "bare_numpy_p95_ms": round(_p95(bare), 2),
        "target_ms": TARGET_MS,
        "p95_over_target": round(p95 / TARGET_MS, 3),
        "filtered_p95_over_target": round(p95_filtered / TARGET_MS, 3),
    }
    if qdrant_row:
        n, qb, qt, qf = qdrant_row
        figures.update(
            qdrant_local_memories=n,
            qdrant_local_build_s=round(qb, 2),
            qdrant_local_p95_ms=round(_p95(qt), 2),
            qdrant_local_filtered_p95_ms=round(_p95(qf), 2),
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
