"""Saved PubMed queries ("watches") that are re-run to keep the corpus up with the literature.

Watches live in ``data_dir/watches.json`` (written atomically, under a file lock, so the CLI and the Discord
bot can share it). A run asks esearch only for records that entered PubMed since the previous run (entry date,
with a day of overlap for NCBI's US time zone) and skips PMIDs already stored, so it fetches just what is new.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from filelock import FileLock

from ingest.errors import ConfigError
from ingest.pipeline import Ingestor, IngestReport
from ingest.pubmed.cursor import write_json_atomic
from ingest.pubmed.eutils import EutilsClient, EutilsError
from ingest.pubmed.fetch import PubmedFetcher
from ingest.settings import Settings

DEFAULT_WATCH_MAX = 1000  # records per run; the most recent come first
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class Watch:
    name: str
    query: str
    since: str | None = None  # NCBI date floor on publication date, e.g. "2020"
    max: int = DEFAULT_WATCH_MAX
    created: str = ""
    last_run: str | None = None  # ISO UTC time the last successful run started
    last_new: int = 0
    total_new: int = 0

    def search_term(self) -> str:
        return f"({self.query}) AND {self.since}:3000[pdat]" if self.since else self.query

    def search_dates(self) -> dict[str, str]:
        """Entry dates from the day before the last run (overlap; stored PMIDs are skipped anyway)."""
        if not self.last_run:
            return {}
        start = datetime.fromisoformat(self.last_run) - timedelta(days=1)
        return {"mindate": start.strftime("%Y/%m/%d"), "maxdate": "3000", "datetype": "edat"}


@dataclass
class WatchResult:
    """One watch's run: ``new`` is what entered the store (what a "N new abstracts" note counts)."""

    name: str
    query: str
    new: int
    count: int = 0  # esearch hits in the window
    fetched: int = 0  # records efetched (new to the store, before ingest)
    report: IngestReport = field(default_factory=IngestReport)
    error: str | None = None

    def note(self) -> str | None:
        """The short line a channel gets ("3 new abstracts on <query>"); None when there is nothing to say."""
        if self.error:
            return f"watch {self.name}: could not check PubMed ({self.error})"
        if not self.new:
            return None
        noun = "abstract" if self.new == 1 else "abstracts"
        return f"{self.new} new {noun} on {self.query} (watch {self.name})"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "query": self.query,
            "new": self.new,
            "count": self.count,
            "fetched": self.fetched,
            "error": self.error,
            "report": self.report.as_dict(),
        }


class WatchBook:
    """The saved watches of one data folder."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "watches.json"
        self._lock = FileLock(str(data_dir / ".watches.lock"))

    def list(self) -> list[Watch]:
        return list(self._read().values())

    def get(self, name: str) -> Watch:
        watch = self._read().get(name)
        if watch is None:
            raise ConfigError(f"no watch named {name!r}", hint="see `litbot watch list`")
        return watch

    def add(
        self, name: str, query: str, since: str | None = None, max_records: int = DEFAULT_WATCH_MAX
    ) -> Watch:
        if not _NAME.match(name):
            raise ConfigError(
                f"{name!r} is not a usable watch name", hint="letters, digits, '-', '_' and '.'"
            )
        if not query.strip():
            raise ConfigError("a watch needs a PubMed query")
        with self._edit() as watches:
            if name in watches:
                raise ConfigError(
                    f"a watch named {name!r} exists", hint=f"`litbot watch remove {name}` first"
                )
            watch = Watch(name, query.strip(), since, max_records, created=_now())
            watches[name] = watch
        return watch

    def remove(self, name: str) -> None:
        with self._edit() as watches:
            if watches.pop(name, None) is None:
                raise ConfigError(f"no watch named {name!r}", hint="see `litbot watch list`")

    def record_run(self, name: str, started: str, new: int) -> None:
        with self._edit() as watches:
            watch = watches.get(name)
            if watch is not None:  # removed while it ran: nothing to record
                watch.last_run, watch.last_new = started, new
                watch.total_new += new

    @contextmanager
    def _edit(self) -> Iterator[dict[str, Watch]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock:
            watches = self._read()
            yield watches
            write_json_atomic(self.path, {"version": 1, "watches": [asdict(w) for w in watches.values()]})

    def _read(self) -> dict[str, Watch]:
        try:
            payload = json.loads(self.path.read_text())
            return {item["name"]: Watch(**item) for item in payload.get("watches", [])}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ConfigError(f"cannot read the saved watches in {self.path}: {exc!r}") from None


def run_watch(
    watch: Watch, fetcher: PubmedFetcher, book: WatchBook, now: datetime | None = None
) -> WatchResult:
    """Fetch what is new for one watch and record the run (only when it succeeded)."""
    started = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    result = WatchResult(watch.name, watch.query, new=0)
    try:
        search = fetcher.client.esearch(
            watch.search_term(), retmax=watch.max, usehistory=False, dates=watch.search_dates()
        )
    except EutilsError as exc:
        result.error = exc.user_message
        result.report.problems.append(exc.user_message)
        return result
    stored = fetcher.ingestor.store.stored_hashes([f"pmid:{pmid}" for pmid in search.ids])
    fresh = [pmid for pmid in search.ids if f"pmid:{pmid}" not in stored]
    outcome = fetcher.fetch_pmids(fresh, f"watch {watch.name}: {watch.query}")
    result.count, result.fetched, result.report = search.count, outcome.fetched, outcome.report
    result.new, result.error = outcome.report.new, outcome.error
    if outcome.error is None:
        book.record_run(watch.name, started, result.new)
    return result


def run_watches(
    settings: Settings,
    ingestor: Ingestor,
    names: list[str] | None = None,
    *,
    due_only: bool = False,
    client: EutilsClient | None = None,
    now: datetime | None = None,
) -> list[WatchResult]:
    """Run the named watches (all when ``names`` is empty); with ``due_only``, only those whose interval
    (``settings.watch_interval_hours``) has passed. One failing watch never stops the others."""
    book = WatchBook(settings.data_dir)
    watches = [book.get(name) for name in names] if names else book.list()
    moment = now or datetime.now(UTC)
    if due_only:
        watches = [w for w in watches if _is_due(w, moment, settings.watch_interval_hours)]
    if not watches:
        return []
    own_client = client is None
    active = client or EutilsClient(settings)
    try:
        fetcher = PubmedFetcher(active, ingestor, settings.data_dir)
        return [run_watch(watch, fetcher, book, moment) for watch in watches]
    finally:
        if own_client:
            active.close()


def run_due_watches(
    settings: Settings, ingestor: Ingestor, *, client: EutilsClient | None = None, now: datetime | None = None
) -> list[WatchResult]:
    """Run every watch that is due; the Discord bot calls this on its interval (in a worker thread).

    Blocking (network + embedding); returns one :class:`WatchResult` per watch run, ``[]`` when none was due.
    The caller holds the store's writer lock if other writers may run at the same time.
    """
    return run_watches(settings, ingestor, due_only=True, client=client, now=now)


def _is_due(watch: Watch, now: datetime, interval_hours: float) -> bool:
    if not watch.last_run:
        return True
    return now - datetime.fromisoformat(watch.last_run) >= timedelta(hours=interval_hours)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
