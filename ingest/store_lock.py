"""One embedded Chroma store, many processes: every call takes its turn, and a process whose view is stale reopens.

Embedded Chroma (chromadb 1.5) is a library inside each process, and it is not safe for two processes to use one
store folder at once (RELIABILITY.md › Several processes):

- each process keeps the vector index (HNSW) in memory, loaded once, and applies the write-ahead log (in
  SQLite) to it only on its first call; it never sees what another process writes afterwards, so its answers
  miss new chunks, or fail ("Error getting embedding") when SQLite names a chunk its index lacks;
- any process, a "reader" included, may write the index files back: in place, element by element, or by
  truncating and rewriting them all when the index grows. Another process loading them at that moment, or
  writing its own stale copy over them, crashes (SIGSEGV in the bindings) or leaves a store every later
  process crashes on.

So every Chroma call on an embedded store runs under :class:`StoreLock`: one exclusive lock across processes
(``flock`` on a file in the store folder) and threads. A *generation* file beside it says who changed the
store last. A call that may have changed it (a write, or a read that made Chroma write its index files)
leaves a new generation; a process that finds a generation other than the one it left drops its Chroma system
and opens the store afresh before its call. While a call runs, the file says so (``busy:``), so a process that
dies mid-call leaves a generation nobody has seen: everyone reopens, and the next one to open the store reads
its vector index files whole before Chroma loads them (ingest.hnsw_files).

Waiting is fair: a process that wants the lock first takes a *turnstile* and holds it while it waits, so a
writer that releases the lock between two write batches cannot take it again before the waiting reader has
had its turn. A question asked during an ingest therefore waits for one write batch at most.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import StoreError, printable

log = logging.getLogger(__name__)

WRITER_LOCK = ".litbot-ingest.lock"  # held by an ingest for its whole run (ingest.pipeline.writer_lock)
LOCK_FILE = ".litbot-store.lock"
TURNSTILE_FILE = ".litbot-store.turnstile"
GENERATION_FILE = ".litbot-store.generation"
#: How long a call waits for the store before giving up with a clear error (a repair holds it throughout).
WAIT_LIMIT_S = 600.0
SLOW_WAIT_S = 10.0  # past this, the wait is logged once

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass
class Turn:
    """One turn at the store: ``stale`` when another process changed it since this process's last turn (the
    caller reopens its client first); set ``wrote`` when the turn wrote."""

    stale: bool
    wrote: bool = False
    suspect: bool = False  # a process died during its turn, or the last one found damage: check thoroughly
    first: bool = False  # this process's first turn at the store


class StoreLock:
    """The lock of one embedded store folder, shared by every store object of this process on that folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._threads = threading.RLock()
        self._depth = 0
        self._seen: str | None = None  # the generation this process left (or found) at its last turn
        self._turn: Turn | None = None

    @contextmanager
    def turn(self, writes: bool = False) -> Iterator[Turn]:
        """Hold the store for one call (or a batch of calls). Re-entrant within a thread."""
        with self._threads:
            if self._depth:
                assert self._turn is not None
                self._depth += 1
                try:
                    self._turn.wrote |= writes
                    yield self._turn
                finally:
                    self._depth -= 1
                return
            with self._exclusive():
                found = self._read_generation()
                suspect = found is not None and found.startswith(("busy:", "suspect:"))
                turn = Turn(
                    stale=found != self._seen, wrote=writes, suspect=suspect, first=self._seen is None
                )
                before = index_fingerprint(self.folder)
                self._write_generation(f"busy:{os.getpid()}:{uuid.uuid4().hex}")
                self._turn, self._depth = turn, 1
                changed, failed = True, True
                try:
                    yield turn
                    failed = False
                    changed = turn.wrote or index_fingerprint(self.folder) != before
                finally:
                    # After an error the store may be half-changed: everyone else reopens, to be safe; and
                    # a suspect store stays suspect until a turn at it succeeds.
                    self._turn, self._depth = None, 0
                    left = uuid.uuid4().hex if changed else (found or uuid.uuid4().hex)
                    if failed and turn.suspect:
                        left = f"suspect:{left}"
                    self._write_generation(left)
                    self._seen = left

    def forget(self) -> None:
        """This process's view is gone (its client was dropped): the next turn reopens whatever it finds."""
        with self._threads:
            self._seen = None

    # --- the files -------------------------------------------------------------------------------------------
    def _read_generation(self) -> str | None:
        try:
            return (self.folder / GENERATION_FILE).read_text(
                encoding="ascii", errors="replace"
            ).strip() or None
        except OSError:
            return None

    def _write_generation(self, value: str) -> None:
        path = self.folder / GENERATION_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        except OSError as exc:
            if os.access(self.folder, os.W_OK):
                raise StoreError(f"cannot write {printable(str(path))} ({exc.strerror or exc})") from None
            return  # a read-only store (read from a private copy) has no other writer to tell
        try:
            data = value.encode("ascii")
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The lock across processes, taken through the turnstile (see the module's docstring)."""
        if fcntl is None:  # pragma: no cover - Windows: filelock's portable lock, without the turnstile
            from filelock import FileLock

            with FileLock(str(self.folder / LOCK_FILE), timeout=WAIT_LIMIT_S):
                yield
            return
        started = time.monotonic()
        turnstile = self._open(TURNSTILE_FILE)
        try:
            self._flock(turnstile, started)
            lock = self._open(LOCK_FILE)
            try:
                self._flock(lock, started)
            except BaseException:
                os.close(lock)
                raise
        finally:
            os.close(turnstile)  # closing releases the turnstile's lock: the next waiter may queue
        try:
            yield
        finally:
            os.close(lock)

    def _open(self, name: str) -> int:
        path = self.folder / name
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            try:  # a read-only folder: a lock can still be taken on a file opened for reading, if it exists
                return os.open(path, os.O_RDONLY)
            except OSError as exc:
                raise StoreError(
                    f"cannot open the store's lock file {printable(str(path))} ({exc.strerror or exc})",
                    "litbot needs write access to the store folder",
                ) from None

    def _flock(self, fd: int, started: float) -> None:
        assert fcntl is not None
        pause, told = 0.0005, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                pass
            waited = time.monotonic() - started
            if waited > WAIT_LIMIT_S:
                raise StoreError(
                    f"another litbot process has held the store at {printable(str(self.folder))} for over "
                    f"{WAIT_LIMIT_S / 60:.0f} min",
                    "wait for it (a repair?) to finish, or stop it",
                )
            if waited > SLOW_WAIT_S and not told:
                log.warning("waiting for another litbot process using the store at %s", self.folder)
                told = True
            time.sleep(pause)
            pause = min(pause * 2, 0.02)


def ingest_running(folder: Path) -> bool:
    """Whether an ingest holds the store in ``folder`` now (this process's own included)."""
    if fcntl is None:  # pragma: no cover - Windows: not known, so readers catch up themselves
        return False
    try:
        fd = os.open(folder / WRITER_LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock if it was taken
    return False


def index_fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of every vector-index file in the store folder: what a call that only
    reads may still change (Chroma writes the index back when it applies its log)."""
    found = []
    try:
        segments = [
            e for e in os.scandir(folder) if _SEGMENT.fullmatch(e.name) and e.is_dir(follow_symlinks=False)
        ]
    except OSError:
        return ()
    for segment in segments:
        try:
            for entry in os.scandir(segment.path):
                stat = entry.stat(follow_symlinks=False)
                found.append((f"{segment.name}/{entry.name}", stat.st_size, stat.st_mtime_ns))
        except OSError:
            continue
    return tuple(sorted(found))


_SEGMENT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_LOCKS: dict[str, StoreLock] = {}
_LOCKS_GUARD = threading.Lock()


def store_lock(folder: Path) -> StoreLock:
    """The one lock of this process for the store in ``folder``."""
    key = os.path.realpath(folder)
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = StoreLock(Path(key))
        return lock
