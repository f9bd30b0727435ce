"""The one sanitiser for text litbot did not write, applied before anything is shown.

Abstracts, titles, E-utilities replies, a model's answer, a file's records: any of them may carry characters
that act instead of being read. A terminal obeys escape sequences (ESC[2J clears the screen, OSC 8 plants a
hyperlink whose target is hidden, OSC 0 renames the window) and their one-byte C1 forms (U+009B is CSI,
U+009D is OSC); right-to-left overrides reorder what follows (``exe.txt`` shown as ``txt.exe``); zero-width
characters hide text or split a word a filter looks for (``<\u200b/passage>``, ``]\u200b(``). None of them is
ever needed to read an abstract, so :func:`safe_text` removes them all: every control character (C0, DEL, C1)
but newline and tab, every format character (Unicode category Cf: bidirectional overrides, isolates and
marks, zero-width spaces and joiners, the BOM, tag characters, soft hyphens), and the line and paragraph
separators. A lone surrogate (bytes that were not UTF-8, decoded with ``surrogateescape``) becomes U+FFFD,
since no stream can print it. Everything else — letters of every script, symbols, emoji — is kept as written.

Discord's Markdown is a second layer with its own escaping (``bot.discord.render.plain``), applied after this.
"""

from __future__ import annotations

import re

# Unicode 14 (Python 3.11) categories Cc, Cf, Zl and Zp; tests check this against the running unicodedata.
_INVISIBLE = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
#: One character that must not reach a screen as it is (newline and tab excepted).
UNSAFE = re.compile(f"[{_INVISIBLE}]")
_UNSAFE_OR_SURROGATE = re.compile(f"[{_INVISIBLE}\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n]+")


def _replace(match: re.Match[str]) -> str:
    return "\ufffd" if "\ud800" <= match.group() <= "\udfff" else ""


def safe_text(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control and invisible format character removed (newlines and tabs kept, or with
    ``one_line`` turned into single spaces, so the text cannot start a line of its own)."""
    text = _UNSAFE_OR_SURROGATE.sub(_replace, text)
    return _LINE_BREAKS.sub(" ", text) if one_line else text


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds bytes that were not UTF-8 (decoded with ``surrogateescape``, as argv is)."""
    return _SURROGATE.search(text) is not None
