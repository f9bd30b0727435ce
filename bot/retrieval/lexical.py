"""The lexical side of retrieval: BM25 over whole articles, read from the index the ingest keeps beside the store.

One document per article (title + abstract, from its chunks), because BM25's length normalisation is tuned for
whole abstracts; the title counts ``1 + title_weight`` times, a cheap BM25F (see :mod:`ingest.lexical`, which
writes the index). Before a search the index is brought level with the store when the store's revision has
moved: the articles committed since its cursor are read, not the whole store.
"""

from __future__ import annotations

import atexit
import logging
import math
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

from ingest.lexical import BM25Params, IndexedArticle, LexicalIndex, index_folder
from ingest.store import ArticleStore
from ingest.terms import MIN_SHARED_PREFIX, same_stem, tokenize

log = logging.getLogger(__name__)

# A term in at most this many articles (or this share of them) is a name-like identifier: an article holding
# it and every other query term is an exact match that passes the relevance floor whatever its cosine.
RARE_DF = 3
RARE_SHARE = 0.001


@dataclass(frozen=True)
class LexicalHit:
    """One article's BM25 for a query, the idf-weighted share of query terms it holds, and whether it holds
    *every* query term including a rare one (an exact match on a name such as "ABCA1")."""

    article_id: str
    score: float
    coverage: float
    exact: bool


@dataclass(frozen=True)
class Allowed:
    """Which articles a search may return: only ``slots`` (None: any; ``article_ids`` are the same articles),
    never ``excluded``."""

    slots: list[int] | None
    excluded: list[int]
    article_ids: list[str] | None = None

    def empty(self) -> bool:
        return self.slots is not None and not self.slots


class LexicalSearch:
    """The lexical index as of one store revision: searching it, and the store's vocabulary
    (bot.answer.concepts.CorpusStats). Cheap; a new one is made when the revision moves."""

    def __init__(self, index: LexicalIndex, revision: str) -> None:
        self.index = index
        self.revision = revision
        self.params: BM25Params = index.params
        self._searcher = index.searcher()
        self._count = index.article_count
        self.chunk_count = index.chunk_count

    def __len__(self) -> int:
        return self._count

    # --- corpus statistics (bot.answer.concepts.CorpusStats) ----------------------------------------------
    @property
    def article_count(self) -> int:
        return self._count

    def document_frequency(self, terms: Sequence[str]) -> int:
        """Articles holding any of ``terms``."""
        terms = list(dict.fromkeys(terms))
        if not terms:
            return 0
        return self._count_matching(self._any(terms))

    def _count_matching(self, query: tantivy.Query) -> int:
        # a search's count skips deleted documents (tantivy's doc_freq counts them until segments merge)
        return int(self._searcher.search(query, 1, count=True).count or 0)  # type: ignore[attr-defined]

    def _df(self, term: str) -> int:
        return self._count_matching(tantivy.Query.term_query(self.index.schema, "body", term))

    def term_weight(self, term: str) -> float:
        """The idf of ``term`` in its forms (an unknown term weighs as one in no article)."""
        return _idf(self.document_frequency(self.variants(term)), self._count)

    def variants(self, term: str) -> list[str]:
        """Stored terms that are forms of ``term`` (bot.retrieval.terms.same_stem), ``term`` first when stored."""
        if len(term) < MIN_SHARED_PREFIX or not term.isalpha():
            return [term] if self._df(term) else []
        head = term[:MIN_SHARED_PREFIX]
        found = sorted(
            t for t, n in self._searcher.terms_with_prefix("body", head) if n and same_stem(term, t)
        )
        return sorted(found, key=lambda c: c != term)

    # --- searching -------------------------------------------------------------------------------------------
    def search(self, query: str, limit: int, allowed: Allowed | None = None) -> dict[int, LexicalHit]:
        """The ``limit`` best articles for ``query`` by BM25 (slot -> hit), best first."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not self._count or limit < 1 or (allowed is not None and allowed.empty()):
            return {}
        clauses = [(tantivy.Occur.Should, self._any(terms))]
        if allowed is not None and allowed.slots is not None:
            clauses.append((tantivy.Occur.Must, self._slots(allowed.slots)))
        if allowed is not None and allowed.excluded:
            clauses.append((tantivy.Occur.MustNot, self._slots(allowed.excluded)))
        query_ = clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)
        return self._hits(terms, query_, limit)

    def score(self, query: str, slots: Sequence[int]) -> dict[int, LexicalHit]:
        """BM25, coverage and exact flag of ``query`` for each of ``slots`` (absent: holds no query term)."""
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not slots:
            return {}
        query_ = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, self._any(terms)), (tantivy.Occur.Must, self._slots(list(slots)))]
        )
        return self._hits(terms, query_, len(slots))

    def _hits(self, terms: list[str], query: tantivy.Query, limit: int) -> dict[int, LexicalHit]:
        found = self._searcher.search(query, limit, count=False).hits
        if not found:
            return {}
        slots = [
            int(s) if s is not None else -1
            for s in self._searcher.fast_field_values("slot", [address for _, address in found])
        ]
        rows = self.index.terms_of(slots)
        n = self._count
        df = {t: self._df(t) for t in terms}
        idf = {t: _idf(df[t], n) for t in terms}
        rare = {t for t in terms if df[t] <= max(RARE_DF, n * RARE_SHARE)}
        total = sum(idf.values())
        scale = 1.0 + self.params.k1  # tantivy's BM25 carries (k1 + 1); Lucene's variant, as before, does not
        hits: dict[int, LexicalHit] = {}
        for (score, _), slot in zip(found, slots, strict=True):
            row = rows.get(slot)
            if row is None:  # written to tantivy by an update that has not reached SQLite yet
                continue
            aid, held_terms = row
            held = [t for t in terms if f" {t} " in held_terms]
            hits[slot] = LexicalHit(
                aid,
                float(score) / scale,
                sum(idf[t] for t in held) / total,
                len(held) == len(terms) and any(t in rare for t in held),
            )
        return hits

    def _any(self, terms: Sequence[str]) -> tantivy.Query:
        queries = [tantivy.Query.term_query(self.index.schema, "body", t) for t in terms]
        if len(queries) == 1:
            return queries[0]
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, q) for q in queries])

    def _slots(self, slots: list[int]) -> tantivy.Query:
        return tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(self.index.schema, "slot", slots), 0.0
        )

    def texts_for(self, query: str, limit: int) -> list[str]:
        """The title and text of the ``limit`` articles best matching ``query`` (bot.answer.bridging)."""
        hits = self.search(query, limit)
        rows = self.articles(slots=list(hits))
        return [
            " ".join([str(row.metadata.get("title") or ""), *row.texts])
            for slot in hits
            if (row := rows.get(slot))
        ]

    # --- articles --------------------------------------------------------------------------------------------
    def articles(
        self, slots: Sequence[int] = (), article_ids: Sequence[str] = ()
    ) -> dict[int, IndexedArticle]:
        return self.index.articles(slots, article_ids)

    def slots_of(self, article_ids: Sequence[str]) -> dict[str, int]:
        """The slot of each indexed (committed) article among ``article_ids``."""
        return self.index.slots_of(article_ids)

    def select(self, where: str, params: Sequence[object]) -> list[tuple[int, str]]:
        return self.index.select(where, params)


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


PROGRESS_EVERY = 5.0  # seconds between progress lines of a rebuild
PROVISIONAL = ""  # the revision of a view made while an ingest runs: never the store's, so never reused


class LexicalCache:
    """The :class:`LexicalSearch` of one store's current revision, shared by every Retriever of the store in a
    process (see :func:`shared_cache`); safe to call from many threads: one catches up, the others wait."""

    def __init__(self, folder: Path, params: BM25Params | None = None) -> None:
        self.folder = folder
        self.params = params or BM25Params()
        self._index: LexicalIndex | None = None
        self._view: LexicalSearch | None = None
        self._lock = threading.Lock()

    def latest(self) -> LexicalSearch | None:
        """The view the latest :meth:`get` made, if any."""
        return self._view

    def get(self, store: ArticleStore) -> LexicalSearch:
        revision = store.revision()
        view = self._view
        if view is not None and view.revision == revision:
            return view
        with self._lock:
            if self._view is not None and self._view.revision == revision:
                return self._view
            index = self._open()
            if store.ingest_running():
                # An ingest indexes what it writes, every few seconds: catching up here would redo its work
                # (and commit the shared index) on every question while it runs. Read its latest commit, and
                # look again at the next question: the view is not kept for this revision.
                index.reload()
                self._view = LexicalSearch(index, PROVISIONAL)
                return self._view

            shown = [0.0]

            def progress(done: int, total: int) -> None:  # a rebuild is rare: a line every few seconds
                now = time.monotonic()
                if done >= total or now - shown[0] >= PROGRESS_EVERY:
                    shown[0] = now
                    log.warning("building the lexical index (once): %d of %d articles", done, total)

            index.refresh(store, progress, revision)
            self._view = LexicalSearch(index, revision)
            return self._view

    def _open(self) -> LexicalIndex:
        if self._index is None:
            try:
                self._index = LexicalIndex.open(self.folder, self.params)
            except (OSError, sqlite3.Error) as exc:  # a read-only store: an index of this process's own
                copy = Path(tempfile.mkdtemp(prefix="litbot-lexical-"))
                atexit.register(shutil.rmtree, copy, True)
                log.warning("cannot write the lexical index in %s (%s): using %s", self.folder, exc, copy)
                self._index = LexicalIndex.open(copy, self.params)
        return self._index


_caches: dict[Path, LexicalCache] = {}
_caches_lock = threading.Lock()


def shared_cache(store_cache_dir: Path) -> LexicalCache:
    """The process-wide cache for one store."""
    folder = index_folder(store_cache_dir)
    with _caches_lock:
        cache = _caches.get(folder)
        if cache is None:
            cache = _caches[folder] = LexicalCache(folder)
        return cache
