"""Command-line glue for PubMed: `litbot ingest --pubmed/--pmid/--ids-file` and `litbot watch ...`.

Heavy imports (chromadb, onnxruntime) happen inside the commands so `litbot --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.check import repairing_after_crash
from bot.cli.common import APP_SETTINGS, Command, ensure_weights, fail, plural, print_report, say_waiting
from ingest.errors import LitbotError
from ingest.redact import safe_line

if TYPE_CHECKING:
    from ingest.pipeline import Progress
    from ingest.pubmed.eutils import EutilsClient
    from ingest.pubmed.fetch import FetchOutcome
    from ingest.settings import Settings


def ingest_pubmed(
    settings: Settings,
    *,
    query: str | None = None,
    pmids: list[str] | None = None,
    ids_file: Path | None = None,
    since: str | None = None,
    until: str | None = None,
    date_type: str = "pdat",
    max_records: int | None = None,
    dry_run: bool = False,
    as_json: bool = False,
) -> None:
    """Fetch from PubMed and ingest; prints the summary (or JSON) and exits non-zero on failure."""
    from ingest.pipeline import build_ingestor, writer_lock
    from ingest.pubmed.eutils import EutilsClient
    from ingest.pubmed.fetch import PubmedFetcher, PubmedQuery, ncbi_date

    if query is None and not pmids and ids_file is None:
        raise fail("nothing to fetch: give --pubmed QUERY, --pmid or --ids-file", code=2, as_json=as_json)
    if date_type not in ("pdat", "edat"):
        raise fail("--date-type is 'pdat' (publication date) or 'edat' (entry date)", code=2, as_json=as_json)
    if max_records is not None and max_records < 1:
        raise fail("--max must be at least 1", code=2, as_json=as_json)
    try:
        dates = [ncbi_date(d) if d else None for d in (since, until)]
    except ValueError as exc:
        raise fail(str(exc), code=2, as_json=as_json) from None
    identifiers = list(pmids or [])
    if ids_file is not None:
        try:
            lines = ids_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise fail(f"{ids_file}: {exc.strerror or exc}", code=2, as_json=as_json) from None
        identifiers += [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
        if query is None and not identifiers:
            raise fail(f"{ids_file}: no PMIDs or DOIs in it (one per line)", code=2, as_json=as_json)
    fetching = False
    try:
        with EutilsClient(settings) as client:
            if dry_run:
                _dry_run(client, query, dates, date_type, identifiers, as_json)
                return
            ensure_weights(settings)
            fetching = True

            def fetch() -> list[FetchOutcome]:
                with writer_lock(settings, on_wait=say_waiting):
                    fetcher = PubmedFetcher(
                        client, build_ingestor(settings), settings.data_dir, progress=_progress(as_json)
                    )
                    outcomes = []
                    if query is not None:
                        search = PubmedQuery(query, dates[0], dates[1], date_type, max_records)
                        outcomes.append(fetcher.fetch_query(search))
                    if identifiers:
                        outcomes.append(fetcher.fetch_ids(identifiers))
                    return outcomes

            # a fetch resumes where it stopped, so after a repair it simply runs again
            outcomes, _ = repairing_after_crash(settings, as_json, fetch)
    except KeyboardInterrupt:
        raise fail(
            "interrupted; what was written is kept — rerun the same command to resume", 130, as_json=as_json
        ) from None
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    finally:
        if fetching and fetcher_progress_shown(as_json):
            typer.echo("", err=True)  # end the progress line
    for outcome in outcomes:
        _print_outcome(outcome, as_json)
    if any(o.error or o.report.failed_inputs for o in outcomes):
        raise typer.Exit(1)


def _dry_run(
    client: EutilsClient,
    query: str | None,
    dates: list[str | None],
    date_type: str,
    identifiers: list[str],
    as_json: bool,
) -> None:
    """The hit count (one esearch, no history, nothing fetched)."""
    from ingest.pubmed.fetch import PubmedQuery

    summary: dict[str, object] = {"dry_run": True}
    if query is not None:
        search = PubmedQuery(query, dates[0], dates[1], date_type)
        result = client.esearch(query, usehistory=False, dates=search.date_params())
        summary.update(query=query, count=result.count, translation=result.translation)
        if not as_json:
            typer.echo(f"{result.count} PubMed records match {query!r} (dry run: nothing fetched)")
            if result.translation:  # NCBI's text: shown inert, whatever the server put in it
                typer.echo(f"  searched as: {safe_line(result.translation)}")
    if identifiers:
        summary["identifiers"] = len(identifiers)
    if as_json:
        typer.echo(json.dumps(summary))
    elif identifiers:
        typer.echo(f"{len(identifiers)} identifiers given (dry run: nothing fetched)")


def fetcher_progress_shown(as_json: bool) -> bool:
    return not as_json and sys.stderr.isatty()


def _progress(as_json: bool) -> Progress | None:
    """A one-line counter on a terminal (batches arrive every second or so; a bar would need the total)."""
    if not fetcher_progress_shown(as_json):
        return None

    def show(name: str, done: int) -> None:
        typer.echo(f"\r\033[K{name[:60]}: {plural(done, 'record')} fetched", nl=False, err=True)

    return show


def _print_outcome(outcome: FetchOutcome, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(outcome.as_dict()))
        return
    if outcome.error and not outcome.fetched:  # nothing happened: the reason is all there is to say
        typer.secho(f"error: {safe_line(outcome.error)}", fg=typer.colors.RED, err=True)
        return
    resumed = " (resumed)" if outcome.resumed else ""
    typer.echo(f"{safe_line(outcome.query)}: {outcome.count} matching, {outcome.fetched} fetched{resumed}")
    for warning in outcome.warnings:
        typer.secho(f"note: {safe_line(warning)}", fg=typer.colors.YELLOW, err=True)
    print_report(outcome.report)
    if outcome.error:
        typer.secho(f"error: {safe_line(outcome.error)}", fg=typer.colors.RED, err=True)


# --- litbot watch ---------------------------------------------------------------------------------------
watch_app = typer.Typer(
    help="Saved PubMed queries: `watch run` fetches only what entered PubMed since the last run.",
    no_args_is_help=True,
    **APP_SETTINGS,
)


@watch_app.command("add", cls=Command)
def watch_add(
    name: Annotated[str, typer.Argument(help="A short name (letters, digits, - _ .).")],
    query: Annotated[str, typer.Argument(help="A PubMed query, as typed in PubMed's search box.")],
    since: Annotated[
        str | None, typer.Option(help="Only articles published since (YYYY, YYYY/MM, ...).")
    ] = None,
    max_records: Annotated[int, typer.Option("--max", help="Most records fetched per run.", min=1)] = 1000,
) -> None:
    """Save a query; `litbot watch run` (or the Discord bot, on its interval) fetches its new records."""
    from ingest.pubmed.fetch import ncbi_date
    from ingest.pubmed.watches import WatchBook
    from ingest.settings import load_settings

    try:
        floor = ncbi_date(since) if since else None
    except ValueError as exc:
        raise fail(str(exc), code=2) from None
    try:
        WatchBook(load_settings().data_dir).add(name, query, floor, max_records)
    except LitbotError as exc:
        raise fail(exc.user_message) from None
    typer.echo(f"watching {name!r}: {query}")


@watch_app.command("list", cls=Command)
def watch_list(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False) -> None:
    """Show the saved queries and when each last ran."""
    from dataclasses import asdict

    from ingest.pubmed.watches import WatchBook
    from ingest.settings import load_settings

    try:
        watches = WatchBook(load_settings().data_dir).list()
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps([asdict(w) for w in watches]))
        return
    if not watches:
        typer.echo("no watches yet: `litbot watch add NAME 'QUERY'`")
    for w in watches:
        since = f" (since {w.since})" if w.since else ""
        last = f"last run {w.last_run}, {w.last_new} new" if w.last_run else "never run"
        typer.echo(safe_line(f"{w.name}: {w.query}{since} — {last}; {w.total_new} new in all"))


@watch_app.command("remove", cls=Command)
def watch_remove(name: Annotated[str, typer.Argument(help="The watch to forget.")]) -> None:
    """Forget a saved query (its articles stay in the store)."""
    from ingest.pubmed.watches import WatchBook
    from ingest.settings import load_settings

    try:
        WatchBook(load_settings().data_dir).remove(name)
    except LitbotError as exc:
        raise fail(exc.user_message) from None
    typer.echo(f"removed {name!r}")


@watch_app.command("run", cls=Command)
def watch_run(
    names: Annotated[list[str] | None, typer.Argument(help="Watches to run (default: all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list of results.")] = False,
) -> None:
    """Fetch and ingest what is new for each watch since its last run."""
    from ingest.pipeline import build_ingestor, writer_lock
    from ingest.pubmed.watches import run_watches
    from ingest.settings import load_settings

    settings = load_settings()
    try:
        ensure_weights(settings)
        with writer_lock(settings, on_wait=say_waiting):
            results = run_watches(settings, build_ingestor(settings), names or None)
    except KeyboardInterrupt:
        raise fail(
            "interrupted; rerun to finish (stored articles are skipped)", 130, as_json=as_json
        ) from None
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in results]))
    elif not results:
        typer.echo("no watches yet: `litbot watch add NAME 'QUERY'`")
    for r in results if not as_json else []:
        typer.echo(
            f"{r.name}: {r.new} new abstracts ({r.count} matching, {r.fetched} not yet stored fetched)"
        )
        if r.error:
            typer.secho(f"  error: {safe_line(r.error)}", fg=typer.colors.RED, err=True)
    if any(r.error for r in results):
        raise typer.Exit(1)
