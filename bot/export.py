"""An answer's sources as BibTeX or RIS, for a reference manager (``--cite``, ``/export``, Discord's button).

Every entry carries what is known of authors, title, journal, year, PMID, DOI and link, its study type as a
keyword and, for a retracted article, a note saying so. The text comes from abstracts' records, so it is
made safe for each format: control characters and line breaks never reach the file (a newline in RIS would
start a new tag, e.g. a forged ``ER``); in BibTeX the special characters are escaped and an unbalanced brace,
which would end the field early and let the rest of a title write fields of its own, is dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

from bot.types import Citation
from ingest.articles import clean_text

Format = Literal["bibtex", "ris"]
FORMATS: tuple[Format, ...] = ("bibtex", "ris")
EXTENSIONS: dict[Format, str] = {"bibtex": ".bib", "ris": ".ris"}
ET_AL = "et al."

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_KEY_WORD = re.compile(r"[A-Za-z0-9]+")
_AND = re.compile(r"(?<!\S)(and)(?!\S)", re.IGNORECASE)  # what BibTeX splits an author list on
_STOP = {"a", "an", "the", "of", "on", "in", "and", "for", "to", "with", "is", "are", "does", "do"}


def export(citations: Sequence[Citation], fmt: Format) -> str:
    """The citations as one BibTeX or RIS file ("" when there are none)."""
    return to_bibtex(citations) if fmt == "bibtex" else to_ris(citations)


def file_format(path: str) -> Format | None:
    """The format a file name asks for (``.bib``/``.bibtex`` or ``.ris``), else None."""
    lower = path.lower()
    if lower.endswith((".bib", ".bibtex")):
        return "bibtex"
    if lower.endswith(".ris"):
        return "ris"
    return None


# --- BibTeX -------------------------------------------------------------------------------------------------


def to_bibtex(citations: Sequence[Citation]) -> str:
    keys: set[str] = set()
    return "\n".join(_bibtex_entry(c, _unique_key(c, keys)) for c in citations)


def _bibtex_entry(citation: Citation, key: str) -> str:
    fields: list[tuple[str, str]] = []
    authors = _authors(citation)
    if authors:
        # a group name stays whole; in a personal name the word "and" is braced, or BibTeX would split there
        names = [_AND.sub(r"{\1}", _bib(a)) if "," in a else "{" + _bib(a) + "}" for a in authors]
        if citation.authors and citation.authors[-1] == ET_AL:
            names.append("others")
        fields.append(("author", " and ".join(names)))
    fields.append(("title", _bib(citation.label)))
    if citation.journal:
        fields.append(("journal", _bib(citation.journal)))
    if citation.year:
        fields.append(("year", str(citation.year)))
    if citation.doi:
        fields.append(("doi", _bib(citation.doi)))
    if citation.pmid:
        fields.append(("pmid", _bib(citation.pmid)))
    if citation.link:
        fields.append(("url", _bib(citation.link)))
    if citation.study_type:
        fields.append(("keywords", _bib(citation.study_type)))
    if citation.retraction:
        fields.append(("note", _bib(citation.retraction.upper())))
    kind = "article" if citation.journal else "misc"
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@{kind}{{{key},\n{body}\n}}\n"


def _bib(text: str) -> str:
    """Text for a brace-delimited BibTeX field: one line, LaTeX specials escaped, braces balanced."""
    text = clean_text(text)
    out: list[str] = []
    open_at: list[int] = []
    for char in text:
        if char == "{":
            open_at.append(len(out))
            out.append(char)
        elif char == "}":
            if open_at:
                open_at.pop()
                out.append(char)
            # an unmatched closing brace would end the field: dropped
        else:
            out.append(_LATEX_SPECIAL.get(char, char))
    for index in reversed(open_at):  # an unmatched opening brace would swallow the rest of the file
        del out[index]
    return "".join(out)


def _unique_key(citation: Citation, taken: set[str]) -> str:
    """``smith2020metformin``: first author's surname, year, first significant title word (ASCII); a
    letter is added when two sources would share a key."""
    authors = _authors(citation)
    surname = authors[0].split(",")[0] if authors else ""
    words = [w.lower() for w in _KEY_WORD.findall(_ascii(citation.title))]
    word = next((w for w in words if w not in _STOP), "")
    base = (_ascii_word(surname) + (str(citation.year) if citation.year else "") + word) or (
        f"pmid{citation.pmid}" if citation.pmid else f"source{citation.n}"
    )
    key, suffix = base, 0
    while key in taken:
        suffix += 1
        key = base + _letters(suffix)
    taken.add(key)
    return key


def _letters(number: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa."""
    text = ""
    while number:
        number, rest = divmod(number - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _ascii_word(text: str) -> str:
    return "".join(_KEY_WORD.findall(_ascii(text))).lower()


# --- RIS ----------------------------------------------------------------------------------------------------


def to_ris(citations: Sequence[Citation]) -> str:
    return "".join(_ris_entry(c) for c in citations)


def _ris_entry(citation: Citation) -> str:
    lines = [("TY", "JOUR" if citation.journal else "GEN")]
    lines += [("AU", a) for a in _authors(citation)]
    lines.append(("TI", citation.label))
    if citation.journal:
        lines.append(("T2", citation.journal))
    if citation.year:
        lines.append(("PY", str(citation.year)))
    if citation.doi:
        lines.append(("DO", citation.doi))
    if citation.pmid:
        lines += [("AN", citation.pmid), ("DB", "PubMed")]
    if citation.link:
        lines.append(("UR", citation.link))
    if citation.study_type:
        lines.append(("KW", citation.study_type))
    if citation.pmid:
        lines.append(("N1", f"PMID: {citation.pmid}"))
    if citation.retraction:
        lines.append(("N1", citation.retraction.upper()))
    body = "".join(f"{tag}  - {_ris(value)}\n" for tag, value in lines if _ris(value))
    return body + "ER  - \n\n"


def _ris(text: str) -> str:
    """One line of text: control characters and line breaks gone, whitespace collapsed."""
    return clean_text(text)


def _authors(citation: Citation) -> list[str]:
    return [a for a in (clean_text(name) for name in citation.authors) if a and a != ET_AL]
