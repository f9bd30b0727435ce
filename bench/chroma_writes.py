"""What embedded Chroma itself costs an ingest: chunks/s of bare upserts, and whether other threads run meanwhile.

    .venv/bin/python bench/chroma_writes.py COPY_OF_A_STORE [--chunks 1500] [--batch 700]

Writes into the store's ``litbot`` collection (use a copy: nothing is cleaned up) chunks shaped like litbot's
(a title and abstract of synthetic sentences, a stand-in vector, the metadata keys of a chunk 0):

- ``upsert``: as litbot stores them (text as the document);
- ``text in metadata``: the text in a metadata key instead of the document;
- ``no text``: vectors and metadata only;
- the GIL probe: a pure-Python loop in another thread, its iterations per second alone and during an upsert
  (chromadb's Rust bindings may hold the GIL while they write, which stops every other thread of the process).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_bench import _sentences, _vector


def records(
    count: int, first: int, sentences: list[str]
) -> list[tuple[str, str, np.ndarray, dict[str, object]]]:
    rng = random.Random(first)
    out = []
    for n in range(first, first + count):
        title = " ".join(rng.choice(sentences).split()[:18]).rstrip(".")
        text = f"{title}\n\n" + " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8)))
        aid = f"pmid:{90_000_000 + n}"
        meta: dict[str, object] = {
            "article_id": aid,
            "chunk": 0,
            "n_chunks": 1,
            "hash": f"{n:032d}",
            "title": title,
            "journal": "Journal of Hepatology",
            "year": 1990 + n % 35,
            "pmid": aid[5:],
            "url": f"https://pubmed.ncbi.nlm.nih.gov/{aid[5:]}/",
            "source": "bench.jsonl:1",
            "written": n,
        }
        out.append((f"{aid}#0", text, _vector(text), meta))
    return out


def write(collection: object, rows: list, batch: int, how: str) -> float:
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        metadatas = [dict(r[3]) for r in part]
        kwargs: dict[str, object] = {
            "ids": [r[0] for r in part],
            "embeddings": np.stack([r[2] for r in part]),
        }
        if how == "upsert":
            kwargs["documents"] = [r[1] for r in part]
        elif how == "text in metadata":
            for meta, row in zip(metadatas, part, strict=True):
                meta["text"] = row[1]
        kwargs["metadatas"] = metadatas
        collection.upsert(**kwargs)  # type: ignore[attr-defined]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("store")
    parser.add_argument("--chunks", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=700)
    args = parser.parse_args()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(path=args.store, settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_collection("litbot", embedding_function=None)
    size = collection.count()
    sentences = _sentences()
    first = int(time.time()) % 100_000 * 100
    row: dict[str, object] = {"chunks_in_store": size}
    for how in ("upsert", "text in metadata", "no text"):
        rows = records(args.chunks, first, sentences)
        first += args.chunks
        row[f"{how} chunks/s"] = round(args.chunks / write(collection, rows, args.batch, how))

    ticks, stop = [0], threading.Event()

    def spin() -> None:
        while not stop.is_set():
            for _ in range(1000):
                pass
            ticks[0] += 1

    thread = threading.Thread(target=spin)
    thread.start()
    time.sleep(1.0)
    alone, ticks[0] = ticks[0], 0
    seconds = write(collection, records(args.chunks, first, sentences), args.batch, "upsert")
    stop.set()
    thread.join()
    row["other thread, loops/s alone"] = alone
    row["other thread, loops/s during upsert"] = round(ticks[0] / seconds)
    print(json.dumps(row))


if __name__ == "__main__":
    main()
