"""Small file chores the write side shares: replacing a file whole, hashing one, reading Retry-After."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path


def replace_file(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and rename it into place, so a
    reader never sees half a file and a crash never leaves one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def retry_after(headers: Mapping[str, str], limit: float) -> float | None:
    """Seconds a server asked to wait (``Retry-After``: seconds or an HTTP date), at most ``limit``."""
    value = headers.get("retry-after") or headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), limit)
