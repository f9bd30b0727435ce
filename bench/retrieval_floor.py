"""How the relevance floor was chosen: best relevance of real questions vs off-topic ones, per corpus.

    LITBOT_DATA_DIR=... .venv/bin/python bench/retrieval_floor.py [scifact]

A question passes the floor when an article's relevance reaches it: its best chunk's cosine, or 1.0 when
it holds every query term including a rare one. Prints, for each corpus, the spread of the
best cosine for real questions (PubMedQA questions, the plain-language paraphrases, SciFact claims, the mini
corpus's questions) and for 40 off-topic questions, and how many of each a range of floors would keep.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from retrieval_common import PUBMEDQA, SCIFACT, off_topic_questions, paraphrase_set, retriever_for

from bot.eval.beir import load_beir
from bot.eval.metrics import percentile
from bot.retrieval.retriever import Retriever

MINI = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "corpus-mini"


def best_cosine(retriever: Retriever, question: str) -> float:
    """The best relevance among the hybrid top 20 (cosine, or 1.0 for an exact rare-name match)."""
    hits = retriever.search(question, k=20, apply_floor=False)
    return max((h.relevance for h in hits), default=0.0)


def mini_retriever() -> Retriever:
    """The mini corpus in its own cached store (the tests' corpus)."""
    from bot.eval.retrieval import open_retriever
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.settings import load_settings
    from ingest.store import open_store

    base = load_settings()
    settings = base.model_copy(update={"chroma_path": base.data_dir / "eval" / "corpus-mini" / "chroma"})
    embedder = make_embedder(settings)
    store = open_store(settings, embedder.name)
    if store.count_articles() < 64:
        ingest_inputs([str(MINI)], Ingestor(store, embedder, settings))
    return open_retriever(settings)


def describe(label: str, values: list[float]) -> None:
    print(
        f"  {label:<28} n={len(values):<4} min={min(values):.3f} p1={percentile(values, 1):.3f} "
        f"p5={percentile(values, 5):.3f} p50={percentile(values, 50):.3f} max={max(values):.3f}"
    )


def main() -> None:
    off_topic = off_topic_questions()
    corpora: list[tuple[str, Retriever, dict[str, list[str]]]] = []
    mini_questions = [
        json.loads(line)["question"] for line in (MINI / "questions.jsonl").read_text().splitlines() if line
    ]
    corpora.append(("mini corpus", mini_retriever(), {"PubMedQA questions": mini_questions}))
    pubmedqa = retriever_for(PUBMEDQA)
    corpora.append(
        (
            "PubMedQA (1,000)",
            pubmedqa,
            {
                "PubMedQA questions": list(load_beir(PUBMEDQA, "test").queries.values()),
                "paraphrases": list(paraphrase_set().queries.values()),
            },
        )
    )
    if "scifact" in sys.argv[1:]:
        corpora.append(
            (
                "SciFact (5,183)",
                retriever_for(SCIFACT),
                {"claims": list(load_beir(SCIFACT, "train").queries.values())},
            )
        )
    floors = [0.15, 0.2, 0.25, 0.3, 0.35, 0.4]
    for name, retriever, real_sets in corpora:
        print(f"{name}")
        off = [best_cosine(retriever, q) for q in off_topic]
        describe("off-topic", off)
        worst = sorted(zip(off, off_topic, strict=True), reverse=True)[:3]
        print("    highest off-topic:", "; ".join(f"{c:.3f} {q}" for c, q in worst))
        for label, questions in real_sets.items():
            real = [best_cosine(retriever, q) for q in questions]
            describe(label, real)
            kept = "  ".join(
                f"{f:.2f}:{sum(c >= f for c in real)}/{sum(c >= f for c in off)}" for f in floors
            )
            print(f"    floor: real kept / off-topic kept  {kept}")


if __name__ == "__main__":
    main()
