"""Hybrid retrieval: BM25 over articles + dense chunk vectors from the store, fused, merged per article.

The read side's entry point. ``Retriever.search`` returns one :class:`RetrievedArticle` per article (its chunks
merged, best passage first), so one long article never fills every slot. A relevance floor on the best dense
cosine turns "nothing in the corpus is about this" into an empty list, which the answer layer turns into
the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bot.fusion import DEFAULT_PARAMS, Candidate, FusionParams, fuse
from bot.lexical import LexicalIndex, cache_file, shared_cache, strip_title, top
from bot.terms import tokenize
from bot.types import Filters
from ingest.embeddings import Embedder
from ingest.settings import Settings
from ingest.store import ArticleStore

Mode = Literal["hybrid", "lexical", "dense"]

#: Minimum best-chunk cosine (MiniLM) for an article to count as evidence; chosen in bench/retrieval_floor.py.
RELEVANCE_FLOOR = 0.30
#: In lexical-only mode, the minimum idf-weighted share of query terms an article must contain.
LEXICAL_FLOOR = 0.5
MIN_POOL = 100  # candidates fetched from each side, at least; more when k is larger


@dataclass(frozen=True)
class RetrievedArticle:
    article_id: str
    score: float  # fused rank score, higher is better
    relevance: float  # 0..1 evidence strength used by the relevance floor (best dense cosine, or coverage)
    metadata: Mapping[str, Any]  # metadata of its best chunk: title, journal, year, pmid, doi, url, ...
    passages: list[str]  # texts of its matched chunks, best first, without the title prefix


@dataclass
class Evidence:
    """Raw candidates of one query before fusion (the tuning bench re-fuses these with other parameters)."""

    candidates: dict[str, Candidate] = field(default_factory=dict)
    dense_chunks: dict[str, list[tuple[float, str, Mapping[str, Any]]]] = field(default_factory=dict)
    dense_missing: float = 0.0  # cosine bound for articles outside the dense hits


class Retriever:
    """Searches one store; cheap to create (the lexical index is shared per store and process)."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: Embedder,
        settings: Settings,
        params: FusionParams = DEFAULT_PARAMS,
        floor: float = RELEVANCE_FLOOR,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.params = params
        self.floor = floor
        self._cache = shared_cache(cache_file(settings.data_dir, settings.store_label, settings.collection))

    def lexical_index(self) -> LexicalIndex:
        """The index for the store's current revision (built or loaded on first use after a change)."""
        return self._cache.get(self.store)

    def search(
        self,
        query: str,
        k: int = 6,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        apply_floor: bool = True,
    ) -> list[RetrievedArticle]:
        """The ``k`` best articles for ``query``; [] when nothing passes the relevance floor."""
        if not query.strip() or k < 1:
            return []
        index = self.lexical_index()
        evidence = self.gather(query, index, max(3 * k, MIN_POOL), filters, mode)
        if mode == "lexical":
            ranked = sorted(
                ((c.article_id, c.lexical) for c in evidence.candidates.values() if c.lexical > 0),
                key=lambda kv: (-kv[1], kv[0]),
            )
        elif mode == "dense":
            ranked = sorted(
                ((c.article_id, c.dense) for c in evidence.candidates.values() if c.dense is not None),
                key=lambda kv: (-kv[1], kv[0]),
            )
        else:
            ranked = fuse(evidence.candidates.values(), self.params, evidence.dense_missing)
        results: list[RetrievedArticle] = []
        for article_id, score in ranked:
            candidate = evidence.candidates[article_id]
            if mode == "lexical":
                relevance, floor = candidate.coverage, LEXICAL_FLOOR
            else:
                relevance = candidate.dense if candidate.dense is not None else evidence.dense_missing
                floor = self.floor
            if apply_floor and relevance < floor:
                continue
            results.append(self._result(index, evidence, query, article_id, score, relevance))
            if len(results) == k:
                break
        return results

    def gather(
        self, query: str, index: LexicalIndex, pool: int, filters: Filters | None, mode: Mode
    ) -> Evidence:
        """Lexical and/or dense candidates within ``filters``."""
        evidence = Evidence()
        allowed = _allowed(index, filters)
        if allowed is not None and not allowed.any():
            return evidence
        if mode != "dense":
            hits = index.score(query)
            for pos in top(hits.scores, pool, allowed):
                aid = index.articles[pos].article_id
                evidence.candidates[aid] = Candidate(
                    aid, None, float(hits.scores[pos]), float(hits.coverage[pos])
                )
        if mode != "lexical":
            where = _dense_where(index, filters, allowed)
            vector = self.embedder.embed_query(query)
            found = self.store.query(vector, pool + pool // 2, where)
            for hit in found:
                aid = str(hit.metadata.get("article_id") or hit.id.rsplit("#", 1)[0])
                evidence.dense_chunks.setdefault(aid, []).append((hit.similarity, hit.text, hit.metadata))
            evidence.dense_missing = min((h.similarity for h in found), default=0.0)
            for aid, chunks in evidence.dense_chunks.items():
                best = max(s for s, _, _ in chunks)
                old = evidence.candidates.get(aid)
                evidence.candidates[aid] = Candidate(
                    aid, best, old.lexical if old else 0.0, old.coverage if old else 0.0
                )
        return evidence

    def _result(
        self,
        index: LexicalIndex,
        evidence: Evidence,
        query: str,
        article_id: str,
        score: float,
        relevance: float,
    ) -> RetrievedArticle:
        dense = sorted(evidence.dense_chunks.get(article_id, []), key=lambda c: -c[0])
        passages = [strip_title(text, meta) for _, text, meta in dense]
        metadata: Mapping[str, Any] = dense[0][2] if dense else {}
        pos = index.position.get(article_id)
        if pos is not None:
            article = index.articles[pos]
            metadata = metadata or article.metadata
            terms = set(tokenize(query))
            rest = [(len(terms & set(tokenize(t))), t) for t in article.texts if t not in passages]
            rest.sort(key=lambda r: -r[0])
            passages += [t for overlap, t in rest if overlap > 0] or (
                [] if passages else [rest[0][1]] if rest else []
            )
        return RetrievedArticle(article_id, float(score), float(relevance), dict(metadata), passages)


def _allowed(index: LexicalIndex, filters: Filters | None) -> np.ndarray | None:
    """Mask of articles inside the filters (None = no filter)."""
    if filters is None or filters.is_empty():
        return None
    mask = np.ones(len(index), dtype=bool)
    if filters.year_from is not None:
        mask &= index.years >= filters.year_from
    if filters.year_to is not None:
        mask &= (index.years <= filters.year_to) & (index.years > 0)
    if filters.journal:
        needle = filters.journal.strip().lower()
        mask &= np.array([needle in j for j in index.journals], dtype=bool)
    return mask


def _dense_where(
    index: LexicalIndex, filters: Filters | None, allowed: np.ndarray | None
) -> dict[str, Any] | None:
    """Chroma ``where`` for the filters: years directly, journals as the matching article ids."""
    if filters is None or allowed is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": filters.year_to}})
    if filters.journal:
        clauses.append(
            {"article_id": {"$in": [index.articles[p].article_id for p in np.flatnonzero(allowed)]}}
        )
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
