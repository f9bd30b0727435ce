"""SQLite FTS5 against tantivy as the lexical index, on the same pre-tokenised synthetic articles.

    .venv/bin/python bench/lexical_engines.py 50000 /tmp/litbot-engines

N articles of 6-10 real SciFact sentences (tokenised once with ingest.terms.tokenize), 200 SciFact claims as
queries. FTS5 is timed two ways: exact per-term BM25 (one MATCH per term, every matching row's bm25() summed,
as the coverage and exact-match flags need), and one OR query ordered by rank (FTS5's own idf, no per-term
detail). tantivy: one OR query, top 300, slots read from a fast field. Prints build time, size on disk, p50/p95.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import tantivy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.terms import tokenize

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "beir" / "scifact"


def timed(name: str, queries: list[list[str]], run: Callable[[list[str]], object]) -> None:
    seconds = []
    for terms in queries:
        start = time.perf_counter()
        run(terms)
        seconds.append(time.perf_counter() - start)
    p50, p95 = statistics.median(seconds) * 1e3, float(np.percentile(seconds, 95)) * 1e3
    print(f"{name}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


def main() -> None:
    n, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    sentences: list[str] = []
    for line in (DATA / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        sentences += [s for s in re.split(r"(?<=[.!?])\s+", json.loads(line)["text"]) if len(s) > 30]
    tokens = [" ".join(tokenize(s)) for s in sentences[:20000]]
    rng = random.Random(1)
    docs = [" ".join(rng.choice(tokens) for _ in range(rng.randint(6, 10))) for _ in range(n)]
    lines = (DATA / "queries.jsonl").read_text(encoding="utf-8").splitlines()[:200]
    queries = [list(dict.fromkeys(tokenize(json.loads(line)["text"]))) for line in lines]

    path = out / "fts.sqlite3"
    path.unlink(missing_ok=True)
    start = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("CREATE VIRTUAL TABLE fts USING fts5(body, tokenize=\"unicode61 tokenchars '.'\")")
    with con:
        con.executemany("INSERT INTO fts(rowid, body) VALUES (?, ?)", enumerate(docs, 1))
    con.execute("INSERT INTO fts(fts) VALUES ('optimize')")
    con.commit()
    print(f"fts5 build {time.perf_counter() - start:.1f} s, {path.stat().st_size / 1e6:.0f} MB")

    def fts_exact(terms: list[str]) -> object:
        scores = np.zeros(n + 1, np.float32)
        for term in terms:
            rows = con.execute(
                "SELECT rowid, bm25(fts) FROM fts WHERE fts MATCH ?", (f'"{term}"',)
            ).fetchall()
            if rows:
                found = np.array(rows)
                scores[found[:, 0].astype(int)] -= found[:, 1]
        return np.argsort(-scores)[:300]

    def fts_or(terms: list[str]) -> object:
        match = " OR ".join(f'"{t}"' for t in terms)
        return con.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 300", (match,)
        ).fetchall()

    timed("fts5 per-term exact BM25", queries, fts_exact)
    timed("fts5 OR query, top 300 by rank", queries, fts_or)

    folder = out / "tantivy"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("slot", stored=False, indexed=True, fast=True)
    builder.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    schema = builder.build()
    start = time.perf_counter()
    index = tantivy.Index(schema, path=str(folder))
    writer = index.writer(heap_size=100_000_000, num_threads=1)
    for slot, doc in enumerate(docs, 1):
        writer.add_document(tantivy.Document(slot=slot, body=doc))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"tantivy build {time.perf_counter() - start:.1f} s, {size / 1e6:.0f} MB")
    searcher = index.searcher()

    def tantivy_top(terms: list[str]) -> object:
        should = [(tantivy.Occur.Should, tantivy.Query.term_query(schema, "body", t)) for t in terms]
        hits = searcher.search(tantivy.Query.boolean_query(should), 300).hits
        return searcher.fast_field_values("slot", [address for _, address in hits])

    timed("tantivy OR query, top 300", queries, tantivy_top)


if __name__ == "__main__":
    main()
