"""What LITBOT_PREFER_SYNTHESES does to retrieval quality, over cached raw hybrid evidence.

    LITBOT_DATA_DIR=... .venv/bin/python bench/study_type_prior.py [pubmedqa] [paraphrases] [scifact]

Neither benchmark corpus carries publication types (SciFact's are S2ORC abstracts, PubMedQA's BEIR corpus has
no PT field), so the prior, as shipped, cannot move a single result on them: the first line per data set checks
exactly that. What can be measured is what the bonus would cost or gain if some articles were syntheses:

* ``random p``: a seeded random share p of the corpus is tagged "rct", independent of relevance; the bonus is
  then pure noise, and the drop in nDCG@10 bounds what an uninformative prior costs;
* ``relevant``: for each query, exactly its judged-relevant articles are tagged; the gain bounds what an
  informative prior can buy.

The tags exist only in this process's copy of the index; nothing is written. SciFact is scored on its
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
from bot.retrieval.retriever import SYNTHESIS_MARGIN, Evidence, Retriever, kinds_of, prefer_syntheses, rank
from ingest.studytypes import SYNTHESES

MARGINS = (0.0, SYNTHESIS_MARGIN, 0.05)
SHARES = (0.1, 0.3)


def figures(
    retriever: Retriever,
    beir: BeirSet,
    evidence: dict[str, Evidence],
    margin: float,
    keep: Collection[str],
    per_query: Callable[[str], set[str]] | None = None,
) -> dict[str, float]:
    index = retriever.lexical_index()
    totals = {"ndcg@10": 0.0, "recall@5": 0.0, "mrr@10": 0.0}
    for qid in keep:
        if per_query is not None:
            tag(retriever, per_query(qid))
        ranked_ids = rank(evidence[qid], "hybrid", DEFAULT_PARAMS)
        if margin:
            ranked_ids = prefer_syntheses(ranked_ids, index, margin)
        ranked = []
        for article_id, _ in ranked_ids[:100]:
            pos = index.position.get(article_id)
            ranked.append(corpus_id(index.articles[pos].metadata if pos is not None else {}, article_id))
        relevant = beir.qrels[qid]
        totals["ndcg@10"] += ndcg_at(ranked, relevant, 10)
        totals["recall@5"] += recall_at(ranked, relevant, 5)
        totals["mrr@10"] += mrr_at(ranked, relevant, 10)
    return {k: round(v / max(len(keep), 1), 4) for k, v in totals.items()}


def tag(retriever: Retriever, chosen: set[str]) -> None:
    """Mark the articles whose corpus id is in ``chosen`` as RCTs (in memory); everything else untyped."""
    for article in retriever.lexical_index().articles:
        cid = corpus_id(article.metadata, article.article_id)
        article.metadata["study_types"] = "rct" if cid in chosen else ""


def run(name: str) -> None:
    retriever, beir = dataset(name)
    keep = scifact_halves(list(beir.queries))[1] if name == "scifact" else set(beir.queries)
    evidence = evidence_for(name, retriever, beir)
    index = retriever.lexical_index()
    typed = sum(1 for a in index.articles if kinds_of(a.metadata) & SYNTHESES)
    print(f"{name}: {len(index.articles)} articles, {typed} typed as syntheses/RCTs, {len(keep)} queries")
    shipped = {m: figures(retriever, beir, evidence, m, keep) for m in MARGINS}
    print(f"  as shipped: {json.dumps(shipped)}", flush=True)
    ids = [corpus_id(a.metadata, a.article_id) for a in index.articles]
    for share in SHARES:
        tag(retriever, set(random.Random(15).sample(ids, int(share * len(ids)))))
        result = {m: figures(retriever, beir, evidence, m, keep) for m in MARGINS}
        print(f"  random {share:.0%} tagged: {json.dumps(result)}", flush=True)

    def relevant(qid: str) -> set[str]:
        return {doc for doc, grade in beir.qrels[qid].items() if grade > 0}

    result = {m: figures(retriever, beir, evidence, m, keep, relevant) for m in MARGINS}
    print(f"  relevant tagged: {json.dumps(result)}", flush=True)


def main() -> None:
    for name in sys.argv[1:] or ["pubmedqa", "scifact"]:
        run(name)


if __name__ == "__main__":
    main()
