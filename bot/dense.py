"""The dense side of retrieval: nearest chunk ids and cosines from the store, nothing else.

Texts and metadata of the hits are already in memory (the lexical index holds every chunk), and having Chroma
read them back from SQLite for a few hundred hits costs more than the vector search itself. So only ids and
distances are asked for (``ArticleStore.query_ids``).
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
