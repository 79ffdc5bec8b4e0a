"""Where memories and their vectors live: an embedded store in the workspace, or a Qdrant server.

``LocalStore`` keeps the rows in SQLite (one transaction per write, so a crash never leaves half a memory) and
all vectors in one in-memory float32 matrix; a search is one matrix-vector product over the rows that pass the
filters (integer codes per kind/project/character, so filtering is a few numpy comparisons). We measured it
against qdrant-client's local mode, which is pure Python, persists by pickling and filters point by point: see
benchmarks/bench_memory_search.py. ``QdrantStore`` talks to a Qdrant server (``url=``) for large deployments.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from lorakit.studio.memory.records import FILTER_FIELDS, AssistantMemoryError, Hit, Memory, check_filters

_COLUMNS = ("id", "kind", "text", "source", "ref", "project", "character", "time", "extra")


class LocalStore:
    """Memories in ``<folder>/memory.sqlite``, searched in memory.

    With ``coarse_dim`` (for Matryoshka-trained models such as WordLlama, whose vector prefixes are embeddings
    too), a search over more than ``exact_up_to`` rows first scans the re-normalised ``coarse_dim`` prefixes
    (a quarter of the memory traffic at 64 of 256 dimensions), then rescores the best ``candidates`` rows with
    the full vectors; smaller searches are exact. The benchmark measures the recall against exact search.
    """

    exact_up_to = 20_000
    candidates = 1_000

    def __init__(self, folder: str | Path, dim: int, model: str, *, coarse_dim: int | None = None):
        self.path = Path(folder) / "memory.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self.coarse_dim = coarse_dim if coarse_dim and coarse_dim < dim else None
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS memories (id TEXT PRIMARY KEY, kind TEXT, text TEXT, source TEXT, ref TEXT,"
            " project TEXT, character TEXT, time REAL, extra TEXT, vector BLOB)"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'model'").fetchone()
        if row is None:
            with self._db:
                self._db.execute("INSERT INTO meta VALUES ('model', ?)", (f"{model}/{dim}",))
        elif row[0] != f"{model}/{dim}":
            raise AssistantMemoryError(
                f"The memory in {self.path} was embedded with {row[0]}, not {model}/{dim}.",
                "Use the same embedding model, or move the file aside to start a new memory.",
            )
        self._memories: list[Memory] = []
        self._vectors = np.zeros((1024, dim), dtype=np.float32)
        self._coarse = np.zeros((1024, self.coarse_dim or 0), dtype=np.float32)
        self._codes = {name: np.zeros(1024, dtype=np.int32) for name in FILTER_FIELDS}
        self._code_of: dict[str, dict[str, int]] = {name: {} for name in FILTER_FIELDS}
        self._load()

    def _load(self) -> None:
        rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)}, vector FROM memories ORDER BY rowid").fetchall()
        memories = []
        for row in rows:
            data = dict(zip(_COLUMNS, row[:-1], strict=True))
            data["extra"] = json.loads(data["extra"] or "{}")
            memories.append(Memory.from_dict(data))
        blob = b"".join(row[-1] for row in rows)  # one copy, not one per row
        if len(blob) != 4 * self.dim * len(rows):
            raise AssistantMemoryError(
                f"The vectors in {self.path} do not all have {self.dim} dimensions: the file is damaged.",
                "Move the file aside to start a new memory.",
            )
        self._append(memories, np.frombuffer(blob, dtype=np.float32).reshape(len(rows), self.dim))

    def _code(self, name: str, value: str) -> int:
        codes = self._code_of[name]
        return codes.setdefault(value, len(codes) + 1)  # 0 is "never seen": matches nothing

    def _append(self, memories: list[Memory], vectors: np.ndarray) -> None:
        start, end = len(self._memories), len(self._memories) + len(memories)
        if end > len(self._vectors):
            size = max(end, 2 * len(self._vectors))
            grown = np.zeros((size, self.dim), dtype=np.float32)
            grown[:start] = self._vectors[:start]
            self._vectors = grown
            coarse = np.zeros((size, self._coarse.shape[1]), dtype=np.float32)
            coarse[:start] = self._coarse[:start]
            self._coarse = coarse
            for name, codes in self._codes.items():
                self._codes[name] = np.concatenate([codes[:start], np.zeros(size - start, dtype=np.int32)])
        self._vectors[start:end] = vectors
        if self.coarse_dim:
            self._coarse[start:end] = _unit(vectors[:, : self.coarse_dim])
        for name in FILTER_FIELDS:
            self._codes[name][start:end] = [self._code(name, getattr(m, name)) for m in memories]
        self._memories.extend(memories)

    def add(self, memories: list[Memory], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [
            (m.id, m.kind, m.text, m.source, m.ref, m.project, m.character, m.time, json.dumps(m.extra), v.tobytes())
            for m, v in zip(memories, vectors, strict=True)
        ]
        with self._lock:
            with self._db:  # one transaction: all of these memories are saved, or none
                self._db.executemany(f"INSERT INTO memories VALUES ({', '.join('?' * 10)})", rows)
            self._append(memories, vectors)

    def count(self) -> int:
        return len(self._memories)

    def search(self, vector: np.ndarray, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        wanted = check_filters(filters)
        with self._lock:
            n = len(self._memories)
            mask = None
            for name, values in wanted.items():
                codes = [self._code_of[name].get(v, 0) for v in values]
                hit = np.isin(self._codes[name][:n], [c for c in codes if c]) if any(codes) else np.zeros(n, bool)
                mask = hit if mask is None else mask & hit
            rows = np.arange(n) if mask is None else np.flatnonzero(mask)
            k = min(k, len(rows))
            if k <= 0:
                return []
            candidates = max(self.candidates, k)
            if self.coarse_dim and len(rows) > max(self.exact_up_to, candidates):
                coarse_query = _unit(vector[None, : self.coarse_dim])[0]
                coarse = (self._coarse[:n] if mask is None else self._coarse[rows]) @ coarse_query
                rows = rows[np.argpartition(-coarse, candidates - 1)[:candidates]]
                scores = self._vectors[rows] @ vector
            else:
                scores = (self._vectors[:n] if mask is None else self._vectors[rows]) @ vector
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.argsort(-scores[top], kind="stable")]
            return [Hit(self._memories[rows[i]], float(scores[i])) for i in top]

    def close(self) -> None:
        self._db.close()


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1)).astype(np.float32)


class QdrantStore:
    """Memories in a Qdrant collection: ``url="http://host:6333"`` for a server (``location=":memory:"`` is
    qdrant-client's in-process mode, used by the tests: the same client calls, no server)."""

    def __init__(self, dim: int, *, url: str | None = None, location: str | None = None, collection: str = "memories"):
        try:
            from qdrant_client import QdrantClient, models
        except ImportError as error:
            raise AssistantMemoryError(
                f"A Qdrant store needs the 'qdrant-client' package ({error}).",
                "Install the studio extra: pip install 'lorakit[studio]'.",
            ) from error
        self._models = models
        self.collection = collection
        self.where = url or location or ""
        try:
            if url:
                self._client = QdrantClient(url=url, timeout=10, check_compatibility=False)
            else:
                self._client = QdrantClient(location=location)
            if not self._client.collection_exists(collection):
                self._client.create_collection(
                    collection, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE)
                )
                for name in FILTER_FIELDS if url else ():  # the in-process mode has no payload indexes
                    self._client.create_payload_index(collection, name, models.PayloadSchemaType.KEYWORD)
        except AssistantMemoryError:
            raise
        except Exception as error:  # connection refused, timeouts, HTTP errors: all say the server is unusable
            raise AssistantMemoryError(
                f"The Qdrant server at {self.where} cannot be used: {error}.",
                "Start it (e.g. docker run -p 6333:6333 qdrant/qdrant) or leave the URL empty for the embedded store.",
            ) from error

    def add(self, memories: list[Memory], vectors: np.ndarray) -> None:
        points = [
            # Qdrant ids are UUIDs or integers; our hex ids are UUIDs without dashes.
            self._models.PointStruct(id=str(uuid.UUID(m.id)), vector=v.tolist(), payload=m.to_dict())
            for m, v in zip(memories, np.asarray(vectors, dtype=np.float32), strict=True)
        ]
        self._client.upsert(self.collection, points=points, wait=True)

    def count(self) -> int:
        return self._client.count(self.collection, exact=True).count

    def search(self, vector: np.ndarray, k: int, filters: dict[str, Any] | None = None) -> list[Hit]:
        m = self._models
        wanted = check_filters(filters)
        conditions = [m.FieldCondition(key=name, match=m.MatchAny(any=list(vs))) for name, vs in wanted.items()]
        result = self._client.query_points(
            self.collection,
            query=np.asarray(vector, dtype=np.float32).tolist(),
            limit=k,
            query_filter=m.Filter(must=conditions) if conditions else None,
            with_payload=True,
        )
        return [Hit(Memory.from_dict(p.payload or {}), float(p.score)) for p in result.points]

    def close(self) -> None:
        self._client.close()
