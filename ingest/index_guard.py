"""Is an embedded store's vector index fit for Chroma to load? Asked before every (re)open: Chroma crashes the
process (SIGSEGV) on damaged index files, so their header and sizes are read here first, and the whole of them
at a process's first look and after a process died during its turn at the store (ingest.store_lock)."""

from __future__ import annotations

import sqlite3

from ingest import chroma_files, hnsw_files
from ingest.settings import Settings

#: Up to this many vectors, a process reads the index files whole when it first opens the store (~4 ms per
#: 1,000 vectors); larger ones only after a process died during its turn (always: header and sizes).
THOROUGH_MAX_ELEMENTS = 250_000


def vector_index_problem(settings: Settings, first: bool = False, suspect: bool = False) -> str | None:
    """What is wrong with an embedded store's vector index files (None: nothing): checked before Chroma loads
    them, since it crashes the process on damaged ones. Header and sizes always; every element and neighbour
    list after a process died during its turn at the store (``suspect``), and at a process's ``first`` look
    unless the index is larger than THOROUGH_MAX_ELEMENTS."""
    try:
        db = chroma_files.connect(settings.chroma_path)
    except chroma_files.LayoutUnknown:
        return None  # a new store, or one Chroma itself will report on
    try:
        found = chroma_files.collection(db, settings.collection)
    except (chroma_files.LayoutUnknown, sqlite3.DatabaseError):
        return None
    finally:
        db.close()
    if found is None:
        return None
    folder = settings.chroma_path / found.vector_segment
    problem = hnsw_files.quick_problem(folder, found.dimension)
    if (
        problem is None
        and (first or suspect)
        and found.dimension
        and (folder / hnsw_files.HEADER).exists()
        and (suspect or hnsw_files.read_header(folder).count <= THOROUGH_MAX_ELEMENTS)
    ):
        problems = hnsw_files.scan(folder, found.dimension).problems
        problem = problems[0] if problems else None
    return problem
