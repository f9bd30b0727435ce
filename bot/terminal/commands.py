"""The REPL's slash commands, parsed apart from any terminal so they can be reasoned about on their own.

A line that starts with ``/`` is a command; anything else is a question. ``/filter`` takes the same small
language people type in search boxes (``year>=2020 journal="Gut Microbes"``) and turns it into
:class:`~bot.types.Filters`; a mistake in it is a :class:`CommandError` whose message says what was expected.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass

from bot.types import Filters
from ingest.studytypes import parse_types

#: Every command with its one-line help, in the order /help lists them.
COMMANDS: dict[str, str] = {
    "help": "show this help",
    "sources": "the last answer's sources with the passages it used",
    "filter": 'restrict retrieval: /filter year>=2020 journal="Gut Microbes" type=rct,meta-analysis (year<=, '
    "year=2019, year=2015-2020; type=off); retracted=show answers from retracted articles too, marked "
    "(retracted=hide: left out, named in a note); /filter shows the active filters, /filter off clears them",
    "export": "the last answer's sources as RIS on screen; /export refs.bib or refs.ris writes a file "
    "(BibTeX or RIS by its extension); /export all [file]: every source of this conversation",
    "reset": "forget the conversation (follow-ups start afresh)",
    "stats": "what the store holds and which models answer",
    "quit": "leave (Ctrl-D works too)",
}
ALIASES = {"exit": "quit", "q": "quit", "?": "help", "h": "help", "clear": "reset"}

_YEAR_MIN, _YEAR_MAX = 1000, 2999
_YEAR_RE = re.compile(r"^year\s*(>=|<=|=|==|>|<)\s*(\d{4})(?:\s*-\s*(\d{4}))?$", re.IGNORECASE)
_JOURNAL_RE = re.compile(r"^journal\s*=\s*(.*)$", re.IGNORECASE | re.DOTALL)
_TYPE_RE = re.compile(r"^types?\s*=\s*(.*)$", re.IGNORECASE | re.DOTALL)
_RETRACTED_RE = re.compile(r"^retracted\s*=\s*(.*)$", re.IGNORECASE | re.DOTALL)
_SHOW = {"show", "include", "on", "yes", "true"}
_HIDE = {"hide", "exclude", "off", "no", "false"}


class CommandError(ValueError):
    """A command the REPL could not understand; the message is shown to the user as is."""


@dataclass(frozen=True)
class Command:
    """A parsed slash command: its canonical name and the raw text after it."""

    name: str
    arg: str = ""


def parse_command(line: str) -> Command | None:
    """The command on ``line``, or None for a question. An unknown command raises, naming the closest."""
    text = line.strip()
    if not text.startswith("/"):
        return None
    word, _, arg = text[1:].partition(" ")
    name = word.lower()
    name = ALIASES.get(name, name)
    if name in COMMANDS:
        return Command(name, arg.strip())
    raise CommandError(unknown_command_message(word))


def unknown_command_message(word: str) -> str:
    """Name the closest command, if any, and point at /help."""
    close = difflib.get_close_matches(word.lower(), [*COMMANDS, *ALIASES], n=1, cutoff=0.5)
    if close:
        suggestion = ALIASES.get(close[0], close[0])
        return f"unknown command /{word} — did you mean /{suggestion}? (/help lists the commands)"
    return f"unknown command /{word} — /help lists the commands"


def parse_filter(arg: str, current: Filters) -> Filters:
    """Apply ``/filter`` arguments to the ``current`` filters; ``off`` clears them all.

    Each kind of term replaces the earlier one of its kind: after ``/filter year>=2020`` and then
    ``/filter journal=Lancet`` both hold, while a new ``year...`` term replaces the whole earlier year range.
    Terms within one command combine: ``/filter year>=2015 year<=2020``.
    """
    text = arg.strip()
    if not text:
        return current
    if text.lower() in {"off", "none", "clear", "reset"}:
        return Filters()
    try:
        terms = shlex.split(_glue_operators(text))
    except ValueError as exc:  # an unclosed quote
        raise CommandError(
            f'cannot read the filter ({exc}); quote journal names like journal="Gut Microbes"'
        ) from None
    values = current.model_dump()
    years: tuple[int | None, int | None] | None = None
    for term in terms:
        year = _YEAR_RE.match(term)
        kinds = _TYPE_RE.match(term)
        retracted = _RETRACTED_RE.match(term)
        if year:
            low, high = _year_bounds(year.group(1), int(year.group(2)), year.group(3))
            before = years or (None, None)
            years = (low if low is not None else before[0], high if high is not None else before[1])
        elif kinds:
            values["types"] = _types(kinds.group(1))
        elif retracted:
            values["include_retracted"] = _retracted(retracted.group(1))
        else:
            values["journal"] = _journal(term)
    if years is not None:
        values["year_from"], values["year_to"] = years
    if (
        values["year_from"] is not None
        and values["year_to"] is not None
        and values["year_from"] > values["year_to"]
    ):
        raise CommandError(f"no year is both >= {values['year_from']} and <= {values['year_to']}")
    return Filters(**values)


def _glue_operators(text: str) -> str:
    """Let people write ``year >= 2020`` or ``journal = "X"``: remove spaces around the operators."""
    text = re.sub(r"(\d{4})\s*-\s*(\d{4})", r"\1-\2", text)
    return re.sub(r"\s*(>=|<=|==|=|>|<)\s*", r"\1", text)


def _types(text: str) -> tuple[str, ...]:
    if text.strip().lower() in {"off", "any", "*"}:
        return ()
    try:
        kinds = parse_types(text)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not kinds:
        raise CommandError("type= needs a study type, e.g. type=rct,meta-analysis")
    return kinds


def _retracted(text: str) -> bool:
    word = text.strip().lower()
    if word in _SHOW | _HIDE:
        return word in _SHOW
    raise CommandError("retracted= takes show or hide")


def _journal(term: str) -> str | None:
    journal = _JOURNAL_RE.match(term)
    if journal:
        name = journal.group(1).strip()
        if not name:
            raise CommandError('journal= needs a name, e.g. journal="Gut Microbes"')
        return None if name.lower() in {"off", "any", "*"} else name
    if term.lower().startswith("year"):
        raise CommandError(f"cannot read {term!r}: use year>=2020, year<=2019, year=2019 or year=2015-2020")
    raise CommandError(
        f"cannot read {term!r}: filters are year>=2020, year<=2019, year=2019, year=2015-2020, "
        'journal="Name", type=rct,meta-analysis, retracted=show|hide or off'
    )


def _year_bounds(op: str, year: int, upper: str | None) -> tuple[int | None, int | None]:
    """The (from, to) years one term means; None leaves that side open."""
    years = [year] + ([int(upper)] if upper else [])
    for y in years:
        if not _YEAR_MIN <= y <= _YEAR_MAX:
            raise CommandError(f"{y} does not look like a publication year")
    if upper is not None:
        if op not in {"=", "=="}:
            raise CommandError("a year range is written year=2015-2020")
        return min(years), max(years)
    bounds: dict[str, tuple[int | None, int | None]] = {
        ">=": (year, None),
        ">": (year + 1, None),
        "<=": (None, year),
        "<": (None, year - 1),
        "=": (year, year),
        "==": (year, year),
    }
    return bounds[op]
