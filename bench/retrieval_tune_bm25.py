"""Grid search of BM25's k1, b and the title weight, lexical-only, on the SciFact tuning half.

LITBOT_DATA_DIR=... .venv/bin/python bench/retrieval_tune_bm25.py
"""

from __future__ import annotations

import itertools

from retrieval_common import SCIFACT, retriever_for, scifact_halves

from bot.eval.beir import load_beir
from bot.eval.metrics import ndcg_at, recall_at
from bot.eval.retrieval import corpus_id
from bot.retrieval.lexical import BM25Params, LexicalIndex, collect_articles, top


def main() -> None:
    retriever = retriever_for(SCIFACT)
    beir = load_beir(SCIFACT, "train")
    tune, held_out = scifact_halves(list(beir.queries))
    articles = collect_articles(retriever.store)
    rows = []
    for k1, b, title_weight in itertools.product([0.9, 1.2, 1.5], [0.75], [0, 1, 2]):
        params = BM25Params(k1=k1, b=b, title_weight=title_weight)
        index = LexicalIndex("tuning", articles, params)
        figures = []
        for half in (tune, held_out):
            ndcg = recall = 0.0
            for qid in half:
                ranked = [
                    corpus_id(index.articles[p].metadata, index.articles[p].article_id)
                    for p in top(index.score(beir.queries[qid]).scores, 100)
                ]
                ndcg += ndcg_at(ranked, beir.qrels[qid], 10)
                recall += recall_at(ranked, beir.qrels[qid], 100)
            figures.append((ndcg / len(half), recall / len(half)))
        rows.append((figures, params))
        print(f"{params}  tuning nDCG@10 {figures[0][0]:.4f} R@100 {figures[0][1]:.4f}", flush=True)
    best_figures, best = max(rows, key=lambda r: r[0][0][0])
    print(f"\nbest on the tuning half: {best}  tuning nDCG@10 {best_figures[0][0]:.4f}")
    print(f"held-out nDCG@10 with it (not used to choose): {best_figures[1][0]:.4f}")


if __name__ == "__main__":
    main()
