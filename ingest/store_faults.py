"""The store's faults in one line each: what Chroma (or the disk) raised, said as what went wrong and what to
do (ingest.store translates every call's error through :func:`store_fault`)."""

from __future__ import annotations

import shutil

from ingest.errors import StoreDamaged, StoreError
from ingest.settings import Settings

#: What Chroma says when its vector index and its database disagree (chromadb 1.5's local executor and segments).
_INDEX_ERRORS = (
    "error finding id",
    "error getting embedding",
    "error loading hnsw index",
    "hnsw segment",
    "hnswindex",
    "error reading hnsw",
)


def store_fault(settings: Settings, exc: BaseException) -> StoreError:
    """One line on what went wrong with the store and what to do, from whatever Chroma raised."""
    if isinstance(exc, StoreError):
        return exc
    where = settings.store_label
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if not settings.uses_server:
        try:
            free = shutil.disk_usage(settings.chroma_path).free
        except OSError:
            free = None
        if "disk is full" in lowered or "no space" in lowered or (free is not None and free < 32 * 1024**2):
            shown = f" ({free / 1024**2:.0f} MB free)" if free is not None else ""
            return StoreError(
                f"the disk holding the store at {where} is full{shown}",
                "free some space, then run the same command again: what was written so far is consistent",
            )
    if not settings.uses_server and not (settings.chroma_path / "chroma.sqlite3").exists():
        return StoreError(
            f"the store at {where} changed under litbot (its database is gone)",
            "run the command again; if it persists, ingest again into a fresh store",
        )
    if "readonly database" in lowered or "read-only" in lowered:
        return StoreError(f"the store at {where} is read-only", "ingesting needs write access to its folder")
    if any(sign in lowered for sign in _INDEX_ERRORS):
        return StoreError(
            f"the store at {where} is damaged: its vector index does not match its database ({text[:120]})",
            "run `litbot check` for details and `litbot repair` to rebuild it (no intact article is lost)",
        )
    if "not a database" in lowered or "malformed" in lowered:
        return StoreError(
            f"the store at {where} is damaged (its database file is not a database)",
            "restore the folder from a backup, or delete it and ingest again",
        )
    if "does not exist" in lowered or "no such table" in lowered or "unable to open" in lowered:
        return StoreError(
            f"the store at {where} changed under litbot (its database or collection is gone)",
            "run the command again; if it persists, ingest again into a fresh store",
        )
    return StoreError(f"Chroma error on {where}: {text[:300]}")


def damaged(settings: Settings, problem: str, after_crash: bool = False) -> StoreDamaged:
    """The vector index files are damaged; ``after_crash`` when a process died during its turn at the store."""
    return StoreDamaged(
        f"the store at {settings.store_label} is damaged: its vector index {problem}",
        "run `litbot check` for details and `litbot repair` to rebuild it (no intact article is lost)",
        after_crash=after_crash,
    )


def is_connection_error(exc: BaseException) -> bool:
    import httpx

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, httpx.TransportError | ConnectionError | OSError):
            return True
        text = str(seen).lower()
        if "connect" in text or "could not reach" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False
