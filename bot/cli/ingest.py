"""`litbot ingest` and `litbot stats`: the command line of the write side.

Heavy imports (chromadb, onnxruntime) happen inside the commands so `litbot --help` stays instant.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.check import repairing_after_crash
from bot.cli.common import checked_inputs, ensure_weights, fail, print_report, run_ingest, say_waiting
from ingest.errors import LitbotError

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from ingest.settings import Settings
    from ingest.store import ArticleStore
    from ingest.store_health import Repair

FORMATS_HELP = (
    "Formats are detected from content: PubMed MEDLINE text (.txt/.nbib), PubMed/efetch XML (also gzipped "
    "baseline files), CSV, JSONL, BEIR folders or corpus.jsonl, and the PubMed page text. Any input may be "
    "gzipped."
)


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
    from ingest.settings import load_settings

    settings = load_settings()
    specs = list(inputs or [])
    if pmid and specs and all(spec.replace(",", "").isdigit() for spec in specs):
        pmid, specs = [*pmid, *specs], []  # `--pmid 123 456`: the shell hands 456 over as an input
    if pubmed is not None or pmid or ids_file is not None:
        if specs or sample:
            raise fail(
                "give files or a PubMed source (--pubmed/--pmid/--ids-file), not both",
                code=2,
                as_json=as_json,
            )
        from bot.cli.pubmed import ingest_pubmed

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
        raise fail(
            "nothing to ingest: give files, folders, globs or '-', or --sample", code=2, as_json=as_json
        )
    show_progress = not as_json and sys.stderr.isatty()
    checked_inputs(specs, settings, as_json)  # a typo fails here, before the store is touched
    try:
        ensure_weights(settings)  # a missing model is fetched (or its error shown) before anything is read
        report, repaired = _ingest_repairing(specs, settings, show_progress, as_json)
    except KeyboardInterrupt:
        raise fail(
            "interrupted; what was written is consistent — rerun the same command to finish",
            130,
            as_json=as_json,
        ) from None
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        summary = report.as_dict()
        if repaired is not None:
            summary["repaired"] = repaired.as_dict()
        typer.echo(json.dumps(summary))
    else:
        print_report(report)
    if report.failed_inputs or (strict and report.skipped):
        raise typer.Exit(1)


def _ingest_repairing(
    specs: list[str], settings: Settings, show_progress: bool, as_json: bool
) -> tuple[IngestReport, Repair | None]:
    """Ingest ``specs``; a store a killed litbot process left torn is repaired first (bot.cli.check)."""
    from ingest.pipeline import writer_lock

    def ingest() -> IngestReport:
        with writer_lock(settings, on_wait=say_waiting):
            return run_ingest(specs, settings, show_progress, as_json)

    return repairing_after_crash(settings, as_json, ingest, again="-" not in specs)


def stats_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Show what the store holds: articles, chunks, embedding model, where it lives, how questions are answered."""
    from ingest.settings import load_settings
    from ingest.store import open_store

    settings = load_settings()
    try:
        store = open_store(settings, settings.embedding_model, create=False)
        stats = {
            "articles": store.count_articles(),
            "chunks": store.count_chunks(),
            "embedding_model": store.embedding_model,
            "store": settings.store_label,
            "store_type": "server" if settings.uses_server else "embedded",
            "collection": settings.collection,
            # "mode" means what it means in chat's /stats and in every answer: how questions are answered
            "mode": "llm" if settings.llm_configured else "extractive",
            "llm_model": settings.llm_model if settings.llm_configured else "none (extractive answers)",
            **_evidence_counts(store),
        }
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(stats))
        return
    for key, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{name} {count}" for name, count in value.items()) or "none"
        typer.echo(f"{key:>16}: {value}")


def _evidence_counts(store: ArticleStore) -> dict[str, object]:
    """Articles per study type (their most specific one; "unknown" when PubMed gave none) and how many are
    retracted, read from each article's first chunk."""
    from collections import Counter

    from ingest.studytypes import LABELS, RETRACTED

    kinds: Counter[str] = Counter()
    retracted = 0
    for meta in store.iter_article_metadata():
        codes = [c.strip() for c in str(meta.get("study_types") or "").split(";") if c.strip() in LABELS]
        kinds[LABELS[codes[0]] if codes else "unknown"] += 1
        retracted += meta.get("retraction") == RETRACTED
    return {"study_types": dict(kinds.most_common()), "retracted": retracted}
