"""Reading an embedded Chroma store's SQLite database read-only, without Chroma: what a check needs when the
vector index may be too damaged for Chroma to load (a damaged index crashes the process that loads it).

The layout is chromadb 1.5's (its migrations): ``collections`` (name, dimension), ``segments`` (one METADATA
and one VECTOR segment per collection), ``embeddings`` + ``embedding_metadata`` (each chunk's id, metadata and
document, key ``chroma:document``), ``embeddings_queue`` (the write-ahead log: vectors not yet in the index
files are there) and ``max_seq_id`` (how far each segment has applied the log). Anything else is reported as
a layout this check does not know, never guessed at.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DATABASE = "chroma.sqlite3"
DOCUMENT_KEY = "chroma:document"
_DELETE = 3  # embeddings_queue.operation: 0 add, 1 update, 2 upsert, 3 delete
#: Chunk metadata a check reads for every chunk.
CHUNK_KEYS = ("article_id", "chunk", "n_chunks", "hash", "written")


class LayoutUnknown(Exception):
    """The database is not laid out as chromadb 1.5 lays it out (or is not a database)."""


@dataclass(frozen=True)
class Collection:
    id: str
    dimension: int | None
    metadata_segment: str
    vector_segment: str


def connect(folder: Path) -> sqlite3.Connection:
    path = folder / DATABASE
    if not path.exists():
        raise LayoutUnknown(f"{DATABASE} is missing")
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise LayoutUnknown(f"{DATABASE} is not a readable database ({exc})") from None
    return db


def integrity(db: sqlite3.Connection) -> str | None:
    """SQLite's own quick check: None when the database is sound."""
    try:
        rows = [str(r[0]) for r in db.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else "; ".join(rows)


def collection(db: sqlite3.Connection, name: str) -> Collection | None:
    try:
        row = db.execute("SELECT id, dimension FROM collections WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        segments = dict(
            db.execute("SELECT scope, id FROM segments WHERE collection = ?", (row[0],)).fetchall()
        )
    except sqlite3.DatabaseError as exc:
        raise LayoutUnknown(f"unexpected layout ({exc})") from None
    if "METADATA" not in segments or "VECTOR" not in segments:
        raise LayoutUnknown(f"collection {name!r} has segments {sorted(segments)}")
    dimension = int(row[1]) if row[1] is not None else None
    return Collection(str(row[0]), dimension, str(segments["METADATA"]), str(segments["VECTOR"]))


def chunk_metadata(db: sqlite3.Connection, found: Collection) -> dict[str, dict[str, object]]:
    """Every chunk id the metadata segment holds, with the metadata a check needs."""
    chunks: dict[str, dict[str, object]] = {}
    marks = ",".join("?" * len(CHUNK_KEYS))
    try:
        for (chunk_id,) in db.execute(
            "SELECT embedding_id FROM embeddings WHERE segment_id = ?", (found.metadata_segment,)
        ):
            chunks[str(chunk_id)] = {}
        for chunk_id, key, text, number in db.execute(
            "SELECT e.embedding_id, m.key, m.string_value, m.int_value FROM embeddings e "
            f"JOIN embedding_metadata m ON m.id = e.id WHERE e.segment_id = ? AND m.key IN ({marks})",
            (found.metadata_segment, *CHUNK_KEYS),
        ):
            chunks.setdefault(str(chunk_id), {})[str(key)] = text if text is not None else number
    except sqlite3.DatabaseError as exc:
        raise LayoutUnknown(f"unexpected layout ({exc})") from None
    return chunks


def applied(db: sqlite3.Connection, segment: str) -> int:
    """How far ``segment`` has applied the log (its max_seq_id; 0 when it never persisted)."""
    row = db.execute("SELECT seq_id FROM max_seq_id WHERE segment_id = ?", (segment,)).fetchone()
    if row is None or row[0] is None:
        return 0
    value = row[0]
    return int.from_bytes(value, "big") if isinstance(value, bytes) else int(value)


def pending_vectors(db: sqlite3.Connection, found: Collection) -> dict[str, np.ndarray | None]:
    """Chunk id -> its vector, for log entries the vector index files do not hold yet (None: deleted since)."""
    since = applied(db, found.vector_segment)
    latest: dict[str, np.ndarray | None] = {}
    try:
        rows = db.execute(
            "SELECT id, operation, vector, encoding FROM embeddings_queue WHERE topic LIKE ? AND seq_id > ? "
            "ORDER BY seq_id",
            (f"%/{found.id}", since),
        )
        for chunk_id, operation, vector, encoding in rows:
            if operation == _DELETE:
                latest[str(chunk_id)] = None
            elif vector is not None and (encoding or "FLOAT32").upper() == "FLOAT32":
                latest[str(chunk_id)] = np.frombuffer(vector, dtype="<f4").copy()
    except sqlite3.DatabaseError as exc:
        raise LayoutUnknown(f"unexpected layout ({exc})") from None
    return latest


def documents(
    db: sqlite3.Connection, found: Collection, chunk_ids: Sequence[str]
) -> Iterator[tuple[str, str]]:
    """(chunk id, stored text) for ``chunk_ids``, in pages."""
    for start in range(0, len(chunk_ids), 500):
        part = list(chunk_ids[start : start + 500])
        marks = ",".join("?" * len(part))
        for chunk_id, text in db.execute(
            "SELECT e.embedding_id, m.string_value FROM embeddings e JOIN embedding_metadata m ON m.id = e.id "
            f"WHERE e.segment_id = ? AND m.key = ? AND e.embedding_id IN ({marks})",
            (found.metadata_segment, DOCUMENT_KEY, *part),
        ):
            yield str(chunk_id), str(text or "")
