"""Hybrid retrieval: BM25 over articles + dense chunk vectors from the store, fused, merged per article.

The read side's entry point. ``Retriever.search`` returns one :class:`RetrievedArticle` per article (its
chunks merged, best passage first), so one long article never fills every slot. A relevance floor on the
best dense cosine turns "nothing in the corpus is about this" into an empty list, which the answer layer
turns into the refusal.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.retrieval.dense import chunk_cosines, nearest_chunks
from bot.retrieval.fusion import DEFAULT_PARAMS, Candidate, FusionParams, fuse
from bot.retrieval.lexical import Allowed, LexicalSearch, shared_cache
from bot.types import Filters
from ingest.embeddings import Embedder
from ingest.lexical import IndexedArticle
from ingest.settings import Settings
from ingest.store import ArticleStore
from ingest.studytypes import SYNTHESES
from ingest.terms import tokenize

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
#: SQL on the lexical index's article table: the article's study types ("rct; clinical-trial") hold the code
#: given as "; <code>;".
HAS_TYPE = "instr('; ' || ifnull(json_extract(metadata, '$.study_types'), '') || ';', ?) > 0"


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
        self._cache = shared_cache(settings.store_cache_dir)
        if synthesis_margin is None:
            synthesis_margin = SYNTHESIS_MARGIN if settings.prefer_syntheses else 0.0
        self.synthesis_margin = synthesis_margin

    def lexical_index(self) -> LexicalSearch:
        """The index for the store's current revision (built or loaded on first use after a change). Taken
        in a turn at the store, always before the cache's own lock: one order for every thread."""
        with self.store.reading():
            return self._cache.get(self.store)

    def latest_index(self) -> LexicalSearch:
        """The index as the latest search saw it (no turn at the store): what an answer reads its articles
        from after retrieving them."""
        return self._cache.latest() or self.lexical_index()

    def search(
        self,
        query: str,
        k: int = 6,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
        apply_floor: bool = True,
        expansion: str = "",
        dense_expansion: bool = False,
    ) -> list[RetrievedArticle]:
        """The ``k`` best articles for ``query``; [] when nothing passes the relevance floor. ``expansion``
        holds other names of the question's concepts (bot.answer.bridging): the lexical side looks for them
        too, the dense side embeds the question as asked."""
        if not query.strip() or k < 1:
            return []
        with self.store.reading():  # one turn at a shared store: its reads wait for one write at most
            index = self.lexical_index()
            evidence = self.gather(
                query, index, max(3 * k, MIN_POOL), filters, mode, expansion, dense_expansion
            )
        terms = set(tokenize(query))
        results: list[tuple[str, float, float]] = []
        ranked = rank(evidence, mode, self.params)
        if self.synthesis_margin and mode != "lexical":
            syntheses = synthesis_ids(index, [article_id for article_id, _ in ranked])
            ranked = prefer_syntheses(ranked, syntheses, self.synthesis_margin)
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
            results.append((article_id, score, relevance))
            if len(results) == k:
                break
        rows = {a.article_id: a for a in index.articles(article_ids=[aid for aid, _, _ in results]).values()}
        return [
            _result(rows[aid], evidence, terms, score, relevance)
            for aid, score, relevance in results
            if aid in rows
        ]

    def unmatched_filters(self, filters: Filters) -> list[str]:
        """Why a refusal under ``filters`` is no surprise: a journal or study type that no article in the store
        has at all, with how many articles name one (the bundled sample: one journal, no study types)."""
        index = self.lexical_index()
        total = index.article_count
        notes = []
        if filters.journal and not index.select("journal_matches(journal, ?) LIMIT 1", [filters.journal]):
            named = len(index.select("journal != ''", []))
            notes.append(
                f'no article\'s journal is "{filters.journal}" (articles in this store with a journal name: '
                f"{named:,} of {total:,})"
            )
        if filters.types:
            wanted = " OR ".join([HAS_TYPE] * len(filters.types))
            if not index.select(f"({wanted}) LIMIT 1", [f"; {code};" for code in filters.types]):
                typed = len(index.select("ifnull(json_extract(metadata, '$.study_types'), '') != ''", []))
                notes.append(
                    f"no article is of type {','.join(filters.types)} (articles in this store with a study type: "
                    f"{typed:,} of {total:,}; study types come from PubMed's publication types, which the bundled "
                    "sample lacks)"
                )
        return notes

    def gather(
        self,
        query: str,
        index: LexicalSearch,
        pool: int,
        filters: Filters | None,
        mode: Mode,
        expansion: str = "",
        dense_expansion: bool = False,
    ) -> Evidence:
        """Candidates within ``filters``: the ``pool`` best articles of each side, each with both scores.

        BM25 is computed for every candidate; the cosine of the best lexical candidates the dense search did
        not reach is computed from their stored vectors (the others get the cosine of the last dense hit).
        """
        evidence = Evidence()
        allowed = _allowed(index, filters)
        if allowed is not None and allowed.empty():
            return evidence
        words = f"{query} {expansion}" if expansion else query
        lexical = index.search(words, pool, allowed) if mode != "dense" else {}
        chosen: dict[str, None] = dict.fromkeys(hit.article_id for hit in lexical.values())
        scores = {hit.article_id: hit for hit in lexical.values()}
        if mode != "lexical":
            vector = self.embedder.embed_query(
                f"{query} ({expansion})" if dense_expansion and expansion else query
            )
            n = min(int(pool * DENSE_CHUNKS_PER_ARTICLE), index.chunk_count)
            found = nearest_chunks(self.store, vector, n, _dense_where(filters, allowed))
            evidence.dense_missing = min((s for _, s in found), default=0.0) if len(found) == n else 0.0
            slots = index.slots_of(list(dict.fromkeys(_article_of(cid) for cid, _ in found)))
            _add_dense(evidence, slots, found)
            missing = [a for a in chosen if a not in evidence.dense_chunks]
            missing = missing[:RESCORE_LIMIT]  # the rest keep the bound: each lookup costs per chunk
            if missing:
                rows = index.articles(article_ids=missing).values()
                chunk_ids = [c for row in rows for c in row.chunk_ids]
                _add_dense(evidence, dict.fromkeys(missing, 0), chunk_cosines(self.store, vector, chunk_ids))
            dense_only = [slots[a] for a in evidence.dense_chunks if a not in chosen and a in slots]
            if mode == "hybrid" and dense_only:
                scores.update((hit.article_id, hit) for hit in index.score(words, dense_only).values())
            chosen.update(dict.fromkeys(a for a in evidence.dense_chunks if a in slots or a in scores))
        for aid in chosen:
            cosines = evidence.dense_chunks.get(aid)
            hit = scores.get(aid)
            evidence.candidates[aid] = Candidate(
                aid,
                max(s for s, _ in cosines) if cosines else None,
                hit.score if hit else 0.0,
                hit.coverage if hit else 0.0,
                hit.exact if hit else False,
            )
        return evidence


def _article_of(chunk_id: str) -> str:
    return chunk_id.rsplit("#", 1)[0]


def _add_dense(evidence: Evidence, slots: Mapping[str, int], found: list[tuple[str, float]]) -> None:
    for chunk_id, similarity in found:
        aid, _, number = chunk_id.rpartition("#")
        if aid in slots:  # else not committed, or written after the index caught up: found next time
            evidence.dense_chunks.setdefault(aid, []).append((similarity, int(number)))


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


def synthesis_ids(index: LexicalSearch, article_ids: Sequence[str]) -> set[str]:
    """Which of ``article_ids`` are meta-analyses, systematic reviews or RCTs (their stored study types)."""
    if not article_ids:
        return set()
    is_synthesis = " OR ".join(HAS_TYPE for _ in SYNTHESES)
    slots = json.dumps(list(index.slots_of(list(article_ids)).values()))
    rows = index.select(
        f"slot IN (SELECT value FROM json_each(?)) AND ({is_synthesis})",
        [slots, *(f"; {code};" for code in sorted(SYNTHESES))],
    )
    return {article_id for _, article_id in rows}


def prefer_syntheses(
    ranked: list[tuple[str, float]], syntheses: Collection[str], margin: float
) -> list[tuple[str, float]]:
    """The ranking with ``margin`` added to the articles in ``syntheses``, re-sorted."""
    boosted = [(a, s + margin if a in syntheses else s) for a, s in ranked]
    return sorted(boosted, key=lambda kv: (-kv[1], kv[0]))


def _result(
    article: IndexedArticle, evidence: Evidence, terms: set[str], score: float, relevance: float
) -> RetrievedArticle:
    """The merged article: chunks the dense side found (nearest first), then chunks sharing query terms."""
    article_id = article.article_id
    if len(article.texts) == 1:
        order = [0]
    else:
        order = [n for _, n in sorted(evidence.dense_chunks.get(article_id, []), key=lambda c: -c[0])]
        order = [n for n in order if n < len(article.texts)]
        overlaps = sorted(
            (
                (sum(f" {t} " in held for t in terms), n)
                for n, held in enumerate(article.chunk_terms)
                if n not in order
            ),
            key=lambda c: -c[0],
        )
        order += [n for overlap, n in overlaps if overlap > 0] or ([] if order else [0])
    metadata = dict(article.metadata)
    metadata["chunk"] = order[0]
    return RetrievedArticle(
        article_id, float(score), float(relevance), metadata, [article.texts[n] for n in order]
    )


def _allowed(index: LexicalSearch, filters: Filters | None) -> Allowed | None:
    """The articles inside the filters (None = no filter): each filter is a condition on the index's
    article table, so a new metadata filter is one more clause here and one in :func:`_dense_where`."""
    if filters is None or (filters.is_empty() and not filters.exclude_ids):
        return None
    clauses: list[str] = []
    params: list[object] = []
    if filters.year_from is not None:
        clauses.append("year >= ?")
        params.append(filters.year_from)
    if filters.year_to is not None:
        clauses.append("year <= ? AND year > 0")
        params.append(filters.year_to)
    if filters.journal:
        clauses.append("journal_matches(journal, ?)")  # part of the name, or its abbreviation
        params.append(filters.journal)
    for code in filters.types:  # any of the wanted study types ("rct; clinical-trial" in the metadata)
        clauses.append(HAS_TYPE)
        params.append(f"; {code};")
    if filters.types:
        n = len(filters.types)
        clauses[-n:] = ["(" + " OR ".join(clauses[-n:]) + ")"]
    excluded = sorted(index.slots_of(sorted(filters.exclude_ids)).values()) if filters.exclude_ids else []
    if not clauses:
        return Allowed(None, excluded)
    gone = set(excluded)
    rows = [(s, a) for s, a in index.select(" AND ".join(clauses), params) if s not in gone]
    return Allowed([s for s, _ in rows], excluded, [a for _, a in rows])


def _dense_where(filters: Filters | None, allowed: Allowed | None) -> dict[str, Any] | None:
    """Chroma ``where`` for the filters: years directly, journals as the matching article ids."""
    if filters is None or allowed is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.year_from is not None:
        clauses.append({"year": {"$gte": filters.year_from}})
    if filters.year_to is not None:
        clauses.append({"year": {"$lte": filters.year_to}})
    if filters.journal or filters.types:
        clauses.append({"article_id": {"$in": list(allowed.article_ids or [])}})
    elif filters.exclude_ids:
        clauses.append({"article_id": {"$nin": sorted(filters.exclude_ids)}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
