"""Shared by the retrieval benches: the data sets, the SciFact halves, and cached raw evidence per query.

Run the benches with the same LITBOT_DATA_DIR as `litbot eval retrieval` so they reuse its ingested stores.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.eval.beir import BeirSet, ensure_ingested, load_beir
from bot.eval.retrieval import open_retriever
from bot.retrieval.retriever import Evidence, Retriever
from ingest.settings import load_settings

BEIR = Path("/work/shared/data/beir")
SCIFACT = BEIR / "scifact"
PUBMEDQA = BEIR / "pubmedqa"
PARAPHRASES = Path(__file__).parent / "data" / "pubmedqa_paraphrases.jsonl"
OFF_TOPIC = Path(__file__).parent / "data" / "off_topic.jsonl"
RESULTS = Path(__file__).parent / "results"
EVIDENCE_VERSION = "4"  # bump when Retriever.gather changes


def scifact_halves(query_ids: list[str]) -> tuple[set[str], set[str]]:
    """(tuning, held-out): claims ordered by sha256 of their id, first half tunes. Fixed, not random."""
    ordered = sorted(query_ids, key=lambda q: hashlib.sha256(q.encode()).hexdigest())
    half = len(ordered) // 2
    return set(ordered[:half]), set(ordered[half:])


def paraphrase_set() -> BeirSet:
    """Plain-language questions with their target PubMedQA PMID, as a BEIR set (ids p0, p1, ...)."""
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    return BeirSet(
        queries={f"p{i}": r["question"] for i, r in enumerate(rows)},
        qrels={f"p{i}": {r["pmid"]: 1} for i, r in enumerate(rows)},
    )


def off_topic_questions() -> list[str]:
    return [
        json.loads(line)["question"] for line in OFF_TOPIC.read_text(encoding="utf-8").splitlines() if line
    ]


def retriever_for(folder: Path) -> Retriever:
    settings = load_settings()
    store_settings = ensure_ingested(
        folder, settings, lambda name, done: print(f"ingesting {done}", flush=True)
    )
    retriever = open_retriever(store_settings)
    retriever.lexical_index()
    return retriever


def dataset(name: str) -> tuple[Retriever, BeirSet]:
    if name == "scifact":
        return retriever_for(SCIFACT), load_beir(SCIFACT, "train")
    if name == "pubmedqa":
        return retriever_for(PUBMEDQA), load_beir(PUBMEDQA, "test")
    if name == "paraphrases":
        return retriever_for(PUBMEDQA), paraphrase_set()
    raise SystemExit(f"unknown data set {name}")


def evidence_for(name: str, retriever: Retriever, beir: BeirSet, pool: int = 300) -> dict[str, Evidence]:
    """Raw hybrid evidence of every query, cached per data set, store revision and pool size."""
    index = retriever.lexical_index()
    key = hashlib.sha256(
        f"{name}|{index.revision}|{pool}|{index.params}|{EVIDENCE_VERSION}".encode()
    ).hexdigest()[:12]
    path = RESULTS / f"evidence-{name}-{key}.pkl"
    if path.exists():
        with path.open("rb") as fh:
            cached: dict[str, Evidence] = pickle.load(fh)
        return cached
    started = time.perf_counter()
    out = {qid: retriever.gather(text, index, pool, None, "hybrid") for qid, text in beir.queries.items()}
    print(f"gathered {len(out)} queries in {time.perf_counter() - started:.1f}s", flush=True)
    RESULTS.mkdir(exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump(out, fh)
    return out
