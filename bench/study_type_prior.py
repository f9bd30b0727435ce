"""What LITBOT_PREFER_SYNTHESES does to retrieval quality, over cached raw hybrid evidence.

    LITBOT_DATA_DIR=... .venv/bin/python bench/study_type_prior.py [pubmedqa] [paraphrases] [scifact]

Neither benchmark corpus carries publication types (SciFact's are S2ORC abstracts, PubMedQA's BEIR corpus has
no PT field), so the prior, as shipped, cannot move a single result on them: the first line per data set checks
exactly that. What can be measured is what the bonus would cost or gain if some articles were syntheses:

* ``random p``: a seeded random share p of the corpus is tagged "rct", independent of relevance; the bonus is
  then pure noise, and the drop in nDCG@10 bounds what an uninformative prior costs;
* ``relevant``: for each query, exactly its judged-relevant articles are tagged; the gain bounds what an
  informative prior can buy.

The tags exist only in this process (a set of corpus ids); nothing is written. SciFact is scored on its
held-out half, PubMedQA on its 1,000 test questions, the paraphrases (plain-language PubMedQA questions,
bench/data/pubmedqa_paraphrases.jsonl) on all of them.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable, Collection

from retrieval_common import dataset, evidence_for, scifact_halves

from bot.eval.beir import BeirSet
from bot.eval.metrics import mrr_at, ndcg_at, recall_at
from bot.eval.retrieval import corpus_id
from bot.retrieval.fusion import DEFAULT_PARAMS
from bot.retrieval.retriever import SYNTHESIS_MARGIN, Evidence, kinds_of, prefer_syntheses, rank
from ingest.studytypes import SYNTHESES

MARGINS = (0.0, SYNTHESIS_MARGIN, 0.05)
SHARES = (0.1, 0.3)


def figures(
    beir: BeirSet,
    evidence: dict[str, Evidence],
    corpus_ids: dict[str, str],
    margin: float,
    keep: Collection[str],
    tagged: Callable[[str], Collection[str]],
) -> dict[str, float]:
    """nDCG@10, recall@5 and MRR@10 over ``keep`` with the articles ``tagged(query)`` (corpus ids) boosted."""
    totals = {"ndcg@10": 0.0, "recall@5": 0.0, "mrr@10": 0.0}
    for qid in keep:
        ranked_ids = rank(evidence[qid], "hybrid", DEFAULT_PARAMS)
        if margin:
            chosen = set(tagged(qid))
            syntheses = {a for a, _ in ranked_ids if corpus_ids.get(a, a) in chosen}
            ranked_ids = prefer_syntheses(ranked_ids, syntheses, margin)
        ranked = [corpus_ids.get(article_id, article_id) for article_id, _ in ranked_ids[:100]]
        relevant = beir.qrels[qid]
        totals["ndcg@10"] += ndcg_at(ranked, relevant, 10)
        totals["recall@5"] += recall_at(ranked, relevant, 5)
        totals["mrr@10"] += mrr_at(ranked, relevant, 10)
    return {k: round(v / max(len(keep), 1), 4) for k, v in totals.items()}


def run(name: str) -> None:
    retriever, beir = dataset(name)
    keep = scifact_halves(list(beir.queries))[1] if name == "scifact" else set(beir.queries)
    evidence = evidence_for(name, retriever, beir)
    articles = list(retriever.lexical_index().index.all_articles())
    corpus_ids = {a.article_id: corpus_id(a.metadata, a.article_id) for a in articles}
    typed = {corpus_ids[a.article_id] for a in articles if kinds_of(a.metadata) & SYNTHESES}
    print(f"{name}: {len(articles)} articles, {len(typed)} typed as syntheses/RCTs, {len(keep)} queries")

    def table(tagged: Callable[[str], Collection[str]]) -> str:
        return json.dumps({m: figures(beir, evidence, corpus_ids, m, keep, tagged) for m in MARGINS})

    print(f"  as shipped: {table(lambda _: typed)}", flush=True)
    ids = sorted(corpus_ids.values())
    for share in SHARES:
        chosen = set(random.Random(15).sample(ids, int(share * len(ids))))
        print(f"  random {share:.0%} tagged: {table(lambda _, c=chosen: c)}", flush=True)

    def relevant(qid: str) -> set[str]:
        return {doc for doc, grade in beir.qrels[qid].items() if grade > 0}

    print(f"  relevant tagged: {table(relevant)}", flush=True)


def main() -> None:
    for name in sys.argv[1:] or ["pubmedqa", "scifact"]:
        run(name)


if __name__ == "__main__":
    main()
