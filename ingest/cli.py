"""`litbot ingest` and `litbot stats`: the command-line glue of the write side.

Heavy imports (chromadb, onnxruntime) happen inside the commands so `litbot --help` stays instant.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ingest.errors import LitbotError
from ingest.settings import Settings, load_settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ingest.pipeline import Ingestor, IngestReport

FORMATS_HELP = (
    "Formats are detected from content: PubMed MEDLINE text (.txt/.nbib), PubMed/efetch XML (also gzipped "
    "baseline files), CSV, JSONL, BEIR folders or corpus.jsonl, and the PubMed page text. Any input may be "
    "gzipped."
)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr; the caller raises the returned Exit."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


@contextmanager
def writer_lock(settings: Settings) -> Iterator[None]:
    """Serialise ingests into one embedded store; a second one waits and says so."""
    from filelock import FileLock, Timeout

    if settings.uses_server:
        yield
        return
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(settings.chroma_path / ".litbot-ingest.lock"))
    try:
        lock.acquire(timeout=0.5)
    except Timeout:
        typer.echo("another ingest is writing to this store; waiting for it to finish...", err=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def build_ingestor(settings: Settings) -> Ingestor:
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor
    from ingest.store import open_store

    embedder = make_embedder(settings)
    return Ingestor(open_store(settings, embedder.name), embedder, settings)


def run_ingest(
    specs: list[str], settings: Settings, show_progress: bool, *, ingestor: Ingestor | None = None
) -> IngestReport:
    """Ingest ``specs`` with a progress display on a terminal; shared by the CLI, the bot and watches."""
    from ingest.pipeline import ingest_inputs

    ingestor = ingestor or build_ingestor(settings)
    stdin = sys.stdin.buffer if "-" in specs else None
    if not show_progress:
        return ingest_inputs(specs, ingestor, stdin=stdin)
    from rich.progress import (
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[rate]}"),
    )
    with Progress(*columns, transient=False) as bar:
        tasks: dict[str, tuple[TaskID, float]] = {}

        def on_progress(name: str, done: int) -> None:
            if name not in tasks:
                tasks[name] = (bar.add_task(Path(name).name, total=None, rate=""), time.perf_counter())
            task, start = tasks[name]
            rate = done / max(time.perf_counter() - start, 1e-6)
            bar.update(task, completed=done, rate=f"{rate:.1f} articles/s")

        return ingest_inputs(specs, ingestor, progress=on_progress, stdin=stdin)


def print_report(report: IngestReport) -> None:
    typer.echo(
        f"read {report.read}: {report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped ({report.skipped_no_abstract} without abstract, "
        f"{report.skipped_malformed} malformed); {report.chunks} chunks written in {report.seconds:.1f} s"
    )
    for problem in report.problems[:20]:
        typer.echo(f"  skipped: {problem}", err=True)
    if len(report.problems) > 20:
        typer.echo(f"  ... and {len(report.problems) - 20} more (see --json)", err=True)


def ingest_command(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(help="Files, folders (recursive), globs, or '-' for stdin.", show_default=False),
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Ingest the bundled sample: 1,000 PubMedQA abstracts + the seed.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary object.")] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit non-zero if any record was skipped.")
    ] = False,
    pubmed: Annotated[
        str | None, typer.Option("--pubmed", help="Fetch the records matching this PubMed query.")
    ] = None,
    pmid: Annotated[
        list[str] | None, typer.Option("--pmid", help="Fetch these PMIDs (repeat, or '123,456').")
    ] = None,
    ids_file: Annotated[
        Path | None, typer.Option("--ids-file", help="Fetch the PMIDs and/or DOIs in FILE, one per line.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="--pubmed: from YYYY, YYYY/MM or YYYY/MM/DD.")] = None,
    until: Annotated[str | None, typer.Option(help="--pubmed: up to this date (same forms).")] = None,
    date_type: Annotated[
        str, typer.Option("--date-type", help="--since/--until on 'pdat' (published) or 'edat' (entered).")
    ] = "pdat",
    max_records: Annotated[
        int | None, typer.Option("--max", help="--pubmed: fetch at most this many (most recent first).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="--pubmed: print the hit count, fetch nothing.")
    ] = False,
) -> None:
    """Read abstracts, chunk and embed them, and store them in Chroma.

    Re-ingesting is cheap: unchanged articles are skipped, changed ones replace their old chunks. A bad record
    is reported (file and line or PMID) and skipped; the rest go in. Exit status: 0 on success, 1 when an input
    yielded nothing (or any skip with --strict), 130 when interrupted (rerun to finish).

    With --pubmed/--pmid/--ids-file the records come from NCBI E-utilities instead; an interrupted fetch
    resumes where it stopped when the same command is run again.
    """
    settings = load_settings()
    specs = list(inputs or [])
    if pmid and specs and all(spec.replace(",", "").isdigit() for spec in specs):
        pmid, specs = [*pmid, *specs], []  # `--pmid 123 456`: the shell hands 456 over as an input
    if pubmed is not None or pmid or ids_file is not None:
        if specs or sample:
            raise fail("give files or a PubMed source (--pubmed/--pmid/--ids-file), not both", code=2)
        from ingest.pubmed_cli import ingest_pubmed

        ingest_pubmed(
            settings,
            query=pubmed,
            pmids=pmid,
            ids_file=ids_file,
            since=since,
            until=until,
            date_type=date_type,
            max_records=max_records,
            dry_run=dry_run,
            as_json=as_json,
        )
        return
    if sample:
        from ingest.sample import sample_paths

        specs += [str(p) for p in sample_paths()]
    if not specs:
        raise fail("nothing to ingest: give files, folders, globs or '-', or --sample", code=2)
    show_progress = not as_json and sys.stderr.isatty()
    try:
        with writer_lock(settings):
            report = run_ingest(specs, settings, show_progress)
    except KeyboardInterrupt:
        raise fail(
            "interrupted; what was written is consistent — rerun the same command to finish", 130
        ) from None
    except LitbotError as exc:
        raise fail(exc.user_message) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        print_report(report)
    if report.failed_inputs or (strict and report.skipped):
        raise typer.Exit(1)


def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what the store holds: articles, chunks, embedding model, where it lives."""
    from ingest.store import open_store

    settings = load_settings()
    try:
        store = open_store(settings, settings.embedding_model, create=False)
        stats = {
            "articles": store.count_articles(),
            "chunks": store.count_chunks(),
            "embedding_model": store.embedding_model,
            "store": settings.store_label,
            "mode": "server" if settings.uses_server else "embedded",
            "collection": settings.collection,
        }
    except LitbotError as exc:
        raise fail(exc.user_message) from None
    if as_json:
        typer.echo(json.dumps(stats))
        return
    for key, value in stats.items():
        typer.echo(f"{key:>16}: {value}")
