"""PubMed MEDLINE text ("PMID- " tagged lines; PubMed's "Save → PubMed format", ``.txt`` / ``.nbib``).

Biopython's :func:`Bio.Medline.parse` does the tag/continuation-line bookkeeping and yields one record at a
time, so a file of any size streams. This module only maps tags onto :class:`~ingest.articles.Article`:

TI title · AB abstract (inline "METHODS: ..." labels become sections) · JT journal, else TA · DP date/year ·
FAU authors, else AU (+ CN group authors) · AD affiliations · MH MeSH descriptors (``*`` and ``/qualifiers``
dropped) · OT keywords · LID/AID ``... [doi]`` DOI · PMID · PT publication types · RIN/ROF/RRI/ECI retraction and
concern links (see :mod:`ingest.studytypes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from Bio import Medline
from pydantic import ValidationError

from ingest.articles import Article, ParseEvent, Section, Skipped, clean_text, unusable
from ingest.identifiers import normalise_pmid
from ingest.limits import MAX_RECORD_BYTES, size
from ingest.studytypes import retraction_status

from ._common import parse_date, unique
from .streams import TooLongLine

# Comments/corrections tags that speak of retraction or concern: retraction in / of, retracted and
# republished in, expression of concern in.
_LINK_TAGS = ("RIN", "ROF", "RRI", "ECI")
_DOI = re.compile(r"(\S+)\s*\[doi\]", re.IGNORECASE)
_PMID_LINE = re.compile(r"PMID- ?\S")
# A structured-abstract label as PubMed writes it inline: upper case, at the start or after a sentence.
_LABEL = re.compile(r"(?:^|(?<=[.!?)\]]\s))([A-Z][A-Z ,&/-]{2,}[A-Z]):\s")


def parse_medline(stream: Iterable[str], source_name: str) -> Iterator[ParseEvent]:
    """Yield one Article per MEDLINE record (Skipped for a record without an abstract, or too large)."""
    for number, lines in enumerate(_records(stream), start=1):
        if isinstance(lines, int):
            message = (
                f"a record of {size(lines)}, over the {size(MAX_RECORD_BYTES)} a record may take; skipped"
            )
            yield Skipped(source_name, f"record {number}", "malformed", message)
            continue
        record = next(iter(Medline.parse(iter(lines))), None)
        if record is None:
            continue
        pmid = clean_text(_text(record, "PMID"))
        locator = f"PMID {normal}" if (normal := normalise_pmid(pmid)) else f"record {number}"
        abstract = clean_text(_text(record, "AB"))
        if not abstract:
            yield Skipped(source_name, locator, "no_abstract", "the record has no abstract (AB)")
            continue
        year, date = parse_date(_text(record, "DP"))
        authors = _list(record, "FAU") or _list(record, "AU")
        title = _text(record, "TI") or _text(record, "BTI")
        types = unique(_list(record, "PT"))
        links = [tag for tag in _LINK_TAGS if record.get(tag)]
        try:
            yield Article(
                abstract=abstract,
                sections=split_labelled(abstract),
                title=title,
                journal=clean_text(_text(record, "JT") or _text(record, "TA")) or None,
                year=year,
                date=date,
                authors=unique(authors + _list(record, "CN")),
                affiliations=unique(_list(record, "AD")),
                doi=_doi(record),
                pmid=pmid or None,
                mesh=unique(_descriptor(term) for term in _list(record, "MH")),
                keywords=unique(term.lstrip("*") for term in _list(record, "OT")),
                publication_types=types,
                retraction=retraction_status(types, links, clean_text(title)),
                source=f"{source_name}:{locator}",
            )
        except ValidationError as error:
            yield Skipped(source_name, locator, "malformed", unusable(error))


def _records(stream: Iterable[str]) -> Iterator[list[str] | int]:
    """The lines of each record, or for one larger than MAX_RECORD_BYTES its size: its lines are dropped as they
    stream by. A record ends at a blank line, or where the next one starts: every record starts with its
    ``PMID-`` line, and files glued together (or edited) may have no blank line between records."""
    lines: list[str] = []
    held = 0
    has_pmid = False
    for line in stream:
        blank = not line.strip() and not isinstance(line, TooLongLine)
        if blank or (has_pmid and _PMID_LINE.match(line)):
            if held > MAX_RECORD_BYTES:
                yield held
            elif lines:
                yield lines
            lines, held, has_pmid = [], 0, False
            if blank:
                continue
        has_pmid = has_pmid or bool(_PMID_LINE.match(line))
        held += len(line) if not isinstance(line, TooLongLine) else line.length
        if held <= MAX_RECORD_BYTES:
            lines.append(line)
        else:
            lines = []
    if held > MAX_RECORD_BYTES:
        yield held
    elif lines:
        yield lines


def split_labelled(abstract: str) -> list[Section]:
    """``"PURPOSE: ... METHODS: ..."`` -> sections, when the abstract starts with a label and has two+.

    MEDLINE flattens structured abstracts into one paragraph; restoring the labels lets them be embedded the
    same way as PubMed XML's ``AbstractText@Label``. Unstructured abstracts are left alone (no sections).
    """
    labels = list(_LABEL.finditer(abstract))
    if len(labels) < 2 or labels[0].start() != 0:
        return []
    sections = []
    for match, following in zip(labels, [*labels[1:], None], strict=True):
        end = following.start() if following else len(abstract)
        text = abstract[match.end() : end].strip()
        if text:
            sections.append(Section(label=match.group(1).strip(), text=text))
    return sections


def _text(record: dict[str, Any], tag: str) -> str:
    value = record.get(tag)
    if isinstance(value, list):
        return " ".join(value)
    return value or ""


def _list(record: dict[str, Any], tag: str) -> list[str]:
    value = record.get(tag)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _descriptor(term: str) -> str:
    """``"Databases, Protein/*standards"`` -> ``"Databases, Protein"`` (the qualifiers refine, not name)."""
    return term.split("/", 1)[0].replace("*", "").strip()


def _doi(record: dict[str, Any]) -> str | None:
    for tag in ("LID", "AID"):
        for value in _list(record, tag):
            match = _DOI.search(value)
            if match:
                return match.group(1)
    return None
