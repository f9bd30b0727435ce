"""Sentence splitting tuned for biomedical abstracts.

A plain ``. `` split breaks "et al. 2019", "e.g. mice", "p < 0.05. The", "Fig. 2" and "S. aureus". This splitter
only breaks after ., ! or ? followed by whitespace and an upper-case letter, digit or opening bracket, and not
after a known abbreviation or a single capital initial.
"""

from __future__ import annotations

import re

_ABBREVIATIONS = {
    "al", "e.g", "i.e", "vs", "etc", "fig", "figs", "ref", "refs", "approx", "ca", "cf", "dr", "mr", "mrs",
    "ms", "no", "nos", "vol", "pp", "eq", "eqs", "resp", "sp", "spp", "var", "subsp", "st", "inc", "ltd",
    "co", "jr", "sr", "prof", "dept", "univ", "min", "max", "mo", "yr", "yrs", "wk", "wks",
}  # fmt: skip
_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")
_LAST_WORD = re.compile(r"(\S+)$")


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; whitespace inside sentences is left as it was."""
    text = text.strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        candidate = text[start : match.start()].rstrip()
        last = _LAST_WORD.search(candidate)
        word = last.group(1).rstrip(".!?").lstrip("([{\"'").lower() if last else ""
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            continue
        sentences.append(candidate)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
