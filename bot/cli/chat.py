"""`litbot chat`: a conversation with the indexed literature, in a terminal or through a pipe.

In a terminal each question runs in a worker thread so the spinner keeps turning and Ctrl-C can set the
handler's cancel event and return to the prompt at once (bot.terminal.repl). With stdin not a terminal (or
``--json``) it reads one question per line and writes plain answers or JSON lines (bot.terminal.piped).
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from bot.cli.common import ensure_weights_for_store, fail
from ingest.errors import LitbotError


def chat_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Read questions line by line and print one JSON answer per line.")
    ] = False,
    links: Annotated[
        bool,
        typer.Option(
            "--links/--no-links", help="Sources as clickable links in a terminal, or their URLs in full."
        ),
    ] = True,
    filter_text: Annotated[
        str | None,
        typer.Option(
            "--filter", help="Start with filters, e.g. --filter 'year>=2020 journal=\"Gut Microbes\"'."
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=1, max=50, help="Sources per answer (default: LITBOT_TOP_K).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Chat with the indexed literature: answers with numbered, linked citations; follow-ups keep context.

    In a terminal: line editing and history, /help for commands, Ctrl-C cancels an answer, Ctrl-D leaves.
    With stdin not a terminal: one question per line in, plain answers (or JSON lines with --json) out;
    exit status 0 when every question was answered, 1 when any failed.
    """
    from bot.terminal.commands import CommandError, parse_filter
    from bot.terminal.conversation import Conversation
    from bot.types import Filters
    from ingest.settings import load_settings

    debug = debug or bool(ctx.find_root().params.get("debug"))
    try:
        settings = load_settings()
    except LitbotError as exc:
        raise fail(exc.user_message, 2, as_json=as_json) from None
    try:
        ensure_weights_for_store(settings)
    except LitbotError as exc:
        raise fail(exc.user_message, as_json=as_json) from None
    conversation = Conversation(settings, k=k)
    try:
        conversation.filters = parse_filter(filter_text or "", Filters())
    except CommandError as exc:
        raise fail(f"--filter: {exc}", 2, as_json=as_json) from None
    if as_json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        try:
            from bot.terminal.piped import run_piped

            code = run_piped(conversation, sys.stdin.buffer, as_json, debug)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader left (`litbot chat < questions | head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            raise typer.Exit(0) from None
        raise typer.Exit(code)
    from bot.terminal.repl import TerminalRepl

    TerminalRepl(conversation, links=links, debug=debug).run()
