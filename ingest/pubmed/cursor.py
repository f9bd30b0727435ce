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

from pydantic import TypeAdapter, ValidationError

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
        """The saved progress, None when there is none; :class:`DamagedCursor` when the file cannot be used
        (edited by hand, half-written by an older version): every field is checked, as a wrong type here
        would break every later run of the same command."""
        path = cls.path(data_dir, key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise DamagedCursor(path, getattr(exc, "strerror", None) or str(exc)) from None
        try:
            cursor = _CURSOR.validate_json(text, strict=True)
        except ValidationError as error:
            problem = error.errors()[0]
            where = ".".join(str(part) for part in problem["loc"]) or "the file"
            raise DamagedCursor(path, f"{where}: {problem['msg']}") from None
        if min(cursor.count, cursor.target, cursor.retstart) < 0 or cursor.key != key:
            raise DamagedCursor(path, "its positions or key do not fit this fetch")
        return cursor

    def save(self, data_dir: Path) -> None:
        write_json_atomic(self.path(data_dir, self.key), asdict(self))

    def remove(self, data_dir: Path) -> None:
        self.path(data_dir, self.key).unlink(missing_ok=True)


class DamagedCursor(Exception):
    """A saved progress file that cannot be used: the fetch starts over (what is stored stays stored)."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"the saved progress in {path} is damaged ({problem}); starting this fetch over")


_CURSOR = TypeAdapter(Cursor)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write-then-rename, so a reader never sees half a file and a crash never leaves one."""
    replace_file(path, json.dumps(payload, indent=1))


def cursor_key(*parts: object) -> str:
    """A short stable name for a fetch: the same command gives the same key."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]
