"""`litbot chat` through a pipe: one question per line in, plain answers or JSON lines out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import BinaryIO

import typer

from bot.terminal.commands import CommandError, parse_command
from bot.terminal.conversation import Conversation, active_filters, describe_error, run_command
from ingest.redact import safe_line

#: Bytes of one input line, at most: a question is at most 2,000 characters (``bot.chat.MAX_QUESTION_CHARS``),
#: so a longer line is skipped as it is read, a piece at a time, instead of being held whole first.
MAX_LINE_BYTES = 64 * 1024


def question_lines(stream: BinaryIO, cap: int = MAX_LINE_BYTES) -> Iterator[tuple[str | None, str]]:
    """Each line of ``stream`` as (text, "") — or (None, why) for a line that is too long or not UTF-8, read
    past without keeping more than ``cap`` bytes of it."""
    number = 0
    while raw := stream.readline(cap + 1):
        number += 1
        if len(raw) > cap:
            size = len(raw)
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(cap)
                size += len(raw)
            yield None, f"line {number} is too long for a question ({size:,} bytes); skipped"
            continue
        try:
            yield raw.decode("utf-8"), ""
        except UnicodeDecodeError as exc:
            yield None, f"line {number} is not valid UTF-8 text (byte 0x{raw[exc.start]:02x}); skipped"


def run_piped(conversation: Conversation, stream: BinaryIO, as_json: bool, debug: bool) -> int:
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
    for raw, problem in question_lines(stream):
        if raw is None:
            failed += 1
            typer.echo(f"error: {problem}", err=True)
            if as_json:
                typer.echo(json.dumps({"question": None, "error": problem}))
            continue
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
            typer.echo(f"error: {safe_line(str(exc))}", err=True)
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
