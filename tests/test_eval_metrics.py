"""The ranking metrics against values worked out by hand."""

from __future__ import annotations

import math

import pytest

from bot.eval.metrics import mrr_at, ndcg_at, percentile, recall_at


def test_ndcg_binary_relevance() -> None:
    # one hit at rank 2 of two relevant: DCG = 1/log2(3); ideal = 1 + 1/log2(3)
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ndcg_at(["a", "b", "c"], {"b": 1, "d": 1}, 10) == pytest.approx(expected)
    assert ndcg_at(["a", "b", "c"], {"b": 1, "d": 1}, 10) == pytest.approx(0.386853, abs=1e-6)


def test_ndcg_graded_relevance_and_cut_off() -> None:
    assert ndcg_at(["a", "b"], {"a": 2, "b": 1}, 10) == pytest.approx(1.0)
    assert ndcg_at(["b", "a"], {"a": 2, "b": 1}, 10) == pytest.approx(
        (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    )
    assert ndcg_at(["x", "a"], {"a": 1}, 1) == 0.0
    assert ndcg_at(["a"], {}, 10) == 0.0


def test_recall_at_k() -> None:
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert recall_at(ranked, {"c": 1, "f": 1, "z": 1}, 5) == pytest.approx(1 / 3)
    assert recall_at(ranked, {"c": 1, "f": 1, "z": 1}, 100) == pytest.approx(2 / 3)
    assert recall_at(ranked, {"z": 1}, 100) == 0.0


def test_mrr_at_k() -> None:
    assert mrr_at(["a", "b", "c"], {"c": 1, "b": 0}, 10) == pytest.approx(1 / 3)
    assert mrr_at(["a", "b", "c"], {"a": 1}, 10) == 1.0
    assert mrr_at(["a", "b", "c"], {"c": 1}, 2) == 0.0


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
