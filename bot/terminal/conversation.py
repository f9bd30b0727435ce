"""The conversation `litbot chat` holds, in a terminal (bot.terminal.repl) or through a pipe (bot.terminal.piped).

Front ends only read lines and render :class:`~bot.types.Answer` objects; retrieval, prompting and follow-up
handling live in :mod:`bot.chat`. The conversation opens the handler on first use and carries the slash
commands both front ends share.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.terminal.commands import Command, CommandError, parse_filter
from bot.types import Answer, Citation, Filters
from ingest.errors import LitbotError
from ingest.redact import redact, safe_line

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

    def filter_hint(self, filters: Filters) -> str | None:
        """A journal or study type in ``filters`` that no article has (see ChatHandler.filter_hint)."""
        try:
            return self.handler.filter_hint(filters) if self.handler is not None else None
        except LitbotError:
            return None

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
    if debug:
        sys.stderr.write(redact("".join(traceback.format_exception(exc))))
    if isinstance(exc, LitbotError):
        return exc.user_message
    if debug:
        return safe_line(f"unexpected {type(exc).__name__}: {exc}")
    return safe_line(f"unexpected {type(exc).__name__}: {exc} — run `litbot --debug chat` to see the details")


def run_command(
    command: Command, conversation: Conversation, console: Console, links: bool, debug: bool
) -> bool:
    """Carry out one slash command; False means leave."""
    from bot.terminal import render

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
        label = conversation.filters.describe()
        console.print(
            f"Filters: {label}" if label else "No filters: searching every article.", highlight=False
        )
        if conversation.filters.include_retracted:
            console.print("Retracted articles are answered from too, each marked RETRACTED.", highlight=False)
    elif command.name == "export":
        export_sources(command.arg, conversation, console)
    elif command.name == "stats":
        try:
            render.print_stats(console, conversation.stats())
        except Exception as exc:
            render.print_error(console, describe_error(exc, debug))
    return True


def export_sources(arg: str, conversation: Conversation, console: Console) -> None:
    """``/export [all] [file]``: the last answer's (or the whole conversation's) sources as RIS on screen, or
    as BibTeX/RIS in a file chosen by its extension."""
    from rich.text import Text

    from bot.export import export, file_format

    words = arg.split(maxsplit=1)
    everything = bool(words) and words[0].lower() == "all"
    target = (words[1] if len(words) > 1 else "") if everything else arg.strip()
    session = conversation.session
    answers = [a for _, a in session.history] if everything and session else []
    if not everything and conversation.last_answer is not None:
        answers = [conversation.last_answer]
    citations = unique_sources(answers)
    if not citations:
        message = (
            "The last answer cited no sources."
            if answers
            else "No sources to export yet — ask a question first."
        )
        console.print(message, style="yellow")
        return
    if not target:
        console.print(Text(export(citations, "ris")), soft_wrap=True)
        return
    fmt = file_format(target)
    if fmt is None:
        raise CommandError(f"cannot tell the format of {target!r}: name it .bib (BibTeX) or .ris (RIS)")
    path = Path(target).expanduser()
    try:
        path.write_text(export(citations, fmt), encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
    many = "s" if len(citations) != 1 else ""
    console.print(f"Wrote {len(citations)} reference{many} to {path} ({fmt}).", highlight=False)


def unique_sources(answers: list[Answer]) -> list[Citation]:
    """The sources of ``answers``, each article once, renumbered in order of first appearance."""
    seen: dict[str, Citation] = {}
    for answer in answers:
        for citation in answer.citations:
            if citation.id not in seen:
                seen[citation.id] = citation.model_copy(update={"n": len(seen) + 1})
    return list(seen.values())


def active_filters(filters: Filters) -> Filters | None:
    return None if filters.is_empty() and not filters.include_retracted else filters
