"""`litbot check` and `litbot repair`: is the store sound, and mend what is not from what is intact."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from bot.cli.common import fail
from ingest.errors import LitbotError, StoreDamaged, StoreError

if TYPE_CHECKING:
    from ingest.settings import Settings
    from ingest.store_health import Health, Repair

T = TypeVar("T")


def check_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check the store: every chunk has a vector, the vector index files are sound, the lexical index agrees
    with the store. Reads only; safe while other litbot processes use the store.

    Exit status: 0 when the store is sound, 1 when something is damaged (`litbot repair` mends it).
    """
    from ingest.settings import load_settings
    from ingest.store_health import check_store

    settings = load_settings()
    try:
        health = check_store(settings)
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(health.as_dict()))
    else:
        _print_health(health)
    if not health.ok:
        raise typer.Exit(1)


def repair_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Repair a damaged store without losing an intact article: a damaged vector index is set aside and rebuilt
    (salvaging the vectors that can be trusted, re-embedding only the others), a damaged lexical index is
    rebuilt from the store. Other litbot processes wait while it runs.

    Exit status: 0 when the store is sound afterwards, 1 otherwise (a damaged database cannot be rebuilt).
    """
    from ingest.embeddings import make_embedder
    from ingest.settings import load_settings
    from ingest.store_health import repair_store

    settings = load_settings()
    try:
        embedder = make_embedder(settings)
        with StepProgress(tty=sys.stderr.isatty(), quiet=as_json) as progress:
            report = repair_store(settings, embedder, progress.step)
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    if as_json:
        typer.echo(json.dumps(report.as_dict()))
    else:
        if report.before.ok and not report.lexical_caught_up:
            typer.echo("nothing to repair: the store is sound")
        else:
            typer.echo(repair_summary(report))
        _print_health(report.after)
    if not report.after.ok:
        raise typer.Exit(1)


def repair_summary(report: Repair) -> str:
    """What a repair did, in one line."""
    done = []
    if report.quarantined:
        done.append(
            f"rebuilt the vector index: {report.salvaged_vectors:,} vectors salvaged, "
            f"{report.reembedded_chunks:,} chunks re-embedded (the damaged files are in "
            f"{report.quarantined}: delete them once the store works)"
        )
    elif report.reembedded_chunks:
        done.append(f"re-embedded {report.reembedded_chunks:,} chunks that had no vector")
    if report.lexical_rebuilt:
        done.append("rebuilt the lexical index")
    if report.lexical_caught_up:
        done.append(f"indexed {report.lexical_caught_up:,} articles the lexical index lacked")
    return f"repaired in {report.seconds:.1f} s: " + ("; ".join(done) or "nothing was damaged")


def repairing_after_crash(
    settings: Settings, as_json: bool, run: Callable[[], T], again: bool = True
) -> tuple[T, Repair | None]:
    """``run()`` (an ingest or a fetch); when it finds the store's vector index torn by a litbot process that
    died during its turn (killed, out of memory, a power cut), repair the store first — what `litbot repair`
    does, keeping every intact article, said on stderr — and ``run()`` once more: what is stored is skipped.
    Without ``again`` (stdin was read and cannot be read twice) the repair is said and the command fails."""
    try:
        return run(), None
    except StoreDamaged as damage:
        if not damage.after_crash:
            raise
        repaired = _repair_after_crash(settings, damage, as_json)
    if not again:
        raise StoreError(
            "the store was repaired, but what was read from stdin before it was found damaged cannot be read again",
            "pipe the same input again: what is stored already is skipped",
        )
    return run(), repaired


def _repair_after_crash(settings: Settings, damage: StoreDamaged, as_json: bool) -> Repair:
    from ingest.embeddings import make_embedder
    from ingest.store_health import repair_after_crash

    typer.echo(
        f"{damage.message} — a litbot process stopped while writing it; repairing it first, as `litbot repair`"
        " would (no intact article is lost)...",
        err=True,
    )
    with StepProgress(tty=sys.stderr.isatty(), quiet=as_json) as progress:
        report = repair_after_crash(settings, make_embedder(settings), damage, progress.step)
    typer.echo(repair_summary(report), err=True)
    return report


def _print_health(health: Health) -> None:
    state = "sound" if health.ok else "DAMAGED"
    typer.echo(f"store {health.store}: {state} — {health.articles:,} articles, {health.chunks:,} chunks")
    for problem in health.problems:
        typer.echo(f"  problem: {problem}")
    for note in health.notes:
        typer.echo(f"  note: {note}")
    if not health.ok:
        typer.echo("  " + health.summary().split(": ", 1)[-1] if health.database else "  run `litbot repair`")


class StepProgress:
    """Progress of a long task in named steps: a rich bar on a terminal, else a line every ``every`` seconds."""

    def __init__(self, tty: bool, quiet: bool, every: float = 5.0) -> None:
        self.tty, self.quiet, self.every = tty and not quiet, quiet, every
        self._bar: Any = None
        self._tasks: dict[str, Any] = {}
        self._last = 0.0

    def __enter__(self) -> StepProgress:
        if self.tty:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def step(self, name: str, done: int, total: int) -> None:
        if self._bar is not None:
            if name not in self._tasks:
                self._tasks[name] = self._bar.add_task(name, total=total)
            self._bar.update(self._tasks[name], completed=done, total=total)
            return
        now = time.monotonic()
        if not self.quiet and (now - self._last >= self.every or done >= total):
            self._last = now
            typer.echo(f"{name}: {done:,} of {total:,}", err=True)
