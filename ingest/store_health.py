"""Checking a store and repairing what is damaged from what is intact (`litbot check`, `litbot repair`).

A store is sound when its database passes SQLite's own check; every chunk has a vector (in the vector index
files, or still in Chroma's write-ahead log); the index files are what hnswlib wrote (sizes, labels, neighbour
lists in range: ingest.hnsw_files); and the lexical index holds every committed article with its content hash.
An embedded store is read here without Chroma, because Chroma crashes on damaged index files.

Repair keeps every article that was intact: a damaged vector index is set aside (``<store>/.litbot/quarantine``)
and rebuilt from the vectors that can be salvaged from it (also when its header is lost: ingest.hnsw_files) and
from the log — a sample of them re-embedded and compared first — re-embedding only the chunks whose vectors are
lost; a damaged lexical index is rebuilt from
the store. A damaged database cannot be rebuilt from anything: the repair says so.
"""

from __future__ import annotations

import logging
import random
import shutil
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest import chroma_files, hnsw_files
from ingest.errors import StoreError
from ingest.lexical import LexicalIndex, index_folder, inspect
from ingest.settings import Settings
from ingest.store_lock import ingest_running

if TYPE_CHECKING:
    from ingest.embeddings import Embedder
    from ingest.store import ArticleStore

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
SALVAGE_SAMPLE = 16  # salvaged vectors re-embedded and compared before any is trusted
SALVAGE_MIN_COSINE = 0.99
SHOWN = 10  # chunk ids listed in a report

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class Health:
    """What a check found. ``ok`` when nothing is damaged; incomplete articles (an interrupted ingest, finished
    by running it again) and a lexical index that is only behind (it catches up at the next question) are
    reported but are not damage."""

    store: str
    articles: int = 0
    chunks: int = 0
    incomplete_articles: int = 0
    database: str | None = None
    vector_index: list[str] = field(default_factory=list)
    chunks_without_vector: int = 0
    chunks_without_vector_ids: list[str] = field(default_factory=list)
    lexical_index: list[str] = field(default_factory=list)
    lexical_behind: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            self.database is None
            and not self.vector_index
            and not self.chunks_without_vector
            and not (self.lexical_index)
        )

    @property
    def problems(self) -> list[str]:
        found = [f"database: {self.database}"] if self.database else []
        found += [f"vector index: {p}" for p in self.vector_index]
        if self.chunks_without_vector:
            found.append(
                f"{self.chunks_without_vector:,} of {self.chunks:,} chunks have no vector "
                f"(first: {', '.join(self.chunks_without_vector_ids[:3])})"
            )
        found += [f"lexical index: {p}" for p in self.lexical_index]
        return found

    def summary(self) -> str:
        """One line: what is wrong and what to do, for messages on a damaged store."""
        if self.ok:
            return f"the store at {self.store} is sound"
        if self.database:
            return f"the store at {self.store} is damaged ({self.problems[0]}): restore it from a backup or ingest again"
        return f"the store at {self.store} is damaged ({self.problems[0]}): run `litbot repair`"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok, "problems": self.problems}


def check_store(settings: Settings) -> Health:
    """Check the store the settings name (read-only)."""
    if settings.uses_server:
        from ingest.store import open_store

        return _check_through_chroma(open_store(settings, settings.embedding_model, create=False), settings)
    from ingest.store import store_turn

    with store_turn(settings):
        return _check_files(settings)[0]


@dataclass
class _Files:
    """What a check of an embedded store read, kept for a repair."""

    collection: chroma_files.Collection | None = None
    chunks: dict[str, dict[str, object]] = field(default_factory=dict)
    pending: dict[str, np.ndarray | None] = field(default_factory=dict)
    scan: hnsw_files.Scan | None = None


def _check_files(settings: Settings) -> tuple[Health, _Files]:
    folder = settings.chroma_path
    health, files = Health(settings.store_label), _Files()
    try:
        db = chroma_files.connect(folder)
    except chroma_files.LayoutUnknown as exc:
        health.database = str(exc)
        return health, files
    try:
        health.database = chroma_files.integrity(db)
        if health.database:
            return health, files
        found = files.collection = chroma_files.collection(db, settings.collection)
        if found is None:
            health.notes.append(f"no collection {settings.collection!r}: nothing ingested yet")
            return health, files
        files.chunks = chroma_files.chunk_metadata(db, found)
        files.pending = chroma_files.pending_vectors(db, found)
    except (chroma_files.LayoutUnknown, sqlite3.DatabaseError) as exc:
        health.database = str(exc)
        return health, files
    finally:
        db.close()
    segment = folder / found.vector_segment
    with_vectors = {cid for cid, vector in files.pending.items() if vector is not None}
    if found.dimension is not None and (segment / hnsw_files.HEADER).exists():
        scan = files.scan = hnsw_files.scan(segment, found.dimension)
        health.vector_index = scan.problems
        live = hnsw_files.element_of(scan)
        with_vectors |= {cid for cid, label in scan.id_to_label.items() if label in live}
        with_vectors -= {cid for cid, vector in files.pending.items() if vector is None}
    missing = sorted(cid for cid in files.chunks if cid not in with_vectors)
    health.chunks_without_vector, health.chunks_without_vector_ids = len(missing), missing[:SHOWN]
    committed = _count_articles(health, files.chunks)
    _check_lexical(health, settings, committed, busy=ingest_running(folder))
    return health, files


def _count_articles(health: Health, chunks: Mapping[str, Mapping[str, object]]) -> dict[str, tuple[str, int]]:
    """Committed articles (id -> (content hash, written ms)); counts them and the incomplete ones."""
    numbers: dict[str, set[int]] = defaultdict(set)
    markers: dict[str, Mapping[str, object]] = {}
    for chunk_id, meta in chunks.items():
        article_id, _, number = chunk_id.rpartition("#")
        article_id = str(meta.get("article_id") or article_id)
        if number.isdigit():
            numbers[article_id].add(int(number))
            if number == "0":
                markers[article_id] = meta
    committed = {}
    for article_id, meta in markers.items():
        count = int(str(meta.get("n_chunks") or 1))
        if numbers[article_id] >= set(range(count)):
            committed[article_id] = (str(meta.get("hash", "")), int(str(meta.get("written") or 0)))
    health.chunks = len(chunks)
    health.articles = len(committed)
    health.incomplete_articles = len(numbers) - len(committed)
    if health.incomplete_articles:
        health.notes.append(
            f"{health.incomplete_articles:,} articles are half-written (an interrupted ingest): running it again "
            "finishes them; until then they are not searched"
        )
    return committed


def _check_lexical(
    health: Health, settings: Settings, committed: Mapping[str, tuple[str, int]], busy: bool
) -> None:
    folder = index_folder(settings.store_cache_dir)
    indexed, problems = inspect(folder)
    health.lexical_index = problems
    if problems:
        return
    cursor = _cursor(folder)
    differ = [a for a, (digest, _) in committed.items() if indexed.get(a) != digest]
    extra = [a for a in indexed if a not in committed]
    # An article written after the index's cursor is only behind: the next question (or ingest) catches up.
    behind = [a for a in differ if committed[a][1] >= cursor or busy]
    lost = [a for a in differ if a not in behind]
    health.lexical_behind = len(behind)
    if lost:
        health.lexical_index.append(
            f"{len(lost):,} articles are missing or outdated in it (first: {lost[0]})"
        )
    if extra and not busy:
        health.lexical_index.append(
            f"it lists {len(extra):,} articles the store does not hold (first: {extra[0]})"
        )
    if behind:
        health.notes.append(
            f"the lexical index is {len(behind):,} articles behind the store"
            + (" (an ingest is running)" if busy else ": the next question catches up")
        )


def _cursor(folder: Path) -> int:
    try:
        db = sqlite3.connect(f"{(folder / 'articles.sqlite3').resolve().as_uri()}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return 0
    return int(row[0]) if row else 0


def _check_through_chroma(store: ArticleStore, settings: Settings) -> Health:
    """A server's store, through its API: every chunk's vector is asked for, page by page."""
    health = Health(settings.store_label)
    chunks: dict[str, dict[str, object]] = {}
    for chunk_id, _, meta in store.iter_chunks():
        chunks[chunk_id] = dict(meta)
    missing = store.chunks_without_vectors(sorted(chunks))
    health.chunks_without_vector, health.chunks_without_vector_ids = len(missing), missing[:SHOWN]
    committed = _count_articles(health, chunks)
    _check_lexical(health, settings, committed, busy=False)
    return health


# --- repair ------------------------------------------------------------------------------------------------


@dataclass
class Repair:
    """What a repair did."""

    before: Health
    after: Health
    salvaged_vectors: int = 0
    reembedded_chunks: int = 0
    quarantined: str | None = None
    lexical_rebuilt: bool = False
    lexical_caught_up: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k not in ("before", "after")},
            "before": self.before.as_dict(),
            "after": self.after.as_dict(),
        }


def repair_store(settings: Settings, embedder: Embedder, progress: Progress | None = None) -> Repair:
    """Repair the store the settings name; the store is held throughout (other processes wait)."""
    from ingest.store import open_store, store_turn

    started = time.perf_counter()
    with store_turn(settings, writes=True) if not settings.uses_server else nullcontext():
        if settings.uses_server:
            store = open_store(settings, embedder.name, create=False)
            before = _check_through_chroma(store, settings)
            files = _Files()
        else:
            before, files = _check_files(settings)
        if before.database:
            raise StoreError(
                f"the store's database at {settings.store_label} is damaged ({before.database})",
                "it cannot be rebuilt from anything else: restore the folder from a backup, or delete it and "
                "ingest again",
            )
        report = Repair(before, before)
        if before.vector_index or before.chunks_without_vector:
            if settings.uses_server:
                _reembed_missing(store, embedder, before, report, progress)
            else:
                _rebuild_vectors(settings, embedder, files, report, progress)
        store = open_store(settings, embedder.name, create=False)
        index = LexicalIndex.open(index_folder(settings.store_cache_dir))
        if before.lexical_index:
            index.rebuild(store, lambda done, total: progress and progress("lexical index", done, total))
            report.lexical_rebuilt = True
        elif before.lexical_behind:
            report.lexical_caught_up = index.catch_up(store)
        after = check_store(settings)
    report.after, report.seconds = after, round(time.perf_counter() - started, 2)
    return report


def repair_after_crash(
    settings: Settings, embedder: Embedder, damage: StoreError, progress: Progress | None = None
) -> Repair:
    """The repair `litbot repair` makes, of a store whose vector index a litbot process left torn when it died
    during its turn (an ingest killed mid-write; ``damage`` says so): ``damage`` again when it is not sound after."""
    report = repair_store(settings, embedder, progress)
    if not report.after.ok:
        raise damage
    return report


def _rebuild_vectors(
    settings: Settings, embedder: Embedder, files: _Files, report: Repair, progress: Progress | None
) -> None:
    """Set the vector index files aside and write every chunk's vector again: salvaged where it can be trusted,
    else re-embedded from the chunk's stored text."""
    from ingest.store import open_store, reset_client

    found = files.collection
    assert found is not None
    chunk_ids = sorted(files.chunks)
    vectors = _salvage(files, found, chunk_ids)
    trusted = _salvage_agrees(vectors, files, found, embedder, settings)
    if not trusted:
        log.warning("salvaged vectors disagree with the model: re-embedding every chunk")
        vectors = {cid: v for cid, v in vectors.items() if cid in files.pending}  # the log's own are sound
    lost = [cid for cid in chunk_ids if cid not in vectors]
    report.salvaged_vectors = len(vectors)
    texts = _texts(settings, found, lost)
    for start in range(0, len(lost), 64):
        part = lost[start : start + 64]
        for cid, vector in zip(part, embedder.embed_documents([texts[c] for c in part]), strict=True):
            vectors[cid] = np.asarray(vector, dtype=np.float32)
        if progress is not None:
            progress("re-embedding", min(start + 64, len(lost)), len(lost))
    report.reembedded_chunks = len(lost)
    segment = settings.chroma_path / found.vector_segment
    if segment.exists():
        aside = _quarantine_folder(settings, segment.name)
        aside.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(segment), str(aside))
        report.quarantined = str(aside)
        log.warning("the damaged vector index was moved to %s (delete it once the store works)", aside)
    reset_client(settings)
    store = open_store(settings, embedder.name, create=False)
    store.rewrite_vectors(
        vectors, lambda done, total: progress and progress("rebuilding the vector index", done, total)
    )


def _quarantine_folder(settings: Settings, segment: str) -> Path:
    """A new folder name for a damaged vector index set aside: its time, and a number when a repair in the same
    second set one aside already."""
    base = settings.store_cache_dir.parent / QUARANTINE / f"{time.strftime('%Y%m%dT%H%M%S')}-{segment}"
    aside, number = base, 1
    while aside.exists():
        number += 1
        aside = base.with_name(f"{base.name}-{number}")
    return aside


def _salvage(
    files: _Files, found: chroma_files.Collection, chunk_ids: Sequence[str]
) -> dict[str, np.ndarray]:
    """The vectors that can be read back: the log's, then the index files' (label checked)."""
    vectors: dict[str, np.ndarray] = {}
    scan, dim = files.scan, found.dimension or 0
    live = hnsw_files.element_of(scan) if scan is not None else {}
    for cid in chunk_ids:
        pending = files.pending.get(cid)
        if pending is not None and len(pending) == dim and np.isfinite(pending).all():
            vectors[cid] = pending
            continue
        if cid in files.pending or scan is None:
            continue
        element = live.get(scan.id_to_label.get(cid, -1))
        vector = scan.vector(element, dim) if element is not None else None
        if vector is not None:
            vectors[cid] = vector
    return vectors


def _salvage_agrees(
    vectors: Mapping[str, np.ndarray],
    files: _Files,
    found: chroma_files.Collection,
    embedder: Embedder,
    settings: Settings,
) -> bool:
    """Re-embed a sample of the salvaged vectors' texts: every one must point the same way."""
    from_index = sorted(cid for cid in vectors if cid not in files.pending)
    if not from_index:
        return True
    sample = random.Random(0).sample(from_index, min(SALVAGE_SAMPLE, len(from_index)))
    texts = _texts(settings, found, sample)
    fresh = embedder.embed_documents([texts[cid] for cid in sample])
    for cid, vector in zip(sample, fresh, strict=True):
        old = vectors[cid]
        cosine = float(np.dot(old, vector) / (np.linalg.norm(old) * np.linalg.norm(vector) or 1.0))
        if cosine < SALVAGE_MIN_COSINE:
            log.warning("salvaged vector of %s differs from the model's (cosine %.3f)", cid, cosine)
            return False
    return True


def _texts(settings: Settings, found: chroma_files.Collection, chunk_ids: Sequence[str]) -> dict[str, str]:
    db = chroma_files.connect(settings.chroma_path)
    try:
        texts = dict(chroma_files.documents(db, found, chunk_ids))
    finally:
        db.close()
    missing = [cid for cid in chunk_ids if cid not in texts]
    if missing:
        raise StoreError(f"the store holds no text for {len(missing)} chunks (first {missing[0]})")
    return texts


def _reembed_missing(
    store: ArticleStore, embedder: Embedder, health: Health, report: Repair, progress: Progress | None
) -> None:
    """On a server: write again, re-embedded, the chunks whose vectors the server cannot return."""
    missing = store.chunks_without_vectors(sorted(cid for cid, _, _ in store.iter_chunks()))
    rows = store.get_chunks(missing)
    vectors = {}
    for start in range(0, len(rows), 64):
        part = rows[start : start + 64]
        for (cid, _, _), vector in zip(part, embedder.embed_documents([t for _, t, _ in part]), strict=True):
            vectors[cid] = np.asarray(vector, dtype=np.float32)
        if progress is not None:
            progress("re-embedding", min(start + 64, len(rows)), len(rows))
    store.rewrite_vectors(vectors)
    report.reembedded_chunks = len(vectors)
