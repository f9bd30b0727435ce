"""The lexical index beside the store: BM25 over whole articles in tantivy, article data in SQLite.

One folder per store (``Settings.store_cache_dir / "lexical"``):

- ``tantivy/``: one document per article — its slot (an integer key) and its terms, pre-tokenised with
  :func:`ingest.terms.tokenize`: the title ``1 + title_weight`` times, then every chunk (a cheap BM25F).
  tantivy scores with Lucene's BM25 (k1 1.2, b 0.75), the formula the index used before.
- ``articles.sqlite3``: per article its id, slot, content hash, year, journal, metadata (JSON), chunk ids and
  texts (for passages) and distinct terms (for coverage); ``meta`` holds the format, the store's identity and
  the change cursor (see below).

The store stays the source of truth. Every article's chunk 0 (its commit marker, written last) carries the
time of its write (``written``, ms). An update writes tantivy first, then SQLite with the new cursor in one
transaction; a crash in between leaves SQLite at the old hashes, so the next :meth:`LexicalIndex.catch_up`
(any process: the rerun ingest, a bot) redoes it, and redoing is harmless (delete by slot, then add). Catching
up reads the commit markers written since the cursor (less ``WINDOW_MS`` on a Chroma server, where several
writers may interleave; an embedded store has one writer at a time) and re-reads every article whose stored hash
differs from ours: that is how a process follows another process's ingests, embedded or through a server.
A missing, damaged, older-format or other store's index is rebuilt from the store once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tantivy
from filelock import FileLock

from ingest.chunking import without_title
from ingest.journals import journal_matches
from ingest.terms import tokenize

if TYPE_CHECKING:
    from ingest.store import ArticleStore

log = logging.getLogger(__name__)

FORMAT = "tantivy-2"
#: On a Chroma server, commit markers this much older than the cursor are read again when catching up: one
#: writer's write stamped before another's may land after it, and their clocks may disagree by this much. An
#: embedded store has one writer at a time (the ingest lock) whose stamps only grow, so none is needed there.
WINDOW_MS = 60_000
BATCH = 500  # articles read from the store and written per index commit when catching up or rebuilding
WRITER_HEAP = 64 * 1024 * 1024


@dataclass(frozen=True)
class BM25Params:
    """Chosen on the SciFact tuning half (BENCHMARKS.md › Retrieval). tantivy's BM25 uses k1 1.2 and b 0.75
    itself; they are here for the score scale (see bot.retrieval.lexical) and for the record."""

    k1: float = 1.2
    b: float = 0.75
    title_weight: int = 2  # extra times the title's terms count


@dataclass
class ArticleChunks:
    """One article as indexed: its chunks (texts without the title prefix) and the metadata of chunk 0."""

    article_id: str
    metadata: dict[str, Any]
    chunk_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IndexedArticle:
    """One article read back from the index."""

    slot: int
    article_id: str
    metadata: dict[str, Any]
    chunk_ids: list[str]
    texts: list[str]
    terms: frozenset[str]
    chunk_terms: list[str]  # each chunk's distinct terms, space-separated with a space either side


Progress = Callable[[int, int], None]  # (articles indexed, articles in the store)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("slot", stored=False, indexed=True, fast=True)
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    return builder.build()


_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    slot INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    year INTEGER NOT NULL,
    journal TEXT NOT NULL,
    metadata TEXT NOT NULL,
    chunk_ids TEXT NOT NULL,
    texts TEXT NOT NULL,
    terms TEXT NOT NULL,
    chunk_terms TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_year ON articles (year);
"""


class LexicalIndex:
    """The lexical index of one store, on disk; safe to share between threads of one process and between
    processes (writes take a file lock; SQLite readers see whole transactions)."""

    def __init__(self, folder: Path, params: BM25Params = BM25Params()) -> None:
        self.folder = folder
        self.params = params
        folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._file_lock = FileLock(str(folder / "write.lock"))
        self._db = self._open_db()
        self.schema = _schema()
        (folder / "tantivy").mkdir(exist_ok=True)
        self._tantivy = tantivy.Index(self.schema, path=str(folder / "tantivy"))

    def _open_db(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.folder / "articles.sqlite3", check_same_thread=False, isolation_level=None, timeout=60
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SQL)
        db.create_function("journal_matches", 2, journal_matches, deterministic=True)  # --journal filters
        return db

    @classmethod
    def open(cls, folder: Path, params: BM25Params = BM25Params()) -> LexicalIndex:
        """Open the index in ``folder``; a damaged one is set aside and an empty one made (rebuilt later)."""
        database = folder / "articles.sqlite3"
        if folder.exists() and not (
            os.access(folder, os.W_OK) and (not database.exists() or os.access(database, os.W_OK))
        ):
            raise PermissionError(f"{folder} is read-only")
        try:
            index = cls(folder, params)
            if index._meta("format") not in (None, FORMAT):
                raise ValueError(f"format {index._meta('format')}")
            index._db.execute("SELECT count(*) FROM articles").fetchone()
            with index._lock, index._file_lock:  # no writer between the two counts
                if index.article_count and index.searcher().num_docs == 0:
                    # tantivy makes an empty index where its files are gone: searches would find nothing
                    raise ValueError(
                        f"its tantivy index is empty but {index.article_count} articles are listed"
                    )
            with contextlib.suppress(OSError):  # the whole-store pickle earlier versions kept beside it
                (folder.parent / "lexical.pkl").unlink(missing_ok=True)
            return index
        except (sqlite3.DatabaseError, ValueError, OSError) as exc:
            if isinstance(exc, OSError) and not (folder / "articles.sqlite3").exists():
                raise
            log.warning("the lexical index in %s is damaged or older (%s): rebuilding it", folder, exc)
            shutil.rmtree(folder, ignore_errors=True)
            return cls(folder, params)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- state ---------------------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def built(self) -> int:
        """When the last full build started (ms), 0 if none finished."""
        return int(self._meta("built") or 0)

    @property
    def cursor(self) -> int:
        return int(self._meta("cursor") or 0)

    def current_for(self, store_identity: str) -> bool:
        """Whether this index was completely built, in this format, from the store named ``store_identity``."""
        return self._meta("format") == FORMAT and self._meta("store") == store_identity

    @property
    def article_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    @property
    def chunk_count(self) -> int:
        return int(self._meta("chunks") or 0)

    # --- writing -------------------------------------------------------------------------------------------
    def apply(self, articles: Sequence[ArticleChunks], removed: Iterable[str] = (), cursor: int = 0) -> None:
        """Replace (or add) ``articles``, drop ``removed`` ids, and move the cursor to at least ``cursor``."""
        removed = [a for a in removed if a not in {x.article_id for x in articles}]
        with self._lock, self._file_lock:
            ids = [a.article_id for a in articles] + removed
            slots = self._slots(ids)
            next_slot = int(self._db.execute("SELECT coalesce(max(slot), 0) FROM articles").fetchone()[0]) + 1
            for article in articles:
                if article.article_id not in slots:
                    slots[article.article_id] = next_slot
                    next_slot += 1
            tokens = [self._tokens(a) for a in articles]
            rows = [self._row(slots[a.article_id], a, t) for a, t in zip(articles, tokens, strict=True)]
            writer = self._tantivy.writer(heap_size=WRITER_HEAP, num_threads=1)
            try:
                for slot in slots.values():
                    writer.delete_documents_by_term("slot", slot)
                for row, (title, text) in zip(rows, tokens, strict=True):
                    body = " ".join(title * (1 + self.params.title_weight) + [t for c in text for t in c])
                    writer.add_document(tantivy.Document(slot=row[0], body=body))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                old_chunks = self._chunks_of(ids)
                db.executemany("DELETE FROM articles WHERE article_id = ?", [(a,) for a in removed])
                db.executemany("INSERT OR REPLACE INTO articles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                chunks = self.chunk_count - old_chunks + sum(len(a.chunk_ids) for a in articles)
                self._set(chunks=str(chunks), cursor=str(max(cursor, self.cursor)))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite rolls back by itself on some errors (a full disk)
                    db.execute("ROLLBACK")
                raise
        self.reload()

    def _set(self, **values: str) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(values.items()))

    def _slots(self, article_ids: Sequence[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for start in range(0, len(article_ids), 900):
            part = article_ids[start : start + 900]
            marks = ",".join("?" * len(part))
            for aid, slot in self._db.execute(
                f"SELECT article_id, slot FROM articles WHERE article_id IN ({marks})", part
            ):
                found[aid] = int(slot)
        return found

    def _chunks_of(self, article_ids: Sequence[str]) -> int:
        total = 0
        for start in range(0, len(article_ids), 900):
            part = article_ids[start : start + 900]
            marks = ",".join("?" * len(part))
            total += sum(
                len(json.loads(c))
                for (c,) in self._db.execute(
                    f"SELECT chunk_ids FROM articles WHERE article_id IN ({marks})", part
                )
            )
        return total

    @staticmethod
    def _tokens(article: ArticleChunks) -> tuple[list[str], list[list[str]]]:
        """The terms of the title, and of each chunk."""
        return tokenize(str(article.metadata.get("title") or "")), [tokenize(text) for text in article.texts]

    @staticmethod
    def _row(slot: int, article: ArticleChunks, tokens: tuple[list[str], list[list[str]]]) -> tuple[Any, ...]:
        meta = article.metadata
        terms = set(tokens[0]).union(*tokens[1])
        return (
            slot,
            article.article_id,
            str(meta.get("hash", "")),
            int(meta.get("year") or 0),
            str(meta.get("journal") or "").lower(),
            json.dumps(meta, ensure_ascii=False),
            json.dumps(article.chunk_ids),
            json.dumps(article.texts, ensure_ascii=False),
            " ".join(sorted(terms)),
            json.dumps([f" {' '.join(sorted(set(chunk)))} " for chunk in tokens[1]]),
        )

    def reload(self) -> None:
        """See the latest commit (ours or another process's)."""
        self._tantivy.reload()

    # --- following the store -------------------------------------------------------------------------------
    def refresh(self, store: ArticleStore, progress: Progress | None = None, revision: str = "") -> int:
        """Bring the index level with the store: rebuilt when it is not this store's (or is older), else
        caught up with what changed since the cursor — unless it is known level with ``revision`` (the store's,
        read before this call). Returns how many articles were (re)indexed."""
        if not self.current_for(store.identity()):
            done = self.rebuild(store, progress)
        elif revision and self._meta("revision") == revision:
            self.reload()
            return 0
        else:
            done = self.catch_up(store)
        if revision:
            self.mark_level(revision)
        return done

    def mark_level(self, revision: str) -> None:
        """Record that everything the store held at ``revision`` is indexed (a writer, after its last flush;
        a reader, after catching up with a revision read before)."""
        with self._lock, self._file_lock:
            self._set(revision=revision)

    def catch_up(self, store: ArticleStore) -> int:
        """Re-read the articles committed since the cursor (less the window) whose hash differs from ours."""
        self.reload()
        since = self.cursor - (WINDOW_MS if store.settings.uses_server else 0)
        done = 0
        for markers in store.committed_since(since, BATCH):
            hashes = self.hashes([aid for aid, _, _ in markers])
            changed = [aid for aid, digest, _ in markers if hashes.get(aid) != digest]
            latest = max((written for _, _, written in markers), default=0)
            if changed:
                articles = read_articles(store, changed)
                gone = [aid for aid in changed if aid not in {a.article_id for a in articles}]
                self.apply(articles, gone, cursor=latest)
                done += len(changed)
            elif latest > self.cursor:
                with self._lock, self._file_lock:
                    self._set(cursor=str(latest))
        return done

    def rebuild(self, store: ArticleStore, progress: Progress | None = None) -> int:
        """Index every committed article of the store from scratch."""
        started = now_ms()
        identity = store.identity()
        with self._lock, self._file_lock:
            writer = self._tantivy.writer(heap_size=WRITER_HEAP, num_threads=1)
            writer.delete_all_documents()
            writer.commit()
            writer.wait_merging_threads()
            self._db.execute("DELETE FROM articles")
            self._db.execute("DELETE FROM meta")
        total = store.count_articles()
        done = 0
        for markers in store.committed_since(None, BATCH):
            articles = read_articles(store, [aid for aid, _, _ in markers])
            self.apply(articles)
            done += len(articles)
            if progress is not None:
                progress(done, total)
        with self._lock, self._file_lock:
            self._set(format=FORMAT, store=identity, cursor=str(started), built=str(started))
        return done

    # --- reading -------------------------------------------------------------------------------------------
    def searcher(self) -> tantivy.Searcher:
        return self._tantivy.searcher()

    def hashes(self, article_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self._lock:
            for start in range(0, len(article_ids), 900):
                part = article_ids[start : start + 900]
                marks = ",".join("?" * len(part))
                for aid, digest in self._db.execute(
                    f"SELECT article_id, hash FROM articles WHERE article_id IN ({marks})", part
                ):
                    found[aid] = digest
        return found

    def articles(
        self, slots: Sequence[int] = (), article_ids: Sequence[str] = ()
    ) -> dict[int, IndexedArticle]:
        """Indexed articles by slot, looked up by slot or by article id."""
        found: dict[int, IndexedArticle] = {}
        with self._lock:
            for column, keys in (("slot", list(slots)), ("article_id", list(article_ids))):
                for start in range(0, len(keys), 900):
                    part = keys[start : start + 900]
                    marks = ",".join("?" * len(part))
                    for row in self._db.execute(
                        "SELECT slot, article_id, metadata, chunk_ids, texts, terms, chunk_terms FROM articles "
                        f"WHERE {column} IN ({marks})",
                        part,
                    ):
                        found[int(row[0])] = IndexedArticle(
                            int(row[0]),
                            row[1],
                            json.loads(row[2]),
                            json.loads(row[3]),
                            json.loads(row[4]),
                            frozenset(row[5].split()),
                            json.loads(row[6]),
                        )
        return found

    def terms_of(self, slots: Sequence[int]) -> dict[int, tuple[str, str]]:
        """(article id, its distinct terms space-separated with a space either side) by slot: what scoring
        needs, without reading texts and metadata."""
        found: dict[int, tuple[str, str]] = {}
        with self._lock:
            for start in range(0, len(slots), 900):
                part = list(slots[start : start + 900])
                marks = ",".join("?" * len(part))
                for slot, aid, terms in self._db.execute(
                    f"SELECT slot, article_id, terms FROM articles WHERE slot IN ({marks})", part
                ):
                    found[int(slot)] = (aid, f" {terms} ")
        return found

    def slots_of(self, article_ids: Sequence[str]) -> dict[str, int]:
        """The slot of each indexed article among ``article_ids``."""
        found: dict[str, int] = {}
        with self._lock:
            for start in range(0, len(article_ids), 900):
                part = list(article_ids[start : start + 900])
                marks = ",".join("?" * len(part))
                for aid, slot in self._db.execute(
                    f"SELECT article_id, slot FROM articles WHERE article_id IN ({marks})", part
                ):
                    found[aid] = int(slot)
        return found

    def select(self, where: str, params: Sequence[Any]) -> list[tuple[int, str]]:
        """(slot, article id) of the articles matching an SQL condition on ``articles`` (filters)."""
        with self._lock:
            return [
                (int(s), str(a))
                for s, a in self._db.execute(
                    f"SELECT slot, article_id FROM articles WHERE {where}", list(params)
                )
            ]

    def all_articles(self) -> Iterable[IndexedArticle]:
        """Every indexed article, in pages (for checks and benches; memory stays flat)."""
        last = 0
        while True:
            with self._lock:
                slots = [
                    int(s)
                    for (s,) in self._db.execute(
                        "SELECT slot FROM articles WHERE slot > ? ORDER BY slot LIMIT 1000", (last,)
                    )
                ]
            if not slots:
                return
            found = self.articles(slots)
            yield from (found[s] for s in slots)
            last = slots[-1]


def inspect(folder: Path) -> tuple[dict[str, str], list[str]]:
    """Read-only, for a check: the indexed articles (id -> content hash) and what is wrong with the index (it
    would be rebuilt, silently, when next opened)."""
    database = folder / "articles.sqlite3"
    if not database.exists():
        return {}, ["the lexical index is missing"]
    try:
        db = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=60)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            hashes = {str(a): str(h) for a, h in db.execute("SELECT article_id, hash FROM articles")}
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        return {}, [f"the lexical index's database is damaged ({exc})"]
    problems = []
    if meta.get("format") != FORMAT:
        problems.append(f"the lexical index is of format {meta.get('format')!r}, not {FORMAT!r}")
    if not (folder / "tantivy" / "meta.json").exists():
        problems.append("the lexical index's tantivy folder is missing or incomplete")
    else:
        try:
            documents = tantivy.Index.open(str(folder / "tantivy")).searcher().num_docs
        except Exception as exc:  # tantivy raises ValueError for unreadable indexes
            problems.append(f"the lexical index's tantivy files cannot be read ({exc})")
        else:
            if documents != len(hashes):
                problems.append(f"the lexical index has {documents:,} documents for {len(hashes):,} articles")
    return hashes, problems


def read_articles(store: ArticleStore, article_ids: Sequence[str]) -> list[ArticleChunks]:
    """The committed articles among ``article_ids`` as the store holds them, chunks in order."""
    grouped: dict[str, list[tuple[int, str, str, Mapping[str, Any]]]] = {}
    for chunk_id, text, metadata in store.article_chunks(article_ids):
        aid = str(metadata.get("article_id") or chunk_id.rsplit("#", 1)[0])
        grouped.setdefault(aid, []).append((int(metadata.get("chunk", 0)), chunk_id, text, metadata))
    articles = []
    for aid in article_ids:
        rows = sorted(grouped.get(aid, []), key=lambda r: r[0])
        # An article is stored only once its chunk 0 (the commit marker, written last) is.
        if not rows or rows[0][0] != 0:
            continue
        metadata = dict(rows[0][3])
        title = str(metadata.get("title") or "")
        articles.append(
            ArticleChunks(
                aid,
                metadata,
                [r[1] for r in rows],
                [without_title(r[2], str(r[3].get("title") or title)) for r in rows],
            )
        )
    return articles


def index_folder(store_cache_dir: Path) -> Path:
    """Where one store's lexical index is kept (Settings.store_cache_dir: with the store)."""
    return store_cache_dir / "lexical"
