"""The persisted progress of a PubMed fetch, and atomic JSON files.

A cursor is written after every efetch batch has reached the store, so a fetch stopped at any point (Ctrl-C,
NCBI failing for good, a crash) continues with the next batch when the same command is run again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.files import replace_file


@dataclass
class Cursor:
    """The persisted progress of one fetch."""

    key: str
    webenv: str | None = None
    query_key: str | None = None
    count: int = 0
    target: int = 0
    retstart: int = 0
    ids: list[str] | None = None  # id mode: the PMIDs to fetch
    done: list[str] = field(default_factory=list)
    searched_at: float = 0.0

    @staticmethod
    def path(data_dir: Path, key: str) -> Path:
        return data_dir / "eutils" / f"cursor-{key}.json"

    @classmethod
    def load(cls, data_dir: Path, key: str) -> Cursor | None:
        try:
            return cls(**json.loads(cls.path(data_dir, key).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def save(self, data_dir: Path) -> None:
        write_json_atomic(self.path(data_dir, self.key), asdict(self))

    def remove(self, data_dir: Path) -> None:
        self.path(data_dir, self.key).unlink(missing_ok=True)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write-then-rename, so a reader never sees half a file and a crash never leaves one."""
    replace_file(path, json.dumps(payload, indent=1))


def cursor_key(*parts: object) -> str:
    """A short stable name for a fetch: the same command gives the same key."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
