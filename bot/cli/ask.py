"""`litbot ask`: one question, one cited answer, printed (or as one JSON object with --json).

Only typer is imported at module level; the store, the embedder and (in LLM mode) LangChain are imported when
the command runs, so `litbot --help` stays instant and extractive mode never loads LangChain.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from bot.cli.common import ensure_weights_for_store, fail
from ingest.errors import ConfigError, LitbotError
from ingest.safe_text import has_surrogates, safe_text


def ask_command(
    question: Annotated[str, typer.Argument(help="The question, in quotes.", show_default=False)],
    k: Annotated[
        int | None, typer.Option("--k", min=1, max=50, help="Sources to retrieve (default 6).")
    ] = None,
    year_from: Annotated[
        int | None, typer.Option("--year-from", help="Only articles from this year on.")
    ] = None,
    year_to: Annotated[int | None, typer.Option("--year-to", help="Only articles up to this year.")] = None,
    journal: Annotated[
        str | None,
        typer.Option(
            "--journal",
            help="Only journals whose name contains this (any case), or abbreviated so: 'N Engl J Med'.",
        ),
    ] = None,
    types: Annotated[
        str | None,
        typer.Option(
            "--type",
            help="Only these study types, comma-separated: meta-analysis, systematic-review, rct, "
            "clinical-trial, guideline, observational, case-report, review, preprint, other.",
        ),
    ] = None,
    include_retracted: Annotated[
        bool,
        typer.Option(
            "--include-retracted", help="Answer from retracted articles too (each marked RETRACTED)."
        ),
    ] = False,
    cite: Annotated[
        str | None,
        typer.Option(
            "--cite",
            help="Print the answer's sources as bibtex or ris on stdout (the answer goes to stderr).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: answer, mode, refused, citations...")
    ] = False,
) -> None:
    """Answer a question from the indexed abstracts, citing each claim [n] with a link to its article.

    Uses the LLM when one is configured (OPENAI_API_KEY / OPENAI_BASE_URL), otherwise answers extractively
    with the most relevant sentences. When the literature does not cover the question, the answer is the
    refusal sentence (exit status 0). Exit status 1 on errors, 2 on bad options, 130 when interrupted.
    """
    from bot.types import Filters
    from ingest.settings import load_settings

    if problem := not_utf8(question):
        raise fail(f"the question {problem}", 2, as_json=as_json, question=safe_text(question))
    for flag, year in (("--year-from", year_from), ("--year-to", year_to)):
        if year is not None and not YEARS[0] <= year <= YEARS[1]:
            raise fail(
                f"{flag} {year} is not a year ({YEARS[0]}–{YEARS[1]})", 2, as_json=as_json, question=question
            )
    if year_from is not None and year_to is not None and year_from > year_to:
        raise fail(
            f"--year-from {year_from} is after --year-to {year_to}", 2, as_json=as_json, question=question
        )
    from bot.export import FORMATS, export
    from ingest.studytypes import parse_types

    fmt = (cite or "").strip().lower()
    if cite is not None and fmt not in FORMATS:
        raise fail(f"--cite takes bibtex or ris, not {cite!r}", 2, as_json=as_json, question=question)
    try:
        wanted = parse_types(types or "")
    except ValueError as exc:
        raise fail(f"--type: {exc}", 2, as_json=as_json, question=question) from None
    if types is not None and not wanted:
        raise fail(
            "--type needs at least one study type, e.g. --type rct", 2, as_json=as_json, question=question
        )
    filters = Filters(
        year_from=year_from,
        year_to=year_to,
        journal=(journal or "").strip() or None,
        types=wanted,
        include_retracted=include_retracted,
    )
    try:
        from bot.chat import ChatHandler

        settings = load_settings()
        ensure_weights_for_store(settings)
        handler = ChatHandler.from_settings(settings)
        stream = handler.mode == "llm" and not as_json and cite is None and sys.stdout.isatty()
        answer = handler.new_session().ask(question, filters=filters, k=k, on_token=_echo if stream else None)
        hint = (handler.store_hint() or handler.filter_hint(filters)) if answer.refused else None
    except KeyboardInterrupt:
        raise fail("interrupted", 130, as_json=as_json, question=question) from None
    except LitbotError as exc:
        raise fail(
            exc.user_message, 2 if isinstance(exc, ConfigError) else 1, as_json=as_json, question=question
        ) from None
    exported = export(answer.citations, fmt) if fmt in FORMATS else None
    if as_json:
        data = answer.to_json_dict()
        if exported is not None:
            data["cite"] = {"format": fmt, "text": exported}
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    from bot.render import answer_notes, footer, sources_block

    to_err = exported is not None  # stdout holds only the references: `--cite ris > refs.ris`
    if stream:
        typer.echo("")
    else:
        typer.echo(answer.text, err=to_err)
    for note in answer_notes(answer):
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=to_err)
    if answer.withheld:
        typer.secho(
            "note: --include-retracted answers from them too, marked.", fg=typer.colors.YELLOW, err=to_err
        )
    if sources := sources_block(answer):
        typer.echo("\n" + sources, err=to_err)
    typer.echo("", err=to_err)
    typer.secho(footer(answer), dim=True, err=to_err)
    if hint:
        typer.secho(f"note: {hint}", fg=typer.colors.YELLOW, err=True)
    if exported is not None:
        if not exported:
            typer.secho(f"note: the answer cites no sources: the {fmt} output is empty", err=True)
        sys.stdout.write(exported)


#: Years --year-from/--year-to accept (as /filter does); anything else is a typo, and too large for the store.
YEARS = (1000, 2999)


def not_utf8(text: str) -> str | None:
    """What is wrong with ``text`` when it came from bytes that are not UTF-8 (Python decodes argv with
    ``surrogateescape``: each bad byte becomes a lone surrogate no model or tokenizer accepts), else None."""
    if not has_surrogates(text):
        return None
    raw = text.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = safe_text(raw[: exc.start].decode("utf-8", "replace"))[-30:]
        return f"is not valid UTF-8 text (byte 0x{raw[exc.start]:02x} after {before!r})"
    return "is not valid UTF-8 text"


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
