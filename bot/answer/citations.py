"""Map the model's passage numbers to articles: keep real ones, drop invented ones, renumber by first use.

The model sees passages ``[1]..[n]`` and may write ``[2]``, ``[1, 3]``, ``[1][2]``, ``[1-3]`` or
``[passage 2]``. :class:`CitationRewriter` turns that into ``[1][2]...`` numbered in order of first use,
removing numbers outside ``1..n`` (with the space before them). It works on a stream, holding back only an
unfinished ``[...]`` group and the whitespace before it, so streamed tokens and the final text are the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.types import Citation, Usage
from ingest.articles import untrusted
from ingest.studytypes import LABELS

_GROUP = re.compile(
    r"^\s*(?:(?:passages?|sources?|refs?\.?|references?)\s*)?"
    r"(\d{1,3}\s*(?:[-–]\s*\d{1,3}\s*)?(?:[,;]\s*(?:and\s+)?\d{1,3}\s*(?:[-–]\s*\d{1,3}\s*)?)*)$",
    re.IGNORECASE,
)
_RANGE = re.compile(r"(\d+)\s*(?:[-–]\s*(\d+))?")
_MAX_GROUP = 40  # longer bracketed text is prose (or a Markdown link), not a citation
_CLOSERS = ".,;:!?)"
_CANONICAL = re.compile(r"\[(\d+)\]")


class CitableArticle(Protocol):
    """What citations need from a retrieved article (bot.retrieval.retriever.RetrievedArticle has it)."""

    @property
    def article_id(self) -> str: ...

    @property
    def metadata(self) -> Mapping[str, Any]: ...


class RetrievedLike(CitableArticle, Protocol):
    """What answerers read from a retrieved article (bot.retrieval.retriever.RetrievedArticle has it)."""

    @property
    def relevance(self) -> float: ...

    @property
    def passages(self) -> list[str]: ...


@dataclass
class Composed:
    """What an answerer returns; the session wraps it into an Answer."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    refused: bool = False
    usage: Usage | None = None
    missing: list[str] = field(default_factory=list)  # concepts the answer could not cover


def parse_group(inside: str) -> list[int] | None:
    """The numbers a bracket group cites (ranges expanded), or None when it is not a citation at all."""
    match = _GROUP.match(inside)
    if not match:
        return None
    numbers: list[int] = []
    for lo_text, hi_text in _RANGE.findall(match.group(1)):
        lo = int(lo_text)
        hi = int(hi_text) if hi_text else lo
        numbers.extend(range(lo, hi + 1) if 0 <= hi - lo <= 20 else (lo, hi))
    return numbers


class CitationRewriter:
    """Streaming rewrite of citations to passages ``1..given`` into ``[k]`` numbered by first use."""

    def __init__(self, given: int) -> None:
        self.given = given
        self.order: list[int] = []  # passage numbers (1-based, as given) in order of first use
        self.invented: list[int] = []  # numbers the model cited but was never given
        self._bracket: str | None = None
        self._pending_ws = ""
        self._after_drop = False

    @property
    def has_citations(self) -> bool:
        return bool(self.order)

    def feed(self, text: str) -> str:
        """Rewrite ``text`` (any piece of the stream); returns what can be emitted now."""
        out: list[str] = []
        for char in text:
            self._step(char, out)
        return "".join(out)

    def finish(self) -> str:
        """Flush the end of the stream: an unfinished bracket is text; trailing whitespace is dropped."""
        out = ""
        if self._bracket is not None:
            out = self._emit_ws() + self._bracket
            self._bracket = None
        self._pending_ws = ""
        return out

    def rewrite(self, text: str) -> str:
        """Rewrite a whole text at once."""
        return (self.feed(text) + self.finish()).strip()

    def _step(self, char: str, out: list[str]) -> None:
        if self._bracket is not None:
            if char == "]":
                self._close(self._bracket[1:], out)
                return
            if char == "[" or char == "\n" or len(self._bracket) >= _MAX_GROUP:
                out.append(self._emit_ws() + self._bracket)
                self._bracket = None
                self._step(char, out)
                return
            self._bracket += char
            return
        if char == "[":
            self._bracket = "["
        elif char.isspace():
            self._pending_ws += char
        else:
            if self._after_drop and char in _CLOSERS:
                self._pending_ws = ""
            out.append(self._emit_ws() + char)

    def _close(self, inside: str, out: list[str]) -> None:
        self._bracket = None
        numbers = parse_group(inside)
        if numbers is None:
            out.append(self._emit_ws() + f"[{inside}]")
            return
        kept: list[int] = []
        for number in numbers:
            if not 1 <= number <= self.given:
                self.invented.append(number)
                continue
            if number not in self.order:
                self.order.append(number)
            new = self.order.index(number) + 1
            if new not in kept:
                kept.append(new)
        if not kept:
            self._after_drop = True  # keep the whitespace for now; a following "." or space swallows it
            return
        out.append(self._emit_ws() + "".join(f"[{k}]" for k in sorted(kept)))

    def _emit_ws(self) -> str:
        ws, self._pending_ws = self._pending_ws, ""
        if self._after_drop:
            self._after_drop = False
            newlines = ws.count("\n")
            return "\n" * min(newlines, 2) if newlines else (" " if ws else "")
        return ws


def cited_numbers(text: str) -> list[int]:
    """Numbers of the canonical ``[k]`` citations in ``text``, in order of first use."""
    seen: list[int] = []
    for match in _CANONICAL.finditer(text):
        number = int(match.group(1))
        if number not in seen:
            seen.append(number)
    return seen


def make_citation(n: int, article: CitableArticle, passages: Sequence[str], finding: str = "") -> Citation:
    """Citation ``n`` for ``article``, from the metadata of its best chunk."""
    meta = article.metadata
    year = meta.get("year")

    def text(key: str) -> str | None:  # stored text is untrusted: no control characters reach a front end
        return untrusted(str(meta[key])) if meta.get(key) else None

    return Citation(
        n=n,
        id=untrusted(article.article_id),
        title=text("title") or "",
        journal=text("journal"),
        year=int(year) if isinstance(year, int | float | str) and str(year).isdigit() else None,
        pmid=text("pmid"),
        doi=text("doi"),
        url=text("url"),
        authors=_split(text("authors")),
        study_types=[k for k in _split(text("study_types")) if k in LABELS],
        publication_types=_split(text("publication_types")),
        retraction=text("retraction"),
        passages=[untrusted(p) for p in passages],
        finding=untrusted(finding),
    )


def _split(value: str | None) -> list[str]:
    """A "; "-joined metadata list back into its items."""
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def citations_for(
    order: Sequence[int],
    articles: Sequence[CitableArticle],
    passages: Mapping[int, Sequence[str]],
    findings: Mapping[int, str] | None = None,
) -> list[Citation]:
    """Citations ``1..len(order)`` for passage numbers in ``order`` (1-based indexes into ``articles``)."""
    findings = findings or {}
    return [
        make_citation(k, articles[p - 1], passages.get(p, []), findings.get(p, ""))
        for k, p in enumerate(order, start=1)
    ]


def check_consistent(text: str, citations: Sequence[Citation]) -> bool:
    """True when the citations in ``text`` are exactly ``1..len(citations)`` (the Answer contract)."""
    return sorted(cited_numbers(text)) == [c.n for c in citations] == list(range(1, len(citations) + 1))
