"""Which journals a `--journal` filter names: part of the full name (any case), or its abbreviation.

PubMed's records name a journal in full ("The New England journal of medicine") and people cite it by its MEDLINE
or ISO 4 abbreviation ("N Engl J Med"), which is no substring of the name. An abbreviation is recognised word by
word: each of its words abbreviates one of the name's words in order (first letters equal, its letters in
order: "Natl" → "National", "Engl" → "England"), the name's little words (of, the, and…) skipped, as ISO 4 does.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+")
_LITTLE = frozenset("the of and for in on a an at to de la le des du der die das und fur für y e et".split())


def _abbreviates(short: str, word: str) -> bool:
    if short[0] != word[0] or len(short) > len(word):
        return False
    letters = iter(word)
    return all(letter in letters for letter in short)  # a subsequence: each found after the previous one


@lru_cache(maxsize=8192)  # a store names few journals, and the same filter is tried on each of its articles
def journal_matches(name: str, wanted: str) -> bool:
    """Whether the journal ``name`` is the one ``wanted`` names (a part of it, or its abbreviation)."""
    name, wanted = (name or "").lower(), (wanted or "").strip().lower()
    if wanted in name:
        return True
    short = _WORD.findall(wanted)
    words = [w for w in _WORD.findall(name) if w not in _LITTLE]
    if not short or len(short) > len(words):
        return False
    return any(
        all(_abbreviates(s, w) for s, w in zip(short, words[start:], strict=False))
        for start in range(len(words) - len(short) + 1)
    )
