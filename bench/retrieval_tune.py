"""Grid search of the fusion parameters over cached raw evidence (no re-embedding per setting).

    LITBOT_DATA_DIR=... .venv/bin/python bench/retrieval_tune.py

Tunes on the SciFact tuning half only, then prints the chosen setting's figures on the held-out half, on
PubMedQA and on the plain-language paraphrases (which are a check, and also a tuning constraint: hybrid must
not fall below dense-only there).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection

from retrieval_common import dataset, evidence_for, scifact_halves

from bot.eval.beir import BeirSet
from bot.eval.metrics import mrr_at, ndcg_at, recall_at
from bot.eval.retrieval import corpus_id
from bot.retrieval.fusion import FusionParams
from bot.retrieval.retriever import Evidence, Mode, Retriever, rank


def figures(
    retriever: Retriever,
    beir: BeirSet,
    evidence: dict[str, Evidence],
    mode: Mode,
    params: FusionParams,
    keep: Collection[str] | None = None,
) -> dict[str, float]:
    index = retriever.lexical_index()
    ids = [q for q in beir.queries if keep is None or q in keep]
    totals = {"ndcg@10": 0.0, "recall@5": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid in ids:
        top = [article_id for article_id, _ in rank(evidence[qid], mode, params)[:100]]
        rows = {a.article_id: a.metadata for a in index.articles(article_ids=top).values()}
        ranked = [corpus_id(rows.get(article_id, {}), article_id) for article_id in top]
        relevant = beir.qrels[qid]
        totals["ndcg@10"] += ndcg_at(ranked, relevant, 10)
        totals["recall@5"] += recall_at(ranked, relevant, 5)
        totals["recall@100"] += recall_at(ranked, relevant, 100)
        totals["mrr@10"] += mrr_at(ranked, relevant, 10)
    return {k: round(v / max(len(ids), 1), 4) for k, v in totals.items()}


def grid() -> list[FusionParams]:
    out = [
        FusionParams(
            method="weighted", lexical_weight=w, confidence_power=p, lexical_power=g, coverage_share=c
        )
        for w, p, g, c in itertools.product(
            [0.3, 0.5, 0.6, 0.8, 1.0, 1.2],
            [0.0, 1.0, 2.0, 2.5, 3.0, 4.0],
            [0.5, 1.0, 2.0],
            [0.0, 0.3, 0.6],
        )
    ]
    out += [
        FusionParams(method="rrf", rrf_k=k, rrf_lexical=w)
        for k, w in itertools.product([5, 10, 20, 40, 60], [0.5, 0.75, 1.0, 1.25, 1.5])
    ]
    return out


def main() -> None:
    sf_retriever, sf = dataset("scifact")
    sf_evidence = evidence_for("scifact", sf_retriever, sf)
    tune, held_out = scifact_halves(list(sf.queries))
    pq_retriever, para = dataset("paraphrases")
    para_evidence = evidence_for("paraphrases", pq_retriever, para)
    _, pq = dataset("pubmedqa")
    pq_evidence = evidence_for("pubmedqa", pq_retriever, pq)

    rows = []
    for params in grid():
        rows.append(
            (
                figures(sf_retriever, sf, sf_evidence, "hybrid", params, tune)["ndcg@10"],
                figures(pq_retriever, para, para_evidence, "hybrid", params)["mrr@10"],
                params,
            )
        )
    dense_para = figures(pq_retriever, para, para_evidence, "dense", FusionParams())["mrr@10"]
    rows.sort(key=lambda r: -r[0])
    print(f"paraphrases dense-only MRR@10 {dense_para}")
    for tune_ndcg, para_mrr, params in rows[:25]:
        print(f"tune nDCG@10 {tune_ndcg:.4f}  paraphrase MRR@10 {para_mrr:.4f}  {params}")
    chosen = next((p for t, m, p in rows if m >= dense_para), rows[0][2])
    print(f"\nchosen (best tuning nDCG@10 with paraphrase MRR >= dense-only): {chosen}")
    for mode in ("hybrid", "lexical", "dense"):
        print(
            f"  {mode:<8} scifact held-out {figures(sf_retriever, sf, sf_evidence, mode, chosen, held_out)}"
        )
        print(f"  {mode:<8} scifact tuning   {figures(sf_retriever, sf, sf_evidence, mode, chosen, tune)}")
        print(f"  {mode:<8} pubmedqa         {figures(pq_retriever, pq, pq_evidence, mode, chosen)}")
        print(f"  {mode:<8} paraphrases      {figures(pq_retriever, para, para_evidence, mode, chosen)}")


if __name__ == "__main__":
    main()
