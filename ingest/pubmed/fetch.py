"""Fetch PubMed records (by query or by identifiers) and ingest them, one efetch batch at a time.

After each batch is written to the store a small cursor file (under ``data_dir/eutils/``) records the position
and the PMIDs done, so an interrupted fetch — Ctrl-C, NCBI failing for good, a crash — continues where it
stopped when the same command is run again. A query cursor keeps the history server's WebEnv while it is
likely alive; once NCBI forgets it, the search is re-run for its PMIDs and the ones already done are skipped.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ingest.articles import Article, ParseEvent, normalise_doi, normalise_pmid
from ingest.pipeline import Ingestor, IngestReport, Progress
from ingest.pubmed.cursor import Cursor, DamagedCursor, cursor_key
from ingest.pubmed.eutils import EutilsClient, EutilsError, EutilsQueryError, HistoryExpired
from ingest.sources.pubmed_xml import parse_pubmed_xml

BATCH_SIZE = 200
HISTORY_TTL = 3 * 3600.0  # seconds a WebEnv is trusted; NCBI keeps them "about 8 hours"
PUBMED_LIMIT = 10_000  # PubMed's E-utilities serve at most the first 10,000 records of a search
_DATE = re.compile(r"^(\d{4})(?:[-/](\d{1,2}))?(?:[-/](\d{1,2}))?$")
_PMID_LOCATOR = re.compile(r"PMID (\d+)")


@dataclass(frozen=True)
class PubmedQuery:
    """A PubMed search with its filters; ``since``/``until`` are NCBI dates (``2020``, ``2020/05/01``)."""

    term: str
    since: str | None = None
    until: str | None = None
    date_type: str = "pdat"  # pdat = publication date, edat = entry date
    max: int | None = None

    def date_params(self) -> dict[str, str]:
        if not (self.since or self.until):
            return {}
        return {"mindate": self.since or "1800", "maxdate": self.until or "3000", "datetype": self.date_type}


@dataclass
class FetchOutcome:
    """What a fetch did: the ingest report plus the PubMed side (hits, records received)."""

    report: IngestReport
    query: str
    count: int = 0
    fetched: int = 0
    resumed: bool = False
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        extra = {
            "query": self.query,
            "count": self.count,
            "fetched": self.fetched,
            "resumed": self.resumed,
            "error": self.error,
            "warnings": self.warnings,
        }
        return {**self.report.as_dict(), **extra}


def ncbi_date(text: str) -> str:
    """``2020`` / ``2020-05`` / ``2020/05/01`` -> NCBI's ``YYYY[/MM[/DD]]``; anything else is a ValueError."""
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date (use YYYY, YYYY/MM or YYYY/MM/DD)")
    return "/".join(part.zfill(2) if i else part for i, part in enumerate(match.groups()) if part)


class PubmedFetcher:
    """Runs fetches into one ingestor, with one client, keeping cursors under ``data_dir``."""

    def __init__(
        self,
        client: EutilsClient,
        ingestor: Ingestor,
        data_dir: Path,
        batch_size: int = BATCH_SIZE,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.ingestor = ingestor
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.progress = progress

    def fetch_query(self, query: PubmedQuery) -> FetchOutcome:
        """Search with the history server, then efetch the hits (at most ``query.max``) in batches."""
        outcome = self._start(f"pubmed: {query.term}")
        key = cursor_key("query", self.client.base_url, query.term, query.date_params(), query.max)
        cursor = self._load_cursor(key, outcome)
        try:
            if cursor is None:
                result = self.client.esearch(query.term, dates=query.date_params())
                limit = min(query.max or PUBMED_LIMIT, PUBMED_LIMIT)
                if result.count > limit and limit == PUBMED_LIMIT:
                    outcome.warnings.append(
                        f"{result.count} records match; PubMed serves only the first {PUBMED_LIMIT:,} of a "
                        "search (narrow it, e.g. with --since/--until)"
                    )
                target = min(result.count, limit)
                cursor = Cursor(
                    key, result.webenv, result.query_key, result.count, target, searched_at=time.time()
                )
                cursor.save(self.data_dir)
            else:
                outcome.resumed = True
                if cursor.ids is None and time.time() - cursor.searched_at > HISTORY_TTL:
                    self._switch_to_ids(cursor, query)  # the WebEnv is likely gone: don't even try it
            outcome.count = cursor.count
            while cursor.ids is None and cursor.retstart < cursor.target:
                size = min(self.batch_size, cursor.target - cursor.retstart)
                try:
                    body = self.client.efetch_history(
                        cursor.webenv or "", cursor.query_key or "", cursor.retstart, size
                    )
                except HistoryExpired:
                    self._switch_to_ids(cursor, query)
                    break
                self._ingest_batch(body, cursor, outcome)
                cursor.retstart += size
                cursor.save(self.data_dir)
            self._fetch_ids(cursor, outcome)
        except EutilsError as exc:
            return self._failed(outcome, exc)
        cursor.remove(self.data_dir)
        return self._finish(outcome)

    def fetch_ids(self, identifiers: Iterable[str], label: str = "pubmed: id list") -> FetchOutcome:
        """Fetch PMIDs and DOIs (DOIs are looked up with esearch ``<doi>[doi]``)."""
        outcome = self._start(label)
        pmids, dois = split_identifiers(identifiers, outcome.report)
        if not (pmids or dois):
            return self._failed(outcome, EutilsQueryError("no PMID or DOI among the identifiers given"))
        key = cursor_key("ids", self.client.base_url, sorted(pmids), sorted(dois))
        cursor = self._load_cursor(key, outcome)
        try:
            if cursor is None:
                resolved = self._resolve_dois(dois)
                cursor = Cursor(key, ids=list(dict.fromkeys(pmids + resolved)), searched_at=time.time())
                cursor.count = cursor.target = len(cursor.ids or [])
                cursor.save(self.data_dir)
            else:
                outcome.resumed = True
            outcome.count = cursor.count
            found = self._fetch_ids(cursor, outcome)
        except EutilsError as exc:
            return self._failed(outcome, exc)
        for doi in dois if not outcome.resumed else []:  # a resumed run saw only part of the records
            if doi not in found:
                outcome.report.problems.append(f"DOI {doi}: not found in PubMed (or no abstract)")
        cursor.remove(self.data_dir)
        return self._finish(outcome)

    def fetch_pmids(self, pmids: list[str], label: str) -> FetchOutcome:
        """Fetch these PMIDs without a cursor (for watches: what is stored is skipped on the next run)."""
        outcome = self._start(label)
        cursor = Cursor("unsaved", ids=pmids, count=len(pmids), target=len(pmids))
        try:
            self._fetch_ids(cursor, outcome, persist=False)
        except EutilsError as exc:
            return self._failed(outcome, exc)
        return self._finish(outcome)

    # --- the moving parts ------------------------------------------------------------------------------
    def _load_cursor(self, key: str, outcome: FetchOutcome) -> Cursor | None:
        try:
            return Cursor.load(self.data_dir, key)
        except DamagedCursor as exc:
            outcome.warnings.append(str(exc))
            return None

    def _switch_to_ids(self, cursor: Cursor, query: PubmedQuery) -> None:
        """NCBI forgot the WebEnv: re-run the search for its PMIDs and keep only the ones not yet done."""
        result = self.client.esearch(
            query.term,
            retmax=cursor.target,
            usehistory=False,
            dates=query.date_params(),
        )
        done = set(cursor.done)
        cursor.ids = [pmid for pmid in result.ids if pmid not in done][: max(cursor.target - len(done), 0)]
        cursor.webenv = cursor.query_key = None
        cursor.save(self.data_dir)

    def _fetch_ids(self, cursor: Cursor, outcome: FetchOutcome, persist: bool = True) -> set[str]:
        found: set[str] = set()
        done = set(cursor.done)
        pending = [pmid for pmid in cursor.ids or [] if pmid not in done]
        for start in range(0, len(pending), self.batch_size):
            batch = pending[start : start + self.batch_size]
            received = len(cursor.done)
            found |= self._ingest_batch(self.client.efetch_ids(batch), cursor, outcome)
            # a PMID NCBI does not have, or whose record is too damaged to say which it is: named, not dropped
            answered = set(cursor.done[received:])
            for pmid in batch:
                if pmid not in answered:
                    missing = f"PMID {pmid}: not in NCBI's reply (no such record, or unreadable)"
                    outcome.report.problems.append(missing)
            if persist:
                cursor.save(self.data_dir)
        return found

    def _ingest_batch(self, body: bytes, cursor: Cursor, outcome: FetchOutcome) -> set[str]:
        """Parse one efetch reply, write it to the store, note its PMIDs; returns the DOIs it held. A record
        that cannot be read is one skip named by its PMID (or number); the others are stored."""
        events: list[ParseEvent] = list(parse_pubmed_xml(io.BytesIO(body), "efetch"))
        self.ingestor.ingest_events(events, outcome.report)
        dois: set[str] = set()
        for event in events:
            if isinstance(event, Article):
                pmid = event.pmid
                if event.doi:
                    dois.add(event.doi)
            else:
                found = _PMID_LOCATOR.search(event.locator)
                pmid = found.group(1) if found else None
            outcome.fetched += 1
            if pmid:
                cursor.done.append(pmid)
        if self.progress:
            self.progress(outcome.query, outcome.fetched)
        return dois

    def _resolve_dois(self, dois: list[str]) -> list[str]:
        pmids: list[str] = []
        for start in range(0, len(dois), 50):
            chunk = dois[start : start + 50]
            term = " OR ".join(f'"{doi}"[doi]' for doi in chunk)
            pmids += self.client.esearch(term, retmax=len(chunk) * 2, usehistory=False).ids
        return pmids

    def _start(self, label: str) -> FetchOutcome:
        ingestor = self.ingestor
        report = IngestReport(
            store=ingestor.settings.store_label, embedding_model=ingestor.embedder.name, inputs=[label]
        )
        self._started = time.perf_counter()
        return FetchOutcome(report, label)

    def _finish(self, outcome: FetchOutcome) -> FetchOutcome:
        outcome.report.seconds = round(time.perf_counter() - self._started, 3)
        return outcome

    def _failed(self, outcome: FetchOutcome, exc: EutilsError) -> FetchOutcome:
        outcome.error = exc.user_message
        outcome.report.failed_inputs.append(outcome.query)
        return self._finish(outcome)


def split_identifiers(identifiers: Iterable[str], report: IngestReport) -> tuple[list[str], list[str]]:
    """PMIDs and DOIs from ``123``, ``123,456 789``, ``10.1/x``, ``doi:10.1/x`` items; the rest is reported.

    Commas separate PMIDs but not DOIs (a DOI may contain one).
    """
    pmids: list[str] = []
    dois: list[str] = []
    for item in identifiers:
        for word in item.split():
            for token in [word] if "/" in word else filter(None, word.split(",")):
                pmid = normalise_pmid(token)
                doi = None if pmid else normalise_doi(token)
                if pmid:
                    pmids.append(pmid)
                elif doi:
                    dois.append(doi)
                else:
                    report.skipped += 1
                    report.skipped_malformed += 1
                    report.problems.append(f"{token!r}: neither a PMID nor a DOI")
    return list(dict.fromkeys(pmids)), list(dict.fromkeys(dois))
