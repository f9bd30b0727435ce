"""`litbot eval retrieval`: a BEIR set's queries through ``Retriever.search`` in every mode, scored.

The same search the bot uses (apply_floor=False, k=100), so the figures describe what users get. Articles map
to qrels by the corpus ``_id``: metadata ``source_id`` (kept for every BEIR line), else ``pmid``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.eval.beir import BeirSet, ensure_ingested, load_beir
from bot.eval.metrics import mrr_at, ndcg_at, percentile, recall_at
from bot.retrieval.retriever import Mode, Retriever
from ingest.settings import Settings

MODES: tuple[Mode, ...] = ("hybrid", "lexical", "dense")
EVAL_K = 100


@dataclass(frozen=True)
class ModeReport:
    ndcg_10: float
    recall_5: float
    recall_100: float
    mrr_10: float
    p50_ms: float
    p95_ms: float
    queries: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "ndcg@10": round(self.ndcg_10, 4),
            "recall@5": round(self.recall_5, 4),
            "recall@100": round(self.recall_100, 4),
            "mrr@10": round(self.mrr_10, 4),
            "p50_ms": round(self.p50_ms, 2),
            "p95_ms": round(self.p95_ms, 2),
            "queries": self.queries,
        }


def corpus_id(metadata: Mapping[str, Any], article_id: str) -> str:
    """The BEIR ``_id`` an article came from."""
    for key in ("source_id", "pmid"):
        value = metadata.get(key)
        if value not in (None, ""):
            return str(value)
    return article_id.split(":", 1)[-1]


def score_mode(retriever: Retriever, beir: BeirSet, mode: Mode, query_ids: list[str]) -> ModeReport:
    """Metrics and per-search latency of one mode over ``query_ids``."""
    ndcg = recall5 = recall100 = mrr = 0.0
    latencies: list[float] = []
    for qid in query_ids:
        started = time.perf_counter()
        results = retriever.search(beir.queries[qid], k=EVAL_K, mode=mode, apply_floor=False)
        latencies.append((time.perf_counter() - started) * 1000)
        ranked = [corpus_id(r.metadata, r.article_id) for r in results]
        relevant = beir.qrels[qid]
        ndcg += ndcg_at(ranked, relevant, 10)
        recall5 += recall_at(ranked, relevant, 5)
        recall100 += recall_at(ranked, relevant, 100)
        mrr += mrr_at(ranked, relevant, 10)
    n = max(len(query_ids), 1)
    return ModeReport(
        ndcg / n,
        recall5 / n,
        recall100 / n,
        mrr / n,
        percentile(latencies, 50),
        percentile(latencies, 95),
        len(query_ids),
    )


def open_retriever(store_settings: Settings) -> Retriever:
    from ingest.embeddings import make_embedder
    from ingest.store import open_store

    embedder = make_embedder(store_settings)
    return Retriever(open_store(store_settings, embedder.name, create=False), embedder, store_settings)


def evaluate(
    folder: Path,
    split: str,
    settings: Settings,
    limit: int | None = None,
    keep: Collection[str] | None = None,
    progress: Callable[[str, int], None] | None = None,
    retriever: Retriever | None = None,
) -> dict[str, dict[str, float | int]]:
    """``{mode: metrics}`` for every mode; ``keep`` restricts to those query ids (e.g. a held-out half)."""
    beir = load_beir(folder, split)
    if retriever is None:
        retriever = open_retriever(ensure_ingested(folder, settings, progress))
    query_ids = [q for q in beir.queries if keep is None or q in keep]
    if limit is not None:
        query_ids = query_ids[:limit]
    if query_ids:  # warm up: index load, ONNX session, first Chroma query
        for mode in MODES:
            retriever.search(beir.queries[query_ids[0]], k=EVAL_K, mode=mode, apply_floor=False)
    return {mode: score_mode(retriever, beir, mode, query_ids).as_dict() for mode in MODES}
