"""Ingest benchmark: litbot vs the raw embedding floor vs a plain LangChain pipeline, side by side.

    .venv/bin/python bench/ingest_bench.py [--corpus ../shared/data/beir/scifact/corpus.jsonl] [--limit N]

Each phase runs in its own process (so peak RSS is its own), one after the other on the same machine:
  1. litbot ingest (`litbot ingest FILE --json`) into a fresh store: abstracts/s, chunks/s, peak RSS;
  2. the floor: the same chunk texts embedded by the same model, nothing else (length-sorted batches);
  3. a plain LangChain pipeline with the same model: RecursiveCharacterTextSplitter + Chroma.add_documents,
     embedding in input order in fixed batches of 32 (what a LangChain Embeddings wrapper does), as many batches
     at a time as litbot runs;
  4. re-ingest of the unchanged corpus into the store of phase 1.
Prints a table and one JSON line; paste the table into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"
BIN = Path(sys.executable).parent


# Runs a command and reports its own peak RSS: RUSAGE_CHILDREN of a fresh wrapper covers only that command.
WRAP = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
    "sys.stderr.write('\\nMAXRSS %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
    "sys.exit(r.returncode)"
)


def _measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[str, float, float]:
    """(stdout, wall seconds, peak RSS MB) of one command in its own process."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", WRAP, *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if out.returncode:
        raise SystemExit(f"{cmd[:3]} failed:\n{out.stderr[-3000:]}")
    rss_kb = float(out.stderr.rsplit("MAXRSS ", 1)[1].split()[0])
    return out.stdout, wall, round(rss_kb / 1024, 1)


def _child(code: str, *args: str) -> dict[str, float]:
    """Run a phase in a fresh interpreter; it prints one JSON line of figures; add its peak RSS."""
    stdout, _, rss = _measured([sys.executable, "-c", code, *args])
    figures: dict[str, float] = json.loads(stdout.strip().splitlines()[-1])
    figures["peak_rss_mb"] = rss
    return figures


FLOOR = r"""
import json, sys, time
from ingest.articles import Article
from ingest.chunking import chunk_article
from ingest.embeddings import MiniLMEmbedder
from ingest.settings import Settings
s = Settings(_env_file=None)
e = MiniLMEmbedder(threads=s.embedding_threads, batch_size=s.embedding_batch_size)
texts = []
for line in open(sys.argv[1]):
    d = json.loads(line)
    a = Article(source_id=d["_id"], title=d.get("title", ""), abstract=d["text"])
    texts += [c.text for c in chunk_article(a, e.count_tokens, s.chunk_tokens, s.chunk_overlap_sentences)]
e.embed_documents(texts[:4])
t = time.perf_counter(); e.embed_documents(texts); dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "chunks": len(texts)}))
"""

LANGCHAIN = r"""
import json, sys, time
import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter
from langchain_chroma import Chroma
from ingest.embeddings import MiniLMEmbedder
e = MiniLMEmbedder()
class Plain(Embeddings):
    def embed_documents(self, texts):
        enc = e.tokenizer.encode_batch(list(texts))
        e.session
        # input-order batches of 32, as many at a time as litbot runs (one per core)
        rows = list(e._workers.map(e._run, [[x.ids for x in enc[i:i + 32]] for i in range(0, len(enc), 32)]))
        return np.concatenate(rows).tolist() if rows else []
    def embed_query(self, text):
        return e.embed_query(text).tolist()
t = time.perf_counter()
docs = [Document(page_content=(d.get("title", "") + "\n\n" + d["text"]).strip(), metadata={"id": d["_id"]})
        for d in map(json.loads, open(sys.argv[1]))]
chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
db = Chroma(collection_name="langchain", embedding_function=Plain(), persist_directory=sys.argv[2])
for i in range(0, len(chunks), 5000):
    db.add_documents(chunks[i:i + 5000])
print(json.dumps({"seconds": time.perf_counter() - t, "chunks": len(chunks)}))
"""


def _litbot_ingest(corpus: Path, store: Path) -> dict[str, float]:
    env = {**os.environ, "LITBOT_CHROMA_PATH": str(store)}
    stdout, wall, rss = _measured([str(BIN / "litbot"), "ingest", str(corpus), "--json"], env)
    report = json.loads(stdout)
    return {
        "seconds": wall,
        "inner_seconds": report["seconds"],
        "chunks": report["chunks"],
        "read": report["read"],
        "new": report["new"],
        "unchanged": report["unchanged"],
        "peak_rss_mb": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N abstracts (0 = all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = args.corpus
        if args.limit:
            corpus = Path(tmp) / "corpus.jsonl"
            with args.corpus.open() as src, corpus.open("w") as dst:
                for i, line in enumerate(src):
                    if i >= args.limit:
                        break
                    dst.write(line)
        n = sum(1 for _ in corpus.open())
        print(f"corpus: {args.corpus} ({n} abstracts), {os.cpu_count()} cores", flush=True)
        litbot = _litbot_ingest(corpus, Path(tmp) / "litbot")
        print(f"litbot ingest: {litbot}", flush=True)
        floor = _child(FLOOR, str(corpus))
        print(f"embedding floor: {floor}", flush=True)
        lc = _child(LANGCHAIN, str(corpus), str(Path(tmp) / "lc"))
        print(f"langchain: {lc}", flush=True)
        again = _litbot_ingest(corpus, Path(tmp) / "litbot")
        print(f"re-ingest: {again}", flush=True)

    rows = [
        ("litbot ingest", litbot["seconds"], litbot["chunks"], litbot["peak_rss_mb"]),
        (
            "embedding floor (same chunks, same model)",
            floor["seconds"],
            floor["chunks"],
            floor["peak_rss_mb"],
        ),
        ("plain LangChain (splitter + Chroma.add_documents)", lc["seconds"], lc["chunks"], lc["peak_rss_mb"]),
        ("litbot re-ingest, unchanged", again["seconds"], again["chunks"], again["peak_rss_mb"]),
    ]
    print("\n| phase | wall s | abstracts/s | chunks | chunks/s | peak RSS MB |\n|---|---|---|---|---|---|")
    for name, secs, chunks, rss in rows:
        print(
            f"| {name} | {secs:.1f} | {n / secs:.1f} | {chunks:.0f} | {chunks / secs if chunks else 0:.1f} "
            f"| {rss} |"
        )
    ratios = {
        "ingest_over_floor": round(litbot["seconds"] / floor["seconds"], 3),
        "langchain_over_ingest": round(lc["seconds"] / litbot["seconds"], 3),
        "first_over_reingest": round(litbot["seconds"] / again["seconds"], 1),
        "peak_rss_mb": litbot["peak_rss_mb"],
    }
    print(
        "\nratios (targets: ingest/floor <= 1.15, langchain/ingest >= 1.3, first/re-ingest >= 50, RSS <= 1536 MB):"
    )
    print(json.dumps({"abstracts": n, **ratios}))


if __name__ == "__main__":
    main()
