"""What every command shares: one-line errors, the ingest progress display and report."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ingest.pipeline import Ingestor, IngestReport
    from ingest.settings import Settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear line to stderr; the caller raises the returned Exit."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def say_waiting() -> None:
    """What an ingest prints while another one holds the store (ingest.pipeline.writer_lock's on_wait)."""
    typer.echo("another ingest is writing to this store; waiting for it to finish...", err=True)


def run_ingest(
    specs: list[str], settings: Settings, show_progress: bool, *, ingestor: Ingestor | None = None
) -> IngestReport:
    """Ingest ``specs`` with a progress display on a terminal; shared by the CLI, the bot and watches."""
    from ingest.pipeline import build_ingestor, ingest_inputs

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
