"""`litbot chat`: a conversation with the indexed literature, in a terminal or through a pipe.

The REPL only reads lines and renders :class:`~bot.types.Answer` objects; retrieval, prompting and follow-up
handling live in :mod:`bot.chat`. In a terminal, each question runs in a worker thread so the spinner keeps
turning and Ctrl-C can set the handler's cancel event and return to the prompt at once. With stdin not a
terminal (or ``--json``) it reads one question per line and writes plain answers or JSON lines.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import typer

from bot.repl_commands import Command, CommandError, parse_command, parse_filter
from bot.types import Answer, Filters
from ingest.errors import LitbotError

if TYPE_CHECKING:
    from rich.console import Console

    from bot.chat import ChatHandler, ChatSession
    from ingest.settings import Settings


@dataclass
class Conversation:
    """The chat handler and its session, opened on first use and retried after a failure.

    Retrying means a store created (or a server started) while the REPL is open is picked up by the next
    question, instead of forcing the user to restart.
    """

    settings: Settings
    max_turns: int = 10
    handler: ChatHandler | None = None
    session: ChatSession | None = None
    filters: Filters = field(default_factory=Filters)
    k: int | None = None

    def open(self) -> ChatSession:
        if self.session is None:
            from bot.chat import ChatHandler

            self.handler = ChatHandler.from_settings(self.settings)
            self.session = self.handler.new_session(max_turns=self.max_turns)
        return self.session

    @property
    def last_answer(self) -> Answer | None:
        return self.session.last_answer if self.session else None

    def stats(self) -> dict[str, object]:
        self.open()
        assert self.handler is not None
        return self.handler.stats()

    def reset(self) -> None:
        if self.session is not None:
            self.session.reset()

    def store_hint(self) -> str | None:
        """Why every answer will be the refusal (no store, or an empty one), with what to do; else None."""
        if self.handler is None:
            return None
        try:
            return self.handler.store_hint()
        except LitbotError:
            return None  # the store went away mid-session: the next question reports that itself


def describe_error(exc: BaseException, debug: bool) -> str:
    """One line for the user; the traceback only with --debug, and only for the unexpected ones."""
    if isinstance(exc, LitbotError):
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        return exc.user_message
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
        return f"unexpected {type(exc).__name__}: {exc}"
    return f"unexpected {type(exc).__name__}: {exc} — run `litbot --debug chat` to see the details"


def run_command(
    command: Command, conversation: Conversation, console: Console, links: bool, debug: bool
) -> bool:
    """Carry out one slash command; False means leave."""
    from bot import terminal_render as render

    if command.name == "quit":
        return False
    if command.name == "help":
        render.print_help(console)
    elif command.name == "sources":
        render.print_sources_detail(console, conversation.last_answer, links)
    elif command.name == "reset":
        conversation.reset()
        console.print("Conversation forgotten; the next question starts afresh.")
    elif command.name == "filter":
        conversation.filters = parse_filter(command.arg, conversation.filters)
        label = render.filter_label(conversation.filters)
        console.print(
            f"Filters: {label}" if label else "No filters: searching every article.", highlight=False
        )
    elif command.name == "stats":
        try:
            render.print_stats(console, conversation.stats())
        except Exception as exc:
            render.print_error(console, describe_error(exc, debug))
    return True


def run_piped(conversation: Conversation, lines: Iterable[str], as_json: bool, debug: bool) -> int:
    """One question per line in, one answer out; slash commands work too. Returns 1 if any question failed."""
    from rich.console import Console

    from bot import terminal_render as render

    # Command output goes to stderr under --json so stdout stays one JSON object per line.
    console = Console(
        file=sys.stderr if as_json else sys.stdout,
        color_system=None,
        highlight=False,
        force_terminal=False,
        soft_wrap=True,
    )
    failed = 0
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            command = parse_command(line)
            if command is not None:
                if not run_command(command, conversation, console, links=False, debug=debug):
                    break
                continue
            answer = conversation.open().ask(line, filters=_active(conversation.filters), k=conversation.k)
        except CommandError as exc:
            typer.echo(f"error: {exc}", err=True)
            continue
        except Exception as exc:
            failed += 1
            message = describe_error(exc, debug)
            typer.echo(f"error: {message}", err=True)
            if as_json:
                typer.echo(json.dumps({"question": line, "error": message}))
            continue
        if as_json:
            typer.echo(json.dumps(answer.to_json_dict()))
        else:
            typer.echo(render.plain_answer(answer) + "\n")
        hint = conversation.store_hint() if answer.refused else None
        if hint:  # refused only because there is nothing to search: say so, and fail the run
            failed += 1
            typer.echo(f"error: {hint}", err=True)
    return 1 if failed else 0


def _active(filters: Filters) -> Filters | None:
    return None if filters.is_empty() else filters


def chat_command(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Read questions line by line and print one JSON answer per line.")
    ] = False,
    no_links: Annotated[
        bool, typer.Option("--no-links", help="Print source URLs in full instead of as clickable links.")
    ] = False,
    filter_text: Annotated[
        str | None,
        typer.Option(
            "--filter", help="Start with filters, e.g. --filter 'year>=2020 journal=\"Gut Microbes\"'."
        ),
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", min=1, help="Sources per answer (default: LITBOT_TOP_K).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
) -> None:
    """Chat with the indexed literature: answers with numbered, linked citations; follow-ups keep context.

    In a terminal: line editing and history, /help for commands, Ctrl-C cancels an answer, Ctrl-D leaves.
    With stdin not a terminal: one question per line in, plain answers (or JSON lines with --json) out;
    exit status 0 when every question was answered, 1 when any failed.
    """
    from ingest.settings import load_settings

    debug = debug or bool(ctx.find_root().params.get("debug"))
    try:
        settings = load_settings()
    except Exception as exc:  # pydantic's ValidationError names the bad LITBOT_* variable
        typer.secho(f"error: invalid settings: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    conversation = Conversation(settings, k=k)
    try:
        conversation.filters = parse_filter(filter_text or "", Filters())
    except CommandError as exc:
        typer.secho(f"error: --filter: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if as_json or not (sys.stdin.isatty() and sys.stdout.isatty()):
        try:
            code = run_piped(conversation, sys.stdin, as_json, debug)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader left (`litbot chat < questions | head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
            raise typer.Exit(0) from None
        raise typer.Exit(code)
    from bot.repl_terminal import TerminalRepl

    TerminalRepl(conversation, links=not no_links, debug=debug).run()
