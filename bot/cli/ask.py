"""`litbot ask`: one question, one cited answer, printed (or as one JSON object with --json).

Only typer is imported at module level; the store, the embedder and (in LLM mode) LangChain are imported when
the command runs, so `litbot --help` stays instant and extractive mode never loads LangChain.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from bot.cli.common import fail
from ingest.errors import ConfigError, LitbotError


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
        str | None, typer.Option("--journal", help="Only journals whose name contains this (any case).")
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

    if year_from is not None and year_to is not None and year_from > year_to:
        raise fail(
            f"--year-from {year_from} is after --year-to {year_to}", 2, as_json=as_json, question=question
        )
    filters = Filters(year_from=year_from, year_to=year_to, journal=(journal or "").strip() or None)
    try:
        from bot.chat import ChatHandler

        handler = ChatHandler.from_settings(load_settings())
        stream = handler.mode == "llm" and not as_json and sys.stdout.isatty()
        answer = handler.new_session().ask(question, filters=filters, k=k, on_token=_echo if stream else None)
        hint = handler.store_hint() if answer.refused else None
    except KeyboardInterrupt:
        raise fail("interrupted", 130, as_json=as_json, question=question) from None
    except LitbotError as exc:
        raise fail(
            exc.user_message, 2 if isinstance(exc, ConfigError) else 1, as_json=as_json, question=question
        ) from None
    if as_json:
        typer.echo(json.dumps(answer.to_json_dict(), ensure_ascii=False))
        return
    from bot.render import answer_notes, footer, sources_block

    if stream:
        typer.echo("")
    else:
        typer.echo(answer.text)
    for note in answer_notes(answer):
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW)
    if sources := sources_block(answer):
        typer.echo("\n" + sources)
    typer.echo("")
    typer.secho(footer(answer), dim=True)
    if hint:
        typer.secho(f"note: {hint}", fg=typer.colors.YELLOW, err=True)


def _echo(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
