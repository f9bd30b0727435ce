"""Fusion of lexical and dense evidence: lexical counts when the query's words are there, dense decides when not."""

from __future__ import annotations

from bot.retrieval.fusion import Candidate, FusionParams, fuse


def _order(candidates: list[Candidate], dense_missing: float = 0.0) -> list[str]:
    return [article_id for article_id, _ in fuse(candidates, dense_missing=dense_missing)]


def test_a_full_lexical_match_outranks_a_slightly_closer_vector() -> None:
    named = Candidate("named", dense=0.55, lexical=12.0, coverage=1.0)
    vague = Candidate("vague", dense=0.60, lexical=0.0, coverage=0.0)
    assert _order([vague, named]) == ["named", "vague"]


def test_with_few_query_words_matched_the_dense_order_stands() -> None:
    """A plain-language question: its best lexical match shares one common word, so BM25 barely counts."""
    right = Candidate("right", dense=0.62, lexical=0.0, coverage=0.0)
    wordy = Candidate("wordy", dense=0.52, lexical=9.0, coverage=0.2)
    assert _order([wordy, right]) == ["right", "wordy"]


def test_articles_beyond_the_dense_cut_off_get_its_bound() -> None:
    far = Candidate("far", dense=None, lexical=1.0, coverage=0.5)
    near = Candidate("near", dense=0.40, lexical=1.0, coverage=0.5)
    scores = dict(fuse([far, near], dense_missing=0.30))
    assert abs(scores["near"] - scores["far"] - 0.10) < 1e-9


def test_rrf_adds_reciprocal_ranks_of_both_sides() -> None:
    params = FusionParams(method="rrf", rrf_k=10, rrf_lexical=1.0)
    a = Candidate("a", dense=0.9, lexical=1.0, coverage=0.5)
    b = Candidate("b", dense=0.5, lexical=5.0, coverage=0.5)
    scores = dict(fuse([a, b], params))
    assert abs(scores["a"] - (1 / 11 + 1 / 12)) < 1e-12 and abs(scores["b"] - (1 / 12 + 1 / 11)) < 1e-12
    assert fuse([], params) == []
