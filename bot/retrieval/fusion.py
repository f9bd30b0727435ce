"""Fusing the lexical and dense rankings of articles into one.

Plain reciprocal rank fusion treats BM25's first place as strong evidence even when the query shares only
one common word with it; on plain-language questions that pushes the right article down. Here the lexical
score is normalised by the best lexical score (and damped by a square root, blended with the article's own
idf-weighted share of query terms), then weighted by the query's *lexical confidence* (the idf-weighted
share of query terms the best lexical match contains), and added to the dense cosine. When the
query's words are in the article, lexical evidence counts fully; when they are not, dense decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Candidate:
    """One article's raw evidence: best chunk cosine (None if not among the dense hits) and BM25 figures."""

    article_id: str
    dense: float | None
    lexical: float
    coverage: float
    exact: bool = False  # holds every query term, one of them rare (see bot.retrieval.lexical.LexicalHits)


@dataclass(frozen=True)
class FusionParams:
    """Chosen on the SciFact tuning half (bench/retrieval_tune.py); see BENCHMARKS.md."""

    method: Literal["weighted", "rrf"] = "weighted"
    lexical_weight: float = 1.2  # weighted: added share of the lexical evidence at full confidence
    confidence_power: float = 2.0  # weighted: confidence = best coverage ** power
    lexical_power: float = 0.5  # weighted: lexical evidence = (BM25 / best BM25) ** power ...
    coverage_share: float = 0.6  # ... blended with the article's own idf-weighted query-term coverage
    rrf_k: float = 60.0  # rrf: rank offset
    rrf_lexical: float = 1.0  # rrf: lexical weight relative to dense


DEFAULT_PARAMS = FusionParams()


def fuse(
    candidates: Iterable[Candidate], params: FusionParams = DEFAULT_PARAMS, dense_missing: float = 0.0
) -> list[tuple[str, float]]:
    """(article id, fused score) best first; ``dense_missing`` stands in for cosines past the dense cut-off."""
    items = list(candidates)
    if not items:
        return []
    scores = _rrf(items, params) if params.method == "rrf" else _weighted(items, params, dense_missing)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _weighted(items: list[Candidate], params: FusionParams, dense_missing: float) -> dict[str, float]:
    best_lexical = max(c.lexical for c in items)
    confidence = max((c.coverage for c in items if c.lexical > 0), default=0.0) ** params.confidence_power
    weight = params.lexical_weight * confidence
    share = params.coverage_share

    def lexical(c: Candidate) -> float:
        relative = (c.lexical / best_lexical) ** params.lexical_power if best_lexical > 0 else 0.0
        return (1.0 - share) * relative + share * c.coverage

    return {
        c.article_id: (c.dense if c.dense is not None else dense_missing) + weight * lexical(c) for c in items
    }


def _rrf(items: list[Candidate], params: FusionParams) -> dict[str, float]:
    scores = {c.article_id: 0.0 for c in items}
    dense = sorted((c for c in items if c.dense is not None), key=lambda c: -(c.dense or 0.0))
    lexical = sorted((c for c in items if c.lexical > 0), key=lambda c: -c.lexical)
    for rank, c in enumerate(dense, 1):
        scores[c.article_id] += 1.0 / (params.rrf_k + rank)
    for rank, c in enumerate(lexical, 1):
        scores[c.article_id] += params.rrf_lexical / (params.rrf_k + rank)
    return scores
