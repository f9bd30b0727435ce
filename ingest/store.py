"""The article store: litbot's only door to Chroma.

Embedded ``PersistentClient`` by default, ``HttpClient`` when a host is set; nothing else changes. Vectors are
computed by litbot (see :mod:`ingest.embeddings`) and passed in, so Chroma never downloads a model. The
collection records which embedding model built it, and opening it with another one is an error.

Layout: one Chroma record per chunk, id ``<article id>#<n>``. Chunk 0 is the article's commit marker: it
carries the content hash and is written last, so an interrupted write is redone on the next run.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ingest.errors import CollectionMissing, StoreError, StoreUnavailable, printable
from ingest.index_guard import vector_index_problem
from ingest.settings import Settings
from ingest.store_faults import damaged, is_connection_error, store_fault
from ingest.store_lock import StoreLock, Turn, ingest_running, store_lock

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

log = logging.getLogger(__name__)

MODEL_KEY = "litbot_embedding_model"
_REOPEN_LOCK = threading.Lock()
_GENERATIONS: dict[str, int] = {}  # embedded store path -> times its client was reopened in this process
REVISION_KEY = "litbot_revision"
Metadata = dict[str, str | int | float | bool]


@dataclass(frozen=True)
class ChunkRecord:
    """One chunk as stored: text, vector and flat metadata."""

    id: str
    text: str
    vector: np.ndarray
    metadata: Metadata


def _client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        headers = {}
        if settings.chroma_token:
            headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host,
                port=settings.chroma_port,
                ssl=settings.chroma_ssl,
                headers=headers,
                settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise StoreUnavailable(
                f"cannot reach the Chroma server at {settings.store_label}",
                "start it with `chroma run --path DIR` or check LITBOT_CHROMA_HOST/PORT",
            ) from exc
    path = settings.chroma_path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store folder {printable(str(path))} ({exc.strerror or exc})",
            "point LITBOT_CHROMA_PATH (or LITBOT_DATA_DIR) at a folder you can write",
        ) from None
    if not writable(path):
        path = readable_copy(path)
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise store_fault(settings, exc) from exc


def writable(folder: Path) -> bool:
    """Whether the store folder (and its database) can be written: a read-only mount or permissions say no."""
    database = folder / "chroma.sqlite3"
    return os.access(folder, os.W_OK) and (not database.exists() or os.access(database, os.W_OK))


#: A read-only store is read from a temporary copy (Chroma must write to open its database); past this size
#: the copy would cost too much and the store is refused instead.
MAX_READ_ONLY_COPY = 2 * 1024**3


def readable_copy(folder: Path) -> Path:
    """A temporary copy of a read-only store to read from (removed at exit); writes to it are discarded."""
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    if size > MAX_READ_ONLY_COPY:
        raise StoreError(
            f"the store at {printable(str(folder))} is read-only and {size / 1024**3:.1f} GB: too large to read from a copy",
            "give litbot write access to the folder (Chroma writes even to read)",
        )
    copy = Path(tempfile.mkdtemp(prefix="litbot-read-only-"))
    atexit.register(shutil.rmtree, copy, True)
    shutil.copytree(folder, copy / "chroma", ignore=shutil.ignore_patterns("*.lock"))
    log.warning(
        "the store at %s is read-only: reading from a temporary copy (%.0f MB)", folder, size / 1024**2
    )
    return copy / "chroma"


class ArticleStore:
    """Chunks of articles in one Chroma collection."""

    def __init__(
        self, client: ClientAPI, collection: Collection, settings: Settings, lock: StoreLock | None = None
    ) -> None:
        self._client = client
        self._collection = collection
        self.settings = settings
        self.embedding_model = str((collection.metadata or {}).get(MODEL_KEY, ""))
        # An embedded store is shared with other processes only through its lock (ingest.store_lock): every
        # call takes its turn, and reopens the client first when another process changed the store. A server
        # (or a private copy of a read-only store) needs none.
        self._lock = lock
        self._generation = _GENERATIONS.get(self._key, 0)

    # --- reading -----------------------------------------------------------------------------------------
    def dimension(self) -> int | None:
        """The size of the vectors the collection holds (None before its first write, as Chroma last said)."""
        model = getattr(self._collection, "_model", None)
        value = getattr(model, "dimension", None)
        return int(value) if isinstance(value, int) else None

    def ingest_running(self) -> bool:
        """Whether an ingest is writing to this embedded store now (this process's own included); never for a
        server, whose writers are not known."""
        return self._lock is not None and ingest_running(self._lock.folder)

    def reading(self) -> AbstractContextManager[object]:
        """Hold the store for a sequence of reads (one question's retrieval): they see one state of the store,
        and another process's write waits for them, or they for it, once."""
        return self._turn()

    def stored_hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        """Content hash of each article whose commit marker (chunk 0) is stored."""
        if not article_ids:
            return {}
        reply = self._coll("get", ids=[f"{a}#0" for a in article_ids], include=["metadatas"])
        metadatas = reply["metadatas"] or []
        return {str(m["article_id"]): str(m.get("hash", "")) for m in metadatas if m}

    def unwritten(self, article_ids: Sequence[str]) -> set[str]:
        """Those of ``article_ids`` with no chunk 0 and no chunk 1 stored: no chunk of theirs is stored at
        all, since an interrupted write leaves chunks 1, 2, … of an article (in that order, one upsert) and
        never chunk 0 alone. Writing them needs no deletion of stale chunks."""
        if not article_ids:
            return set()
        ids = [f"{a}#{n}" for a in article_ids for n in (0, 1)]
        found = self._coll("get", ids=ids, include=[])["ids"]
        return set(article_ids) - {str(i).rsplit("#", 1)[0] for i in found}

    def count_chunks(self) -> int:
        return int(self._coll("count"))

    def count_articles(self) -> int:
        reply = self._coll("get", where={"chunk": 0}, include=[])
        return len(reply["ids"])

    def revision(self) -> str:
        """Changes whenever the store's content changes; caches built from the store key on it."""
        collection = self._cli("get_collection", self._collection.name)
        return str((collection.metadata or {}).get(REVISION_KEY, ""))

    def identity(self) -> str:
        """What tells this collection from another of the same name (one deleted and created again); a copied
        store folder keeps it, and with it the lexical index inside."""
        return str(self._collection.id)

    def committed_since(self, since_ms: int | None, batch: int = 500) -> Iterator[list[tuple[str, str, int]]]:
        """(article id, content hash, written ms) of every commit marker written at or after ``since_ms``
        (all of them when None), in pages: what the lexical index follows (ingest.lexical)."""
        where: dict[str, Any] = {"chunk": 0}
        if (
            since_ms is not None
        ):  # only chunk 0 carries it (adding `chunk == 0` makes Chroma scan every marker)
            where = {"written": {"$gte": since_ms}}
        offset = 0
        while True:
            reply = self._coll("get", where=where, include=["metadatas"], limit=batch, offset=offset)
            ids = reply["ids"]
            if not ids:
                return
            yield [
                (
                    str(m.get("article_id") or i.rsplit("#", 1)[0]),
                    str(m.get("hash", "")),
                    int(m.get("written") or 0),
                )
                for i, m in zip(ids, reply["metadatas"] or [], strict=True)
            ]
            offset += len(ids)

    def article_chunks(self, article_ids: Sequence[str]) -> list[tuple[str, str, Mapping[str, Any]]]:
        """Every stored chunk of ``article_ids`` as (id, text, metadata)."""
        if not article_ids:
            return []
        reply = self._coll(
            "get", where={"article_id": {"$in": list(article_ids)}}, include=["documents", "metadatas"]
        )
        return list(zip(reply["ids"], reply["documents"] or [], reply["metadatas"] or [], strict=True))

    def iter_chunks(self, batch: int = 2000) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """Every stored chunk as (id, text, metadata), in pages."""
        offset = 0
        while True:
            reply = self._coll("get", include=["documents", "metadatas"], limit=batch, offset=offset)
            ids = reply["ids"]
            if not ids:
                return
            yield from zip(ids, reply["documents"] or [], reply["metadatas"] or [], strict=True)
            offset += len(ids)

    def iter_article_metadata(self, batch: int = 2000) -> Iterator[Mapping[str, Any]]:
        """The metadata of every article's first chunk (which carries its title, types, status), in pages;
        no texts are read."""
        offset = 0
        while True:
            reply = self._coll("get", where={"chunk": 0}, include=["metadatas"], limit=batch, offset=offset)
            ids = reply["ids"]
            if not ids:
                return
            yield from reply["metadatas"] or []
            offset += len(ids)

    def get_chunks(self, ids: Sequence[str]) -> list[tuple[str, str, Mapping[str, Any]]]:
        if not ids:
            return []
        reply = self._coll("get", ids=list(ids), include=["documents", "metadatas"])
        return list(zip(reply["ids"], reply["documents"] or [], reply["metadatas"] or [], strict=True))

    def query_ids(
        self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the ``k`` nearest chunks, nearest first; no texts read back."""
        if k < 1:
            return []
        reply = self._coll(
            "query",
            query_embeddings=[vector.tolist()],
            n_results=k,
            where=where or None,
            include=["distances"],
        )
        distances = (reply["distances"] or [[]])[0]
        return [(str(i), 1.0 - float(d)) for i, d in zip(reply["ids"][0], distances, strict=True)]

    def chunk_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored embedding of each of ``ids`` that exists (no vector search: a lookup by id)."""
        if not ids:
            return {}
        reply = self._coll("get", ids=list(ids), include=["embeddings"])
        vectors = reply["embeddings"]
        if vectors is None:
            return {}
        return {str(i): np.asarray(v, dtype=np.float32) for i, v in zip(reply["ids"], vectors, strict=True)}

    # --- writing -----------------------------------------------------------------------------------------
    def write_articles(
        self,
        articles: Sequence[tuple[str, int, Sequence[ChunkRecord]]],
        written: int | None = None,
        unwritten: Container[str] = (),
    ) -> str:
        """Store (article id, chunk count, chunks) groups, replacing older versions without orphans, and move
        the store's revision; returns the new revision. One turn at an embedded store: other processes wait
        for this batch, at most.

        Order matters for crash safety: chunks 1..n first, then stale chunks of older versions are deleted,
        then every chunk 0 (which carries the content hash) — so an article looks stored only when it is.
        Chunk 0 also carries ``written`` (ms since the epoch, ``written`` or now): other processes' lexical
        indexes follow the store by it (ingest.lexical). Articles in ``unwritten`` (see :meth:`unwritten`,
        asked by the one writer) have nothing stale to delete.
        """
        stamp = int(time.time() * 1000) if written is None else written
        rest = [c for _, _, chunks in articles for c in chunks if not c.id.endswith("#0")]
        markers = [
            ChunkRecord(c.id, c.text, c.vector, {**c.metadata, "written": stamp})
            for _, _, chunks in articles
            for c in chunks
            if c.id.endswith("#0")
        ]
        started = time.perf_counter()
        with self._turn(writes=True):
            self._upsert(rest)
            self._delete_stale({a: count for a, count, _ in articles if a not in unwritten})
            self._upsert(markers)
            revision = self.bump_revision()
        log.debug(
            "write of %d chunks held the store for %.3f s",
            len(rest) + len(markers),
            time.perf_counter() - started,
        )
        return revision

    def rewrite_vectors(
        self, vectors: Mapping[str, np.ndarray], progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Write these chunks again, each with its text and metadata as stored and the vector given (a repair).
        Chunks 1..n first and commit markers last, as an ingest writes them."""
        ids = sorted(vectors, key=lambda cid: (cid.endswith("#0"), cid))
        done = 0
        with self._turn(writes=True):
            for start in range(0, len(ids), 1000):
                rows = self.get_chunks(ids[start : start + 1000])
                self._upsert([ChunkRecord(cid, text, vectors[cid], dict(meta)) for cid, text, meta in rows])
                done += len(rows)
                if progress is not None:
                    progress(done, len(ids))
            self.bump_revision()

    def chunks_without_vectors(self, chunk_ids: Sequence[str], batch: int = 500) -> list[str]:
        """Those of ``chunk_ids`` whose vector the store cannot return (found by halving a failing page)."""
        missing: list[str] = []

        def probe(part: Sequence[str]) -> None:
            try:
                found = self.chunk_vectors(part)
            except StoreError:
                if len(part) == 1:
                    missing.append(part[0])
                    return
                middle = len(part) // 2
                probe(part[:middle])
                probe(part[middle:])
                return
            missing.extend(cid for cid in part if cid not in found)

        for start in range(0, len(chunk_ids), batch):
            probe(chunk_ids[start : start + batch])
        return missing

    def _delete_stale(self, counts: Mapping[str, int]) -> None:
        """Delete every stored chunk ``n >= counts[article]`` of these articles. Their chunk ids are read
        first and deleted by id: a delete ``where`` article and chunk number scans every chunk's number."""
        if not counts:
            return
        reply = self._coll("get", where={"article_id": {"$in": list(counts)}}, include=[])
        stale = []
        for chunk_id in reply["ids"]:
            article_id, _, number = str(chunk_id).rpartition("#")
            if article_id in counts and number.isdigit() and int(number) >= counts[article_id]:
                stale.append(chunk_id)
        for start in range(0, len(stale), 5000):
            self._coll("delete", ids=stale[start : start + 5000], writes=True)

    def bump_revision(self) -> str:
        """Mark the content as changed, for caches built from the store (collection metadata); returns the new
        revision."""
        metadata = dict(self._collection.metadata or {})
        metadata[REVISION_KEY] = uuid.uuid4().hex
        self._coll("modify", metadata=metadata, writes=True)
        return str(metadata[REVISION_KEY])

    def _upsert(self, records: Sequence[ChunkRecord]) -> None:
        step = self._cli("get_max_batch_size")
        for start in range(0, len(records), step):
            part = records[start : start + step]
            self._coll(
                "upsert",
                ids=[r.id for r in part],
                embeddings=np.stack([r.vector for r in part]),
                documents=[r.text for r in part],
                metadatas=[r.metadata for r in part],
                writes=True,
            )

    def _coll(self, method: str, *args: Any, writes: bool = False, **kwargs: Any) -> Any:
        return self._call(lambda: getattr(self._collection, method)(*args, **kwargs), writes)

    def _cli(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._call(lambda: getattr(self._client, method)(*args, **kwargs))

    def _call(self, run: Callable[[], Any], writes: bool = False) -> Any:
        """Run one Chroma call with litbot's errors, in a turn at an embedded store."""
        with self._turn(writes):
            try:
                return run()
            except Exception as exc:
                raise self._translate(exc) from exc

    @property
    def _key(self) -> str:
        return str(self._lock.folder) if self._lock is not None else self.settings.store_label

    @contextmanager
    def _turn(self, writes: bool = False) -> Iterator[Turn | None]:
        """A turn at the store (re-entrant); the client is reopened first when another process changed it."""
        if self._lock is None:
            with nullcontext():
                yield None
            return
        with self._lock.turn(writes) as turn:
            try:
                self._follow(force=turn.stale, thorough=turn.suspect)
            except Exception as exc:
                raise self._translate(exc) from exc
            turn.stale = False
            yield turn

    def _follow(self, force: bool, thorough: bool = False) -> None:
        """Adopt this process's current client for the store, replacing it first when ``force``d.

        Every store object of this process on the folder shares one Chroma system, so it is dropped once (by
        whoever takes the first turn after another process's change) and the others pick up the new one.
        """
        with _REOPEN_LOCK:
            current = _GENERATIONS.get(self._key, 0)
            if force:
                _drop_cached_system(self._client)
                current = _GENERATIONS[self._key] = current + 1
                log.debug("reopening the embedded store %s after a change by another process", self._key)
                if problem := vector_index_problem(self.settings, suspect=thorough):
                    raise damaged(self.settings, problem, after_crash=thorough)
            if current != self._generation:
                self._client = _client(self.settings)
                self._collection = self._client.get_collection(
                    self.settings.collection, embedding_function=None
                )
                self._generation = current

    def _translate(self, exc: BaseException) -> StoreError:
        if self.settings.chroma_host and is_connection_error(exc):
            return StoreUnavailable(
                f"the Chroma server at {self.settings.store_label} did not answer",
                "check that `chroma run` is up; litbot reconnects on the next request",
            )
        return store_fault(self.settings, exc)


def _drop_cached_system(client: ClientAPI) -> None:
    _drop_system(client._identifier)  # type: ignore[attr-defined]


def _drop_system(identifier: str) -> None:
    """Forget Chroma's per-process cached system for a store, so the next client reads the disk afresh.
    Stopping it writes nothing: what it applied to its index and did not persist is still in the store's log."""
    from chromadb.api.shared_system_client import SharedSystemClient

    system = SharedSystemClient._identifier_to_system.pop(identifier, None)
    SharedSystemClient._identifier_to_refcount.pop(identifier, None)
    if system is not None:
        try:
            system.stop()
        except Exception:  # a half-broken system: the new one replaces it anyway
            log.debug("stopping the stale Chroma system failed", exc_info=True)


def open_store(settings: Settings, embedding_model: str, create: bool = True) -> ArticleStore:
    """Open (or create) the collection, refusing one built with another embedding model."""
    lock = _lock_for(settings)
    with lock.turn() if lock is not None else nullcontext() as turn:
        if turn is not None and turn.stale:  # another process changed the store since this one last looked
            reset_client(settings)
        if turn is not None and (
            problem := vector_index_problem(settings, first=turn.first, suspect=turn.suspect)
        ):
            raise damaged(settings, problem, after_crash=turn.suspect)
        client = _client(settings)
        try:
            existing = {c.name if hasattr(c, "name") else str(c) for c in client.list_collections()}
        except Exception as exc:
            if settings.chroma_host:
                raise StoreUnavailable(
                    f"cannot reach the Chroma server at {settings.store_label}",
                    "start it with `chroma run --path DIR` or check LITBOT_CHROMA_HOST/PORT",
                ) from exc
            raise store_fault(settings, exc) from exc
        if settings.collection not in existing:
            if not create:
                raise CollectionMissing(
                    f"no collection {settings.collection!r} at {settings.store_label}",
                    "ingest something first: `litbot ingest --sample`",
                )
            if turn is not None:
                turn.wrote = True
            try:
                collection = client.create_collection(
                    settings.collection,
                    metadata={MODEL_KEY: embedding_model, REVISION_KEY: uuid.uuid4().hex},
                    configuration={"hnsw": {"space": "cosine"}},
                    embedding_function=None,
                )
            except Exception as exc:
                raise store_fault(settings, exc) from exc
        else:
            try:
                collection = client.get_collection(settings.collection, embedding_function=None)
            except Exception as exc:
                raise store_fault(settings, exc) from exc
        built_with = (collection.metadata or {}).get(MODEL_KEY)
        if built_with and built_with != embedding_model:
            raise StoreError(
                f"collection {settings.collection!r} at {settings.store_label} was built with embedding model "
                f"{built_with!r}, but LITBOT_EMBEDDING_MODEL is {embedding_model!r}",
                "set LITBOT_EMBEDDING_MODEL back, or pick a new LITBOT_COLLECTION and re-ingest",
            )
        if turn is not None:
            turn.stale = False
        return ArticleStore(client, collection, settings, lock)


@contextmanager
def store_turn(settings: Settings, writes: bool = False) -> Iterator[None]:
    """Hold an embedded store for a whole task (a check, a repair): other processes wait until it ends."""
    lock = _lock_for(settings)
    if lock is None:
        yield
        return
    with lock.turn(writes) as turn:
        if turn.stale:
            reset_client(settings)
            turn.stale = False
        yield


def reset_client(settings: Settings) -> None:
    """Drop this process's Chroma system for an embedded store (held by the caller): the next call opens the
    store afresh from disk."""
    lock = _lock_for(settings)
    with _REOPEN_LOCK:
        _drop_system(str(settings.chroma_path))
        if lock is not None:
            _GENERATIONS[str(lock.folder)] = _GENERATIONS.get(str(lock.folder), 0) + 1


def index_problem_in_turn(settings: Settings) -> str | None:
    """What is wrong with an embedded store's vector index files, read during a turn at the store: another
    process's Chroma may be rewriting them in its own turn (a reader persists what it applied from the log), and
    a header read half-written looks empty, as if the store were damaged."""
    lock = _lock_for(settings)
    with lock.turn() if lock is not None else nullcontext():
        return vector_index_problem(settings)


def _lock_for(settings: Settings) -> StoreLock | None:
    """The cross-process lock of an embedded store; none for a server, or for a read-only store (read from a
    private copy that no other process writes)."""
    if settings.uses_server:
        return None
    try:
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # _client says what is wrong
    return store_lock(settings.chroma_path) if writable(settings.chroma_path) else None
