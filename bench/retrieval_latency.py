"""Retrieval latency at SciFact scale, end to end and per phase, side by side in one run.

    LITBOT_DATA_DIR=/tmp/litbot-retrieval/data .venv/bin/python bench/retrieval_latency.py [--queries 809]

For every SciFact claim, in turn (so machine noise hits every column alike):
- ``search k=6``: the shipped ``Retriever.search`` as `litbot ask` and the bots call it (floor on);
- ``search k=100``: as `litbot eval retrieval` calls it (no floor);
- the phases of one hybrid search at k=100: the MiniLM query embedding, BM25's best articles (tantivy), the HNSW
  query for the nearest chunks, and the exact cosines of the best lexical candidates the HNSW query missed —
  computed from their stored vectors (shipped) and, for comparison, by an id-filtered HNSW query (before).
Prints p50 / p95 / max in milliseconds, and the load average. Targets: p50 ≤ 50 ms, p95 ≤ 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager

from retrieval_common import SCIFACT, retriever_for

from bot.eval.beir import load_beir
from bot.retrieval.dense import chunk_cosines, nearest_chunks
from bot.retrieval.retriever import DENSE_CHUNKS_PER_ARTICLE, MIN_POOL, RESCORE_LIMIT


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=int, default=809, help="SciFact train claims to time (max 809)")
    args = parser.parse_args()
    retriever = retriever_for(SCIFACT)
    store, index = retriever.store, retriever.lexical_index()
    claims = list(load_beir(SCIFACT, "train").queries.values())[: args.queries]
    pool = max(3 * 100, MIN_POOL)
    times: dict[str, list[float]] = {}

    @contextmanager
    def clock(name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        times.setdefault(name, []).append((time.perf_counter() - start) * 1000)

    for claim in claims[:5]:  # warm caches (ONNX session, HNSW segment, SQLite pages)
        retriever.search(claim, k=6)
    load_before = os.getloadavg()[0]
    for claim in claims:
        with clock("search k=6 (ask)"):
            retriever.search(claim, k=6)
        with clock("search k=100 (eval)"):
            retriever.search(claim, k=100, apply_floor=False)
        with clock("  query embedding"):
            vector = retriever.embedder.embed_query(claim)
        with clock("  BM25, best articles"):
            hits = index.search(claim, pool)
        with clock("  HNSW nearest chunks"):
            found = nearest_chunks(store, vector, int(pool * DENSE_CHUNKS_PER_ARTICLE))
        dense_articles = {cid.rsplit("#", 1)[0] for cid, _ in found}
        missing = [h.article_id for h in hits.values() if h.article_id not in dense_articles][:RESCORE_LIMIT]
        chunk_ids = [c for a in index.articles(article_ids=missing).values() for c in a.chunk_ids]
        with clock("  rescore: stored vectors (shipped)"):
            chunk_cosines(store, vector, chunk_ids)
        with clock("  rescore: id-filtered query (before)"):
            nearest_chunks(store, vector, len(chunk_ids), {"article_id": {"$in": missing}})
    print(f"{len(claims)} SciFact claims, {len(index)} articles, {index.chunk_count} chunks")
    print(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
    print("| call | p50 ms | p95 ms | max ms |\n|---|---|---|---|")
    summary = {}
    for name, values in times.items():
        values.sort()
        p50, p95 = statistics.median(values), values[int(0.95 * (len(values) - 1))]
        summary[name.strip()] = {"p50_ms": round(p50, 1), "p95_ms": round(p95, 1)}
        print(f"| {name} | {p50:.1f} | {p95:.1f} | {values[-1]:.1f} |")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
