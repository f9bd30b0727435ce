"""BEIR-format folders for `litbot eval retrieval`: read queries and qrels, and ingest the corpus once.

The corpus goes into a throwaway store under ``data_dir/eval/``, keyed by the corpus file's hash, the
embedding model and the chunk settings, so repeated evaluations (and tuning runs) reuse the same vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.chunking import CHUNKER_VERSION
from ingest.errors import InputError
from ingest.files import sha256_of
from ingest.settings import Settings

EVAL_COLLECTION = "beir"
_DONE_MARKER = "ingested.json"


@dataclass(frozen=True)
class BeirSet:
    """Queries that have at least one relevant document, and their graded relevance by corpus ``_id``."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def load_beir(folder: Path, split: str) -> BeirSet:
    """Queries and ``qrels/<split>.tsv``; queries without judgements are left out (as BEIR does)."""
    corpus, queries_path, qrels_path = (
        folder / "corpus.jsonl",
        folder / "queries.jsonl",
        folder / "qrels" / f"{split}.tsv",
    )
    for path in (corpus, queries_path, qrels_path):
        if not path.is_file():
            raise InputError(
                str(path), "missing: a BEIR folder holds corpus.jsonl, queries.jsonl, qrels/<split>.tsv"
            )
    qrels: dict[str, dict[str, int]] = {}
    with qrels_path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh):
            parts = line.rstrip("\n").split("\t")
            if (number == 0 and parts[0] == "query-id") or len(parts) < 3:
                continue
            score = int(float(parts[2]))
            if score > 0:
                qrels.setdefault(parts[0], {})[parts[1]] = score
    queries: dict[str, str] = {}
    with queries_path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                if str(record["_id"]) in qrels:
                    queries[str(record["_id"])] = str(record["text"])
    return BeirSet(queries=queries, qrels={q: qrels[q] for q in queries})


def eval_store_settings(folder: Path, settings: Settings) -> Settings:
    """Settings pointing at the cached evaluation store for this corpus, model and chunking."""
    key = (
        f"{sha256_of(folder / 'corpus.jsonl')[:16]}|{settings.embedding_model}|{settings.chunk_tokens}|"
        f"{settings.chunk_overlap_sentences}|chunker {CHUNKER_VERSION}"
    )
    name = f"{folder.resolve().name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    root = settings.data_dir / "eval" / name
    return settings.model_copy(
        update={"chroma_path": root / "chroma", "chroma_host": None, "collection": EVAL_COLLECTION}
    )


def ensure_ingested(
    folder: Path, settings: Settings, progress: Callable[[str, int], None] | None = None
) -> Settings:
    """Ingest ``corpus.jsonl`` into the cached store unless already done; returns the store's settings."""
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import open_store

    store_settings = eval_store_settings(folder, settings)
    marker = store_settings.chroma_path.parent / _DONE_MARKER
    if marker.is_file():
        return store_settings
    embedder = make_embedder(store_settings)
    store = open_store(store_settings, embedder.name)
    report = ingest_inputs(
        [str(folder / "corpus.jsonl")], Ingestor(store, embedder, store_settings), progress
    )
    if report.failed_inputs:
        raise InputError(
            str(folder / "corpus.jsonl"), "; ".join(report.problems[:3]) or "could not be ingested"
        )
    marker.write_text(json.dumps(report.as_dict(), indent=1), encoding="utf-8")
    return store_settings
