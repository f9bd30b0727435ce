"""Abbreviations the indexed abstracts define themselves: "chest X-ray (CXR)", "tranexamic acid (TXA)".

Abstracts define an abbreviation once and then use it; a question may use either form ("Does TXA reduce
bleeding?", "Is a chest X-ray needed?"). The definitions are found with the Schwartz–Hearst method (a short form
in parentheses, its long form the shortest run of preceding words whose letters it takes in order, the first
letter starting a word: Schwartz & Hearst, Pac Symp Biocomput 2003), in the few stored abstracts that hold the
form asked about, at question time: nothing is precomputed, so every store has them, however it was built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_PARENTHESES = re.compile(r"\(([^()]{1,14})\)")
_WORDS = re.compile(r"[\w'-]+")
MAX_SHORT = 10


def definitions(text: str) -> list[tuple[str, str]]:
    """(short form, long form) pairs defined in ``text`` as "long form (SF)", in order."""
    out: list[tuple[str, str]] = []
    for match in _PARENTHESES.finditer(text):
        short = match.group(1).strip()
        if not _plausible_short(short):
            continue
        before = _WORDS.findall(text[: match.start()])
        window = before[-min(len(short) + 5, 2 * len(short)) :]
        long = _long_form(short, " ".join(window))
        if long:
            out.append((short, long))
    return out


def _plausible_short(short: str) -> bool:
    return (
        2 <= len(short) <= MAX_SHORT
        and len(short.split()) <= 2
        and short[0].isalnum()
        and any(ch.isalpha() for ch in short)
        and not short.replace(".", "").isdigit()
    )


def _long_form(short: str, candidate: str) -> str:
    """The shortest end of ``candidate`` whose letters contain ``short``'s letters in order, the first of them
    at the start of a word (Schwartz–Hearst); "" when there is none."""
    s = short.lower()
    c = candidate.lower()
    si, ci = len(s) - 1, len(c) - 1
    while si >= 0:
        ch = s[si]
        if not ch.isalnum():
            si -= 1
            continue
        while ci >= 0 and (c[ci] != ch or (si == 0 and ci > 0 and c[ci - 1].isalnum())):
            ci -= 1
        if ci < 0:
            return ""
        si -= 1
        ci -= 1
    start = c.rfind(" ", 0, ci + 1) + 1
    long = candidate[start:].strip()
    if len(long) <= len(short) or len(long.split()) > len(short) + 5:
        return ""
    return long


def normal(form: str) -> str:
    """A form compared case- and hyphen-blind ("X-ray" = "x ray")."""
    return " ".join(re.findall(r"[0-9a-z]+", form.lower()))


def forms_of(name: str, texts: Iterable[str]) -> list[str]:
    """The other forms ``name`` has in the abstracts ``texts``: its long forms when it is defined there as an
    abbreviation, its abbreviations when it is a long form defined there; most frequent first."""
    wanted = normal(name)
    counts: dict[str, int] = {}
    for text in texts:
        for short, long in definitions(text):
            if normal(short) == wanted:
                other = long
            elif _same_long(normal(long), wanted):
                other = short
            else:
                continue
            key = other if other.isupper() else other.lower()
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts, key=lambda k: -counts[k])


def _same_long(long: str, wanted: str) -> bool:
    """A long form names ``wanted`` when it is it, perhaps with a plural ending ("chest x rays")."""
    return long == wanted or long.rstrip("s") == wanted.rstrip("s")
