"""The dense side of retrieval: nearest chunk ids and cosines from the store, nothing else.

Texts and metadata of the hits are already in memory (the lexical index holds every chunk), and having Chroma
read them back from SQLite for a few hundred hits costs more than the vector search itself (~2 ms per hit on
this machine). So only ids and distances are asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ingest.store import ArticleStore


def nearest_chunks(
    store: ArticleStore, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
) -> list[tuple[str, float]]:
    """(chunk id, cosine similarity) of the ``n`` nearest chunks, nearest first."""
    if n < 1:
        return []
    query_ids = getattr(store, "query_ids", None)
    if callable(query_ids):  # the store's own ids-only query, when it offers one
        return list(query_ids(vector, n, where))
    # ArticleStore.query always reads documents and metadata back; ask the collection for distances only,
    # through the store's own error translation.
    reply = store._call(
        store._collection.query,
        query_embeddings=[vector.tolist()],
        n_results=n,
        where=where or None,
        include=["distances"],
    )
    ids = reply["ids"][0]
    distances = (reply["distances"] or [[]])[0]
    return [(str(i), 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
