"""British and American spellings read as one word, for deciding whether an abstract holds a question's term.

A question about a "tumour" is answered by abstracts about a "tumor", "paediatric" by "pediatric",
"haemorrhage" by "hemorrhage", "randomised" by "randomized". The lexical index keeps each spelling as written
(its figures were tuned so); the answerability gate compares both sides through :func:`american`.
"""

from __future__ import annotations

import re

# Each rule rewrites a British form to the American one inside a lower-cased word. Both sides of a comparison
# pass through the same rules, so a rule that also rewrites an unrelated word ("shoe") does no harm unless it
# makes two different words equal, which none of these does for the words of an abstract in practice.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<=[a-z]{2})our(?=s?\b|ed\b|ing\b|al\b|ite\b)"), "or"),  # tumour, behaviour, labour, odour
    (re.compile(r"ae(?=[a-z])"), "e"),  # haem-, anaemia, paediatric, leukaemia, caesarean, aetiology
    (
        re.compile(r"(?<=[a-z])oe(?=[a-z])|\boe(?=[ds])"),
        "e",
    ),  # oedema, oesophagus, foetal, diarrhoea, coeliac
    (re.compile(r"(?<=[a-z]{3})is(?=e[sd]?\b|ing\b|ation)"), "iz"),  # randomised, immunisation, hospitalising
    (re.compile(r"(?<=[a-z]{2})ys(?=e[sd]?\b|ing\b)"), "yz"),  # analysed, dialysing (not "analysis")
    (re.compile(r"(?<=[a-z]{2}[bcdfghklmnpstv])re(?=s?\b)"), "er"),  # centre, fibres, litre (not "are")
    (re.compile(r"ogue\b"), "og"),  # catalogue
    (re.compile(r"\bdisc(?=s?\b)"), "disk"),  # intervertebral disc / disk
)


def american(text: str) -> str:
    """``text`` (lower-cased) with British spellings made American."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
