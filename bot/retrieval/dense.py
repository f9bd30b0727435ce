"""The dense side of retrieval: nearest chunk ids and cosines from the store, nothing else.

Texts and metadata of the hits are already in memory (the lexical index holds every chunk), and having Chroma
read them back from SQLite for a few hundred hits costs more than the vector search itself. So only ids and
distances are asked for (``ArticleStore.query_ids``). The cosine of a few known chunks outside the nearest
hits is computed here from their stored vectors: a lookup by id is ~4× cheaper than an id-filtered query.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.store import ArticleStore


def nearest_chunks(
    store: ArticleStore, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity) of the ``n`` nearest chunks, nearest first."""
    return store.query_ids(vector, n, where) if n >= 1 else []


def chunk_cosines(store: ArticleStore, vector: np.ndarray, chunk_ids: list[str]) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity to ``vector``) of each stored chunk in ``chunk_ids``, nearest first."""
    vectors = store.chunk_vectors(chunk_ids)
    if not vectors:
        return []
    ids = list(vectors)
    matrix = np.stack([vectors[i] for i in ids])
    norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(vector))
    cosines = (matrix @ vector.astype(np.float32)) / np.where(norms > 0, norms, 1.0)
    return sorted(zip(ids, (float(c) for c in cosines), strict=True), key=lambda pair: -pair[1])
