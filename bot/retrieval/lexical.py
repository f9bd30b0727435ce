"""The lexical side of retrieval: BM25 (bm25s) over whole articles, cached on disk, in step with the store.

One document per article (title + abstract, rebuilt from its chunks), because BM25's length normalisation is
tuned for whole abstracts; the title is counted ``TITLE_WEIGHT`` extra times, a cheap BM25F. The index is
built once per store revision, saved under ``data_dir/lexical/``, and reloaded by later processes while the
store's revision is unchanged; an ingest bumps the revision and the next search rebuilds it.
"""

from __future__ import annotations

import bisect
import logging
import math
import pickle
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from bot.retrieval.terms import MIN_SHARED_PREFIX, same_stem, tokenize
from ingest.chunking import without_title
from ingest.files import replace_file
from ingest.store import ArticleStore

log = logging.getLogger(__name__)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets its own logger to DEBUG on import

FORMAT_VERSION = "7"
# A term in at most this many articles (or this share of them) is a name-like identifier: an article holding
# it and every other query term is an exact match that passes the relevance floor whatever its cosine.
RARE_DF = 3
RARE_SHARE = 0.001


@dataclass(frozen=True)
class BM25Params:
    """Chosen on the SciFact tuning half (bench/retrieval_tune.py)."""

    k1: float = 1.2
    b: float = 0.75
    title_weight: int = 2  # extra times the title's terms count


@dataclass
class ArticleChunks:
    """One article's chunks (texts without the title prefix) and the metadata of its first chunk."""

    article_id: str
    metadata: dict[str, Any]
    chunk_ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    terms: list[frozenset[str]] = field(default_factory=list)  # each chunk's terms, to order passages


@dataclass(frozen=True)
class LexicalHits:
    """One query over every article: BM25, the idf-weighted share of query terms present, and whether the
    article holds *every* query term including a rare one (an exact match on a name such as "ABCA1")."""

    scores: np.ndarray
    coverage: np.ndarray
    exact: np.ndarray


class LexicalIndex:
    """BM25 over the articles of one store revision, plus the per-article data filters and results need."""

    def __init__(
        self, revision: str, articles: list[ArticleChunks], params: BM25Params = BM25Params()
    ) -> None:
        self.revision = revision
        self.articles = articles
        self.params = params
        self.position = {a.article_id: i for i, a in enumerate(articles)}
        self.chunk_count = sum(len(a.texts) for a in articles)
        self.chunk_slot = {cid: (i, n) for i, a in enumerate(articles) for n, cid in enumerate(a.chunk_ids)}
        self.years = np.array([int(a.metadata.get("year") or 0) for a in articles], dtype=np.int32)
        self.journals = [str(a.metadata.get("journal") or "").lower() for a in articles]
        self.bm25 = bm25s.BM25(k1=params.k1, b=params.b, method="lucene")
        documents = []
        for article in articles:
            article.terms = [frozenset(tokenize(t)) for t in article.texts]
            title = tokenize(str(article.metadata.get("title") or ""))
            documents.append(
                title * (1 + params.title_weight) + [t for text in article.texts for t in tokenize(text)]
            )
        if articles:
            self.bm25.index(documents, show_progress=False)
        self.vocabulary = sorted(self.bm25.vocab_dict) if articles else []

    def __len__(self) -> int:
        return len(self.articles)

    # --- corpus statistics (bot.answer.concepts.CorpusStats) ----------------------------------------------------
    @property
    def article_count(self) -> int:
        return len(self.articles)

    def document_frequency(self, terms: Sequence[str]) -> int:
        """Articles holding any of ``terms``."""
        postings = self.bm25.scores
        docs = [
            postings["indices"][postings["indptr"][i] : postings["indptr"][i + 1]]
            for i in (self.bm25.vocab_dict.get(t) for t in terms)
            if i is not None
        ]
        if not docs:
            return 0
        return len(docs[0]) if len(docs) == 1 else len(np.unique(np.concatenate(docs)))

    def term_weight(self, term: str) -> float:
        """The idf of ``term`` in its forms (an unknown term weighs as one in no article)."""
        return _idf(self.document_frequency(self.variants(term)), len(self.articles))

    def variants(self, term: str) -> list[str]:
        """Stored terms that are forms of ``term`` (bot.retrieval.terms.same_stem), ``term`` first when stored."""
        head = term[:MIN_SHARED_PREFIX]
        if len(term) < MIN_SHARED_PREFIX or not term.isalpha():
            return [term] if term in self.bm25.vocab_dict else []
        start = bisect.bisect_left(self.vocabulary, head)
        found: list[str] = []
        for candidate in self.vocabulary[start:]:
            if not candidate.startswith(head):
                break
            if same_stem(term, candidate):
                found.append(candidate)
        return sorted(found, key=lambda c: c != term)

    def score(self, query: str) -> LexicalHits:
        """BM25, coverage and exact-match flags of ``query`` for every article (zeros when no term is known)."""
        n = len(self.articles)
        scores = np.zeros(n, dtype=np.float32)
        coverage = np.zeros(n, dtype=np.float32)
        all_terms = np.ones(n, dtype=bool)
        rare = np.zeros(n, dtype=bool)
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms or not n:
            return LexicalHits(scores, coverage, rare)
        vocab = self.bm25.vocab_dict
        total_idf = 0.0
        for term in terms:
            term_id = vocab.get(term)
            if term_id is None:
                total_idf += _idf(0, n)  # an unknown term is maximally rare and found nowhere
                all_terms[:] = False
                continue
            term_scores = self.bm25.get_scores_from_ids([term_id])
            present = term_scores > 0
            df = int(present.sum())
            idf = _idf(df, n)
            total_idf += idf
            scores += term_scores
            coverage += present * idf
            all_terms &= present
            if df <= max(RARE_DF, n * RARE_SHARE):
                rare |= present
        return LexicalHits(scores, coverage / total_idf, all_terms & rare)


def _idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def collect_articles(store: ArticleStore) -> list[ArticleChunks]:
    """Every stored article with its chunks in order."""
    by_id: dict[str, ArticleChunks] = {}
    rows: list[tuple[str, int, str, Mapping[str, Any]]] = []
    for chunk_id, text, metadata in store.iter_chunks():
        rows.append((chunk_id, int(metadata.get("chunk", 0)), text, metadata))
    rows.sort(key=lambda r: (str(r[3].get("article_id", r[0])), r[1]))
    for chunk_id, index, text, metadata in rows:
        article_id = str(metadata.get("article_id") or chunk_id.rsplit("#", 1)[0])
        entry = by_id.get(article_id)
        if entry is None:
            entry = by_id[article_id] = ArticleChunks(article_id, {})
        if index == 0 or not entry.metadata:
            entry.metadata = dict(metadata)
        entry.chunk_ids.append(chunk_id)
        entry.texts.append(without_title(text, str(metadata.get("title") or "")))
    # An article is stored only once its chunk 0 (the commit marker, written last) is: chunks 1..n of a write
    # that failed before it (a full disk) are never retrieved; a rerun of the ingest completes them.
    return [a for a in by_id.values() if a.chunk_ids and a.chunk_ids[0].endswith("#0")]


def cache_file(store_cache_dir: Path) -> Path:
    """Where one store's lexical index is kept (Settings.store_cache_dir: with the store)."""
    return store_cache_dir / "lexical.pkl"


class LexicalCache:
    """The current :class:`LexicalIndex` of one store: in memory, on disk, rebuilt when the revision moves.

    Shared by every Retriever of the same store in a process (see :func:`shared_cache`); ``get`` is safe to
    call from many threads: readers get an immutable index and only one thread rebuilds.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._index: LexicalIndex | None = None
        self._lock = threading.Lock()

    def get(self, store: ArticleStore) -> LexicalIndex:
        revision = store.revision()
        index = self._index
        if index is not None and index.revision == revision:
            return index
        with self._lock:
            if self._index is not None and self._index.revision == revision:
                return self._index
            index = self._load(revision)
            if index is None:
                index = LexicalIndex(revision, collect_articles(store))
                self._save(index)
            self._index = index
            return index

    def _load(self, revision: str) -> LexicalIndex | None:
        try:
            with self.path.open("rb") as fh:
                version, stored_revision, index = pickle.load(fh)
        except (OSError, EOFError, pickle.UnpicklingError, ValueError, AttributeError, ImportError):
            return None
        if version != FORMAT_VERSION or stored_revision != revision or not isinstance(index, LexicalIndex):
            return None
        return index

    def _save(self, index: LexicalIndex) -> None:
        try:
            data = pickle.dumps((FORMAT_VERSION, index.revision, index), protocol=pickle.HIGHEST_PROTOCOL)
            replace_file(self.path, data)
        except OSError as exc:  # a read-only data folder costs a rebuild per process, not a failure
            log.warning("could not save the lexical index to %s: %s", self.path, exc)


_caches: dict[Path, LexicalCache] = {}
_caches_lock = threading.Lock()


def shared_cache(path: Path) -> LexicalCache:
    """The process-wide cache for one cache file."""
    with _caches_lock:
        cache = _caches.get(path)
        if cache is None:
            cache = _caches[path] = LexicalCache(path)
        return cache


def top(values: np.ndarray, k: int, mask: np.ndarray | None = None) -> Sequence[int]:
    """Positions of the ``k`` largest positive values (within ``mask``), best first."""
    candidates = np.flatnonzero(values > 0 if mask is None else (values > 0) & mask)
    if len(candidates) > k:
        candidates = candidates[np.argpartition(-values[candidates], k - 1)[:k]]
    return candidates[np.argsort(-values[candidates], kind="stable")].tolist()
