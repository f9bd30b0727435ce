"""Ingest: read → normalise → skip what is unchanged → chunk → embed → store.

Streams articles in groups so memory stays flat however large the input. Unchanged articles (same content
hash, same chunking, same model) cost one id lookup; changed ones are re-chunked and replace the old chunks.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from queue import Empty, Full, Queue
from typing import Any, BinaryIO

from ingest.articles import Article, ParseEvent, Skipped
from ingest.chunking import CHUNKER_VERSION, chunk_articles, without_title
from ingest.embeddings import Embedder, describe
from ingest.errors import EmbeddingError, InputError, StoreError
from ingest.lexical import ArticleChunks, LexicalIndex, index_folder, now_ms
from ingest.limits import MAX_CHUNKS
from ingest.settings import Settings
from ingest.sources import read_input
from ingest.sources.inputs import STDIN
from ingest.store import ArticleStore, ChunkRecord, Metadata, writable
from ingest.store_faults import store_fault
from ingest.store_lock import WRITER_LOCK

log = logging.getLogger(__name__)

MAX_LISTED_PROBLEMS = 200
LEXICAL_FLUSH_MS = 3000  # index what has landed at least this often during an ingest, and at its end
LEXICAL_FLUSH_ARTICLES = 5000
LIVE_IDLE_SECONDS = 2.0  # stdin: write what was read once no record has come for this long
LIVE_QUEUE = 1000


@dataclass
class IngestReport:
    """What one ingest did; ``--json`` prints it.

    ``read`` counts every record read, so ``read == new + updated + unchanged + skipped``; ``problems`` names
    each skipped record (file and line or PMID), ``input_errors`` each input that could not be read at all
    (its path is also in ``failed_inputs``)."""

    read: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    skipped_no_abstract: int = 0
    skipped_malformed: int = 0
    chunks: int = 0
    seconds: float = 0.0
    inputs: list[str] = field(default_factory=list)
    failed_inputs: list[str] = field(default_factory=list)
    input_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    updated_articles: list[dict[str, str]] = field(default_factory=list)  # {"id", "title"} of each, in order
    store: str = ""
    embedding_model: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def note_skip(self, skip: Skipped) -> None:
        self.read += 1
        self.skipped += 1
        if skip.reason == "no_abstract":
            self.skipped_no_abstract += 1
        else:
            self.skipped_malformed += 1
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(skip.describe())


Progress = Callable[[str, int], None]  # (input name, articles done in this input)
Reading = Callable[
    [str, int, int], None
]  # (input name, bytes of all inputs read so far, bytes of all inputs)
ArticleWrite = tuple[str, int, Sequence[ChunkRecord]]  # (article id, chunk count, chunks)


def chunk_signature(settings: Settings, embedder: Embedder) -> str:
    """Everything besides the article that decides its chunks and vectors."""
    return f"{CHUNKER_VERSION}/{settings.chunk_tokens}/{settings.chunk_overlap_sentences}/{embedder.name}"


def stored_hash(article: Article, signature: str) -> str:
    return hashlib.sha256(f"{article.content_hash()}|{signature}".encode()).hexdigest()[:32]


def chunk_metadata(article: Article, index: int, count: int, content_hash: str) -> Metadata:
    """Flat metadata for one chunk (no None values). Chunk 0, the article's commit marker, carries the
    article's data — what is needed to cite it and to filter by it — once; every other chunk only what finds and
    orders it and the year (the dense search filters chunks by year). Readers take article data from chunk 0
    (stores written before this carry it on every chunk too; it is the same)."""
    meta: Metadata = {"article_id": article.id, "chunk": index, "n_chunks": count, "hash": content_hash}
    if article.year is not None:
        meta["year"] = article.year
    if index:
        return meta
    optional: dict[str, str | int | None] = {
        "title": article.title,
        "journal": article.journal,
        "date": article.date,
        "pmid": article.pmid,
        "doi": article.doi,
        "url": article.url,
        "source_id": article.source_id,
        "authors": "; ".join(article.authors[:12]) + ("; et al." if len(article.authors) > 12 else ""),
        "mesh": "; ".join(article.mesh),
        "source": article.source,
        # study type codes, most specific first ("meta-analysis; systematic-review"), and the raw types
        "study_types": "; ".join(article.study_types),
        "publication_types": "; ".join(article.publication_types),
        "retraction": article.retraction,
    }
    meta.update({k: v for k, v in optional.items() if v not in (None, "")})
    return meta


class Ingestor:
    """Writes articles into one store with one embedder, and keeps the store's lexical index in step."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: Embedder,
        settings: Settings,
        lexical: LexicalIndex | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.signature = chunk_signature(settings, embedder)
        self._lexical = lexical
        self._unindexed: list[ArticleChunks] = []
        self._unindexed_removed: list[str] = []
        self._unindexed_since = now_ms()
        self._unindexed_stamp = 0

    @property
    def group_size(self) -> int:
        """Articles per group: the setting, else what suits the embedder."""
        return self.settings.ingest_group_size or self.embedder.group_size

    def lexical_index(self) -> LexicalIndex:
        """The store's lexical index."""
        if self._lexical is None:
            with self._lexical_faults():
                self._lexical = LexicalIndex.open(index_folder(self.settings.store_cache_dir))
        return self._lexical

    @contextmanager
    def _lexical_faults(self) -> Iterator[None]:
        """A failed write to the lexical index (a full disk, a read-only folder) as the store's one-line error;
        what is in the store stays, and the next run indexes what is missing."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise store_fault(self.settings, exc) from exc
        except ValueError as exc:  # tantivy reports its I/O errors as ValueError
            if not re.search(r"os error|io ?error|no space", str(exc), re.IGNORECASE):
                raise
            raise store_fault(self.settings, exc) from exc

    def _level_index(self) -> None:
        """Bring the lexical index level with the store before writing (rebuilt once when missing or
        outdated; else what other ingests wrote since its cursor, including one killed before indexing),
        so that this ingest's cursor never passes an article the index lacks."""

        def progress(done: int, total: int) -> None:
            log.info("building the lexical index: %d of %d articles", done, total)

        with self._lexical_faults():
            self.lexical_index().refresh(self.store, progress)

    def _index_group(self, writes: Sequence[ArticleWrite], written: int) -> None:
        """Index a group whose chunks have landed in the store. Groups are indexed together, about every
        ``LEXICAL_FLUSH_MS`` (an index commit costs a few hundred ms); what a crash leaves unindexed is in
        the store, stamped after the index's cursor, so the next catch-up indexes it."""
        articles = self._unindexed
        for article_id, _, records in writes:
            if not records:  # an article stored under an older form of its id, now removed
                self._unindexed_removed.append(article_id)
                continue
            ordered = sorted(records, key=lambda r: int(r.metadata.get("chunk", 0)))
            metadata = dict(ordered[0].metadata)
            metadata["written"] = written
            title = str(metadata.get("title") or "")
            articles.append(
                ArticleChunks(
                    article_id,
                    metadata,
                    [r.id for r in ordered],
                    [without_title(r.text, title) for r in ordered],
                )
            )
        self._unindexed_stamp = written
        if len(articles) >= LEXICAL_FLUSH_ARTICLES or now_ms() - self._unindexed_since >= LEXICAL_FLUSH_MS:
            self.flush_index()

    def flush_index(self) -> None:
        """Index the groups written since the last flush."""
        articles, self._unindexed = self._unindexed, []
        removed, self._unindexed_removed = self._unindexed_removed, []
        self._unindexed_since = now_ms()
        if articles or removed:
            with self._lexical_faults():
                self.lexical_index().apply(articles, removed, cursor=self._unindexed_stamp)

    def ingest_events(
        self,
        events: Iterable[ParseEvent],
        report: IngestReport,
        progress: Progress | None = None,
        name: str = "",
        on_group: Callable[[], None] | None = None,
        live: bool = False,
    ) -> int:
        """Ingest one input's events; returns how many articles it held.

        Two stages: while one group's chunks are written to the store (a background thread), the next group
        is looked up, chunked and embedded. A group's articles count as done, and the store's revision moves,
        only once its write has finished; an error or Ctrl-C still waits for the write in flight, which keeps
        an interrupted run as recoverable as a sequential one (chunk 0 of every article is written last).
        The stages overlap with a Chroma server (the write is an HTTP request); with an embedded store they
        barely do: chromadb's bindings hold the GIL while they write (bench/chroma_writes.py).
        ``live`` inputs (stdin) are read on a thread of their own and a group is written early once the input
        falls idle (:func:`_live`).
        """
        self._level_index()
        writer = _GroupWriter(self.store, self._index_group)
        done = 0

        def settle() -> None:  # wait for the group in flight, then count it as done
            nonlocal done
            landed = writer.finish()
            if landed:
                done += landed
                if progress:
                    progress(name, done)

        try:
            stream = _live(events, LIVE_IDLE_SECONDS) if live else events
            for group in _groups(stream, report, self.group_size):
                if on_group is not None:
                    on_group()
                latest: dict[str, Article] = {}
                for article in group:  # the same id twice in one group: the later record wins
                    latest[article.id] = article
                if writer.holds_any(latest):  # its stored hash must be read after that write lands
                    settle()
                writes, unwritten = self._prepare(group, latest, report)
                settle()
                writer.start(writes, latest, len(group), unwritten)
            settle()
        finally:
            writer.close()
            self.flush_index()
        if writer.revision and not self.settings.uses_server:
            # one writer at a time: everything up to its last revision is indexed, readers need not look. (On
            # a server another ingest may have written in between: readers there always catch up.)
            with self._lexical_faults():
                self.lexical_index().mark_level(writer.revision)
        return done

    def _prepare(
        self, group: list[Article], latest: dict[str, Article], report: IngestReport
    ) -> tuple[list[ArticleWrite], set[str]]:
        """Look up, chunk and embed the articles of ``group`` that are new or changed; count the others.
        Returns the writes and the ids among them of which nothing is stored yet."""
        report.read += len(group)
        report.unchanged += len(group) - len(latest)
        stored = self.store.stored_hashes(list(latest))
        replaced = self._stored_under_older_ids(latest)
        changed: list[tuple[Article, str, bool]] = []
        for article_id, article in latest.items():
            digest = stored_hash(article, self.signature)
            if stored.get(article_id) == digest:
                report.unchanged += 1
            else:
                changed.append((article, digest, article_id in stored or article_id in replaced))
        # an older id's chunks go in the same write as the article's (after its chunks, before its commit marker)
        removals: list[ArticleWrite] = [(replaced[a], 0, []) for a in latest if a in replaced and a in stored]
        if not changed:
            return removals, set()
        # With one writer at a time (the lock of an embedded store), an article of which nothing is stored
        # now has nothing stale to delete when it is written. A server's writers may interleave: always look.
        unwritten = (
            set()
            if self.settings.uses_server
            else self.store.unwritten([a.id for a, _, is_update in changed if not is_update])
        )
        plans = []
        chunked = chunk_articles(
            [article for article, _, _ in changed],
            self.embedder.count_tokens,
            self.settings.chunk_tokens,
            self.settings.chunk_overlap_sentences,
        )
        for (article, digest, is_update), chunks in zip(changed, chunked, strict=True):
            if len(chunks) > MAX_CHUNKS:
                report.read -= 1  # counted again as the skip
                report.note_skip(_too_many_chunks(article, len(chunks)))
                continue
            plans.append((article, digest, is_update, chunks))
        texts = [c.text for *_, chunks in plans for c in chunks]
        embedded = self.embedder.embed_documents(texts)
        expected = self.store.dimension()
        if texts and expected is not None and embedded.shape[1] != expected:
            raise EmbeddingError(
                f"{describe(self.embedder)} gave {embedded.shape[1]}-dimensional vectors, but the store holds "
                f"{expected}-dimensional ones; nothing was stored from them",
                f"check that it serves the model the store was built with ({self.store.embedding_model})",
            )
        vectors = iter(embedded)
        writes = removals + [
            (replaced[a.id], 0, []) for a, *_ in plans if a.id in replaced and a.id not in stored
        ]
        for article, digest, is_update, chunks in plans:
            records = [
                ChunkRecord(c.id, c.text, next(vectors), chunk_metadata(article, c.index, c.count, digest))
                for c in chunks
            ]
            writes.append((article.id, len(chunks), records))
            report.chunks += len(chunks)
            if is_update:
                report.updated += 1
                report.updated_articles.append({"id": article.id, "title": article.title or ""})
            else:
                report.new += 1
        return writes, unwritten

    def _stored_under_older_ids(self, latest: dict[str, Article]) -> dict[str, str]:
        """Articles also stored under the id an older litbot gave them (before identifiers were normalised:
        ``pmid:0960001``, ``doi:10.1/x%20``): id -> that older id. Writing the article, or finding it stored
        unchanged under its own id, removes the older one: re-ingesting never keeps one article twice."""
        older = {a.legacy_id: aid for aid, a in latest.items() if a.legacy_id != aid}
        if not older:
            return {}
        return {older[legacy]: legacy for legacy in self.store.stored_hashes(list(older))}


class _GroupWriter:
    """Writes one group at a time on a background thread; ``finish`` waits for it and re-raises its error."""

    def __init__(self, store: ArticleStore, landed: Callable[[Sequence[ArticleWrite], int], None]) -> None:
        self.store = store
        self._landed = landed
        self.revision = ""  # the store's revision after this writer's last group (set by its thread)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="litbot-store-writer")
        self._pending: Future[None] | None = None
        self._ids: set[str] = set()
        self._articles = 0

    def holds_any(self, article_ids: Iterable[str]) -> bool:
        return self._pending is not None and not self._ids.isdisjoint(article_ids)

    def start(
        self, writes: list[ArticleWrite], latest: dict[str, Article], articles: int, unwritten: set[str]
    ) -> None:
        """Begin writing a group (``articles`` records read, ``writes`` of them new or changed, ``unwritten``
        of those with nothing stored)."""
        self._articles = articles
        if writes:
            self._ids = set(latest)
            self._pending = self._pool.submit(self._write, writes, now_ms(), unwritten)

    def _write(self, writes: list[ArticleWrite], stamp: int, unwritten: set[str]) -> None:
        self.revision = self.store.write_articles(writes, stamp, unwritten)
        self._landed(writes, stamp)

    def finish(self) -> int:
        """Wait for the group in flight; returns how many records it held (0 if none was in flight)."""
        pending, self._pending, self._ids = self._pending, None, set()
        articles, self._articles = self._articles, 0
        if pending is not None:
            pending.result()
        return articles

    def close(self) -> None:
        """Let a write in flight land (errors are already being raised by the caller), then stop the thread."""
        if self._pending is not None:
            try:
                self._pending.result()
            except Exception:  # the exception already in flight is the one to report
                log.exception("writing the last group failed")
            self._pending = None
        self._pool.shutdown(wait=True)


def _too_many_chunks(article: Article, count: int) -> Skipped:
    name, _, locator = article.source.partition(":")
    return Skipped(
        name or article.id,
        locator or article.id,
        "malformed",
        f"would make {count} chunks, over the {MAX_CHUNKS} one article may take (is it a whole paper?)",
    )


def _groups(events: Iterable[ParseEvent | None], report: IngestReport, size: int) -> Iterator[list[Article]]:
    """Articles in groups of ``size``; a ``None`` (the input is idle, see :func:`_live`) ends a group early."""
    group: list[Article] = []
    for event in events:
        if event is None:
            if group:
                yield group
                group = []
            continue
        if isinstance(event, Skipped):
            report.note_skip(event)  # reported once, in the summary
            log.debug("skipped %s", event.describe())
            continue
        group.append(event)
        if len(group) >= size:
            yield group
            group = []
    if group:
        yield group


_END = object()


def _live(events: Iterable[ParseEvent], idle_seconds: float) -> Iterator[ParseEvent | None]:
    """The events of an input that may stall (stdin: a pipe that pauses, or streams garbage without end after
    good records), read on a thread of their own; ``None`` whenever none came for ``idle_seconds``, so the
    articles read so far are written instead of waiting for a group to fill. At most LIVE_QUEUE events wait."""
    queue: Queue[object] = Queue(maxsize=LIVE_QUEUE)
    stop = threading.Event()

    def hand_over(item: object) -> bool:
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.5)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for event in events:
                if not hand_over(event):
                    return
            hand_over(_END)
        except BaseException as exc:  # handed over and raised where the events are used
            hand_over(exc)

    threading.Thread(target=read, name="litbot-live-input", daemon=True).start()
    try:
        while True:
            try:
                item = queue.get(timeout=idle_seconds)
            except Empty:
                yield None
                continue
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()  # a thread blocked reading the pipe is left behind (a daemon: it ends with the process)


def ingest_inputs(
    specs: Sequence[str],
    ingestor: Ingestor,
    progress: Progress | None = None,
    stdin: BinaryIO | None = None,
    reading: Reading | None = None,
    paths: Sequence[str] | None = None,
) -> IngestReport:
    """Ingest files, folders, globs or ``-``; one bad input never stops the others.

    ``progress`` hears of articles stored, ``reading`` of bytes read (files only: stdin has no size).
    ``paths`` are the inputs already expanded (:func:`check_inputs`), else ``specs`` are expanded here."""
    started = time.perf_counter()
    report = IngestReport(store=ingestor.settings.store_label, embedding_model=ingestor.embedder.name)
    if paths is None:
        paths = check_inputs(specs, report)
    sizes = {p: _size(p) for p in paths}
    total = sum(sizes.values())
    before_this = 0
    for path in paths:
        report.inputs.append(path)
        read_before, skips_before = report.read, report.skipped
        opened: list[Any] = []

        def on_group(path: str = path, offset: int = before_this, opened: list[Any] = opened) -> None:
            if reading is not None and opened:
                reading(path, offset + _position(opened[0], sizes[path]), total)

        events = read_input(path, stdin=stdin, opened=opened.append)
        try:
            live = path == STDIN  # a pipe may pause, or stream garbage after good records
            count = ingestor.ingest_events(events, report, progress, path, on_group, live=live)
        except InputError as exc:
            report.failed_inputs.append(path)
            report.input_errors.append(exc.user_message)
            continue
        finally:
            before_this += sizes[path]
            if reading is not None:
                reading(path, before_this, total)
        skips = report.skipped - skips_before
        if count == 0 and report.read - read_before == skips:  # not one article in it
            report.failed_inputs.append(path)
            if not skips:
                report.input_errors.append(f"{path}: no articles found")
    report.seconds = round(time.perf_counter() - started, 3)
    if report.chunks and not ingestor.settings.uses_server:
        # What was written must have left the vector index files sound (Chroma may log a failure to apply
        # its log to them and carry on): say so now, not at the next question.
        from ingest.store import index_problem_in_turn
        from ingest.store_faults import damaged

        if problem := index_problem_in_turn(ingestor.settings):
            raise damaged(ingestor.settings, problem)
    return report


def check_inputs(specs: Sequence[str], report: IngestReport) -> list[str]:
    """The files ``specs`` name; a spec that names none is recorded in ``report`` (the others still go in).
    Cheap and touching no store, so a command can refuse a run in which nothing is readable up front."""
    from ingest.sources import expand_inputs

    try:
        return expand_inputs(specs)
    except InputError:
        return [p for spec in specs for p in _expand_each(spec, report)]


def _position(handle: Any, size: int) -> int:
    """How far into its file a parser has read (the whole file once it is closed)."""
    try:
        return int(handle.tell())
    except (AttributeError, ValueError, OSError):
        return size


def _size(path: str) -> int:
    try:
        return os.path.getsize(path) if path != "-" else 0
    except OSError:
        return 0


def build_ingestor(settings: Settings) -> Ingestor:
    """The store (created when missing) and the embedder the settings name, ready to ingest."""
    from ingest.embeddings import make_embedder
    from ingest.store import open_store

    embedder = make_embedder(settings)
    return Ingestor(open_store(settings, embedder.name), embedder, settings)


@contextmanager
def writer_lock(settings: Settings, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Serialise ingests into one embedded store: a second one waits (calling ``on_wait`` once first)."""
    from filelock import FileLock, Timeout

    if settings.uses_server:
        yield
        return
    try:
        settings.chroma_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the store folder {settings.chroma_path} ({exc.strerror or exc})"
        ) from None
    if not writable(settings.chroma_path):
        raise StoreError(
            f"the store at {settings.store_label} is read-only", "ingesting needs write access to its folder"
        )
    lock = FileLock(str(settings.chroma_path / WRITER_LOCK))
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        if on_wait is not None:
            on_wait()
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _expand_each(spec: str, report: IngestReport) -> list[str]:
    from ingest.sources import expand_inputs

    try:
        return expand_inputs([spec])
    except InputError as exc:
        if exc.source not in report.failed_inputs:
            report.failed_inputs.append(exc.source)
            report.input_errors.append(exc.user_message)
        return []
