"""Hybrid retrieval: BM25 over articles + dense chunk vectors from the store, fused, merged per article.

The read side's entry point. ``Retriever.search`` returns one :class:`RetrievedArticle` per article (its
chunks merged, best passage first), so one long article never fills every slot. A relevance floor on the
best dense cosine turns "nothing in the corpus is about this" into an empty list, which the answer layer
turns into the refusal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from bot.retrieval.dense import chunk_cosines, nearest_chunks
from bot.retrieval.fusion import DEFAULT_PARAMS, Candidate, FusionParams, fuse
from bot.retrieval.lexical import LexicalIndex, cache_file, shared_cache, top
from bot.retrieval.terms import tokenize
from bot.types import Filters
from ingest.embeddings import Embedder
from ingest.settings import Settings
from ingest.store import ArticleStore
from ingest.studytypes import SYNTHESES

Mode = Literal["hybrid", "lexical", "dense"]

#: In lexical-only mode, the minimum idf-weighted share of query terms an article must contain.
LEXICAL_FLOOR = 0.5
MIN_POOL = 100  # articles taken from each side, at least; 3 * k when k is larger
DENSE_CHUNKS_PER_ARTICLE = 1.5  # chunks asked of the store per article in the pool
RESCORE_LIMIT = 20  # best lexical candidates outside the dense hits whose exact cosine is fetched
#: LITBOT_PREFER_SYNTHESES: added to the fused score of meta-analyses, systematic reviews and RCTs. Fused
#: scores are cosines plus lexical evidence; neighbours in a ranking are often 0.01-0.05 apart, so this
#: reorders near-ties only (bench/study_type_prior.py measures what it costs on SciFact).
SYNTHESIS_MARGIN = 0.02


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
    dense_chunks: dict[str, list[tuple[float, int]]] = field(default_factory=dict)  # (cosine, chunk slot)
    dense_missing: float = 0.0  # cosine bound for articles outside the dense hits


class Retriever:
    """Searches one store; cheap to create (the lexical index is shared per store and process)."""

    def __init__(
        self,
        store: ArticleStore,
        embedder: Embedder,
        settings: Settings,
        params: FusionParams = DEFAULT_PARAMS,
        floor: float | None = None,
        synthesis_margin: float | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        self.params = params
        # the minimum best-chunk cosine for an article to count as evidence (LITBOT_RELEVANCE_FLOOR, else the
        # embedding model's measured default: bench/retrieval_floor.py)
        self.floor = settings.threshold("relevance_floor") if floor is None else floor
        self._cache = shared_cache(cache_file(settings.store_cache_dir))
        if synthesis_margin is None:
            synthesis_margin = SYNTHESIS_MARGIN if settings.prefer_syntheses else 0.0
        self.synthesis_margin = synthesis_margin

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
        terms = set(tokenize(query))
        results: list[RetrievedArticle] = []
        ranked = rank(evidence, mode, self.params)
        if self.synthesis_margin and mode != "lexical":
            ranked = prefer_syntheses(ranked, index, self.synthesis_margin)
        for article_id, score in ranked:
            candidate = evidence.candidates[article_id]
            if mode == "lexical":
                relevance, floor = candidate.coverage, LEXICAL_FLOOR
            else:
                relevance = candidate.dense if candidate.dense is not None else evidence.dense_missing
                if candidate.exact:  # an exact name match is evidence however far the vectors are
                    relevance = max(relevance, candidate.coverage)
                floor = self.floor
            if apply_floor and relevance < floor:
                continue
            results.append(_result(index, evidence, terms, article_id, score, relevance))
            if len(results) == k:
                break
        return results

    def gather(
        self, query: str, index: LexicalIndex, pool: int, filters: Filters | None, mode: Mode
    ) -> Evidence:
        """Candidates within ``filters``: the ``pool`` best articles of each side, each with both scores.

        BM25 is known for every article; the cosine of the best lexical candidates the dense search did not
        reach is computed from their stored vectors (the others get the cosine of the last dense hit).
        """
        evidence = Evidence()
        allowed = _allowed(index, filters)
        if allowed is not None and not allowed.any():
            return evidence
        lexical = index.score(query) if mode != "dense" else None
        chosen: dict[int, None] = dict.fromkeys(top(lexical.scores, pool, allowed)) if lexical else {}
        if mode != "lexical":
            vector = self.embedder.embed_query(query)
            n = min(int(pool * DENSE_CHUNKS_PER_ARTICLE), index.chunk_count)
            found = nearest_chunks(self.store, vector, n, _dense_where(index, filters, allowed))
            evidence.dense_missing = min((s for _, s in found), default=0.0) if len(found) == n else 0.0
            _add_dense(evidence, index, found)
            missing = [p for p in chosen if index.articles[p].article_id not in evidence.dense_chunks]
            missing = missing[:RESCORE_LIMIT]  # the rest keep the bound: each lookup costs per chunk
            if missing:
                chunk_ids = [c for p in missing for c in index.articles[p].chunk_ids]
                _add_dense(evidence, index, chunk_cosines(self.store, vector, chunk_ids))
            chosen.update(dict.fromkeys(index.position[aid] for aid in evidence.dense_chunks))
        for pos in chosen:
            aid = index.articles[pos].article_id
            cosines = evidence.dense_chunks.get(aid)
            evidence.candidates[aid] = Candidate(
                aid,
                max(s for s, _ in cosines) if cosines else None,
                float(lexical.scores[pos]) if lexical else 0.0,
                float(lexical.coverage[pos]) if lexical else 0.0,
                bool(lexical.exact[pos]) if lexical else False,
            )
        return evidence


def _add_dense(evidence: Evidence, index: LexicalIndex, found: list[tuple[str, float]]) -> None:
    for chunk_id, similarity in found:
        slot = index.chunk_slot.get(chunk_id)
        if slot is not None:  # else written after this index was built: found after the rebuild
            aid = index.articles[slot[0]].article_id
            evidence.dense_chunks.setdefault(aid, []).append((similarity, slot[1]))


def rank(evidence: Evidence, mode: Mode, params: FusionParams = DEFAULT_PARAMS) -> list[tuple[str, float]]:
    """(article id, score) best first: BM25 alone, cosine alone, or fused."""
    if mode == "lexical":
        pairs = [(c.article_id, c.lexical) for c in evidence.candidates.values() if c.lexical > 0]
    elif mode == "dense":
        pairs = [(c.article_id, c.dense) for c in evidence.candidates.values() if c.dense is not None]
    else:
        return fuse(evidence.candidates.values(), params, evidence.dense_missing)
    return sorted(pairs, key=lambda kv: (-kv[1], kv[0]))


def kinds_of(metadata: Mapping[str, Any]) -> set[str]:
    """An article's study type codes, from its stored metadata ("rct; clinical-trial")."""
    return {part.strip() for part in str(metadata.get("study_types") or "").split(";") if part.strip()}


def prefer_syntheses(
    ranked: list[tuple[str, float]], index: LexicalIndex, margin: float
) -> list[tuple[str, float]]:
    """The ranking with ``margin`` added to meta-analyses, systematic reviews and RCTs, re-sorted."""
    boosted = []
    for article_id, score in ranked:
        position = index.position.get(article_id)
        metadata = index.articles[position].metadata if position is not None else {}
        boosted.append((article_id, score + margin if kinds_of(metadata) & SYNTHESES else score))
    return sorted(boosted, key=lambda kv: (-kv[1], kv[0]))


def _result(
    index: LexicalIndex, evidence: Evidence, terms: set[str], article_id: str, score: float, relevance: float
) -> RetrievedArticle:
    """The merged article: chunks the dense side found (nearest first), then chunks sharing query terms."""
    article = index.articles[index.position[article_id]]
    if len(article.texts) == 1:
        order = [0]
    else:
        order = [n for _, n in sorted(evidence.dense_chunks.get(article_id, []), key=lambda c: -c[0])]
        overlaps = sorted(
            ((len(terms & t), n) for n, t in enumerate(article.terms) if n not in order), key=lambda c: -c[0]
        )
        order += [n for overlap, n in overlaps if overlap > 0] or ([] if order else [0])
    metadata = dict(article.metadata)
    metadata["chunk"] = order[0]
    return RetrievedArticle(
        article_id, float(score), float(relevance), metadata, [article.texts[n] for n in order]
    )


def _allowed(index: LexicalIndex, filters: Filters | None) -> np.ndarray | None:
    """Mask of articles inside the filters (None = no filter)."""
    if filters is None or (filters.is_empty() and not filters.exclude_ids):
        return None
    mask = np.ones(len(index), dtype=bool)
    for article_id in filters.exclude_ids:
        position = index.position.get(article_id)
        if position is not None:
            mask[position] = False
    if filters.year_from is not None:
        mask &= index.years >= filters.year_from
    if filters.year_to is not None:
        mask &= (index.years <= filters.year_to) & (index.years > 0)
    if filters.journal:
        needle = filters.journal.strip().lower()
        mask &= np.array([needle in j for j in index.journals], dtype=bool)
    if filters.types:
        wanted = set(filters.types)
        mask &= np.array([bool(kinds_of(a.metadata) & wanted) for a in index.articles], dtype=bool)
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
    if filters.journal or filters.types:
        clauses.append(
            {"article_id": {"$in": [index.articles[p].article_id for p in np.flatnonzero(allowed)]}}
        )
    elif filters.exclude_ids:
        clauses.append({"article_id": {"$nin": sorted(filters.exclude_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
