"""`litbot chat` through a pipe: one question per line in, plain answers or JSON lines out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable

import typer

from bot.terminal.commands import CommandError, parse_command
from bot.terminal.conversation import Conversation, active_filters, describe_error, run_command


def run_piped(conversation: Conversation, lines: Iterable[str], as_json: bool, debug: bool) -> int:
    """One question per line in, one answer out; slash commands work too. Returns 1 if any question failed."""
    from rich.console import Console

    from bot.terminal import render

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
            answer = conversation.open().ask(
                line, filters=active_filters(conversation.filters), k=conversation.k
            )
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
