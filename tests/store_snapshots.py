"""What a store holds, read back whole, to compare two stores: chunks (text and content hash), every chunk's
vector, and the lexical index's articles and hashes. Read in a fresh process by default, as a user's next
command would read it (this test process may hold clients and caches of its own). And a store torn as a killed
process leaves it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from ingest import hnsw_files
from ingest.store_lock import GENERATION_FILE

ROOT = Path(__file__).resolve().parents[1]

_READ = r"""
import json
import numpy as np
from ingest.lexical import LexicalIndex, index_folder
from ingest.settings import load_settings
from ingest.store import open_store

settings = load_settings()
store = open_store(settings, settings.embedding_model, create=False)
chunks = {cid: [text, str(meta.get("hash", ""))] for cid, text, meta in store.iter_chunks()}
ids = sorted(chunks)
vectors = {}
for start in range(0, len(ids), 500):
    for cid, vector in store.chunk_vectors(ids[start : start + 500]).items():
        vectors[cid] = np.asarray(vector, dtype=np.float64).round(5).tolist()
index = LexicalIndex.open(index_folder(settings.store_cache_dir))
lexical = {a.article_id: str(a.metadata.get("hash", "")) for a in index.all_articles()}
print(json.dumps({"chunks": chunks, "vectors": vectors, "lexical": lexical, "documents": index.searcher().num_docs}))
"""


def read_template(template: Path, scratch: Path) -> dict[str, Any]:
    """A shared template store, read from a copy: opening a store may write to it (Chroma applies and purges
    its log), and other workers copy the template meanwhile."""
    import shutil

    copy = scratch / "template-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(template, copy)
    try:
        return read_store(copy)
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def read_store(chroma_path: Path) -> dict[str, Any]:
    """The store at ``chroma_path`` (with this test's other settings: the embedding model, the stand-in)."""
    env = {**os.environ, "LITBOT_CHROMA_PATH": str(chroma_path), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", _READ], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What differs, in words; [] when the stores are equal (vectors to 1e-4)."""
    problems = []
    if found["chunks"] != expected["chunks"]:
        missing = sorted(set(expected["chunks"]) - set(found["chunks"]))
        extra = sorted(set(found["chunks"]) - set(expected["chunks"]))
        problems.append(f"chunks differ: missing {missing[:3]}, extra {extra[:3]}")
    if set(found["vectors"]) != set(expected["vectors"]):
        problems.append(f"{len(set(expected['vectors']) - set(found['vectors']))} vectors missing")
    off = [
        cid
        for cid, vector in found["vectors"].items()
        if cid in expected["vectors"]
        and max(abs(a - b) for a, b in zip(vector, expected["vectors"][cid], strict=True)) > 1e-4
    ]
    if off:
        problems.append(f"{len(off)} vectors differ (first {off[0]})")
    if found["lexical"] != expected["lexical"]:
        problems.append(
            f"lexical index: {len(found['lexical'])} articles, expected {len(expected['lexical'])}"
        )
    if found["documents"] != len(found["lexical"]):
        problems.append(f"tantivy holds {found['documents']} documents for {len(found['lexical'])} articles")
    return problems


def as_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def tear_vector_index(store: Path, died_during_its_turn: bool) -> None:
    """What a SIGKILL while Chroma rewrote the index files leaves: the header truncated to nothing; and, when
    the process died during its turn at the store, the generation it marked busy (ingest.store_lock)."""
    segment = next(p for p in store.iterdir() if (p / hnsw_files.HEADER).exists())
    (segment / hnsw_files.HEADER).write_bytes(b"")
    if died_during_its_turn:
        (store / GENERATION_FILE).write_text(f"busy:999999:{uuid.uuid4().hex}", encoding="ascii")
