"""CSV/TSV and JSON Lines exports, including BEIR ``corpus.jsonl``.

Column (CSV) and key (JSONL) names are matched case-insensitively, with spaces and hyphens read as ``_``;
the first alias present wins:

========== ====================================================================================
field      accepted names
========== ====================================================================================
pmid       pmid, pubmed_id, pubmedid
doi        doi
title      title, article_title
abstract   abstract, text, abstract_text, body, contexts (a JSON list of strings is joined)
sections   sections (JSONL: a list of ``{"label": ..., "text": ...}``; ``abstract`` is built from it
           when absent)
journal    journal, journal_title, source, venue
year       year, pub_year, publication_year (else taken from ``date``)
date       date, pub_date, publication_date
authors    authors, author, author_list (a list, or one string split on ``;``)
affiliations  affiliations, affiliation (as authors)
url        url (a PubMed or doi.org link gives the PMID / DOI; any other link becomes the source id
           when there is no ``id``)
mesh       mesh, mesh_terms, meshes (list or ``;``-separated)
keywords   keywords, keyword (list or ``;``-separated)
publication_types  publication_types, publication_type, pub_types, pubtype, study_type, pt (list or
           ``;``-separated; PubMed's names or litbot's codes, see :mod:`ingest.studytypes`)
retracted  retracted, is_retracted, retraction (true/yes/1/retracted; "retraction notice",
           "expression of concern" as such)
id         id, _id (the source's own id, e.g. a BEIR/S2ORC id; never taken for a PMID)
========== ====================================================================================

A BEIR line ``{"_id", "title", "text", "metadata": {...}}`` reads the same way; the keys inside
``metadata`` (``pmid``, ``doi``, ``year``, ``journal``, ``url``, ``mesh``, ...) fill what the line itself
does not give.

Records with an empty abstract are ``Skipped("no_abstract")``; an unreadable JSONL line is
``Skipped("malformed")`` and the rest of the file goes on. A CSV without any abstract-like column is refused
as a whole (:class:`InputError`). Locators are ``"line N"``: the physical line for JSONL, the line a CSV
record starts on (a quoted cell may span lines).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from ingest.articles import (
    Article,
    InputError,
    ParseEvent,
    Section,
    Skipped,
    clean_text,
    normalise_doi,
    unusable,
)
from ingest.limits import MAX_RECORD_BYTES, size
from ingest.studytypes import CONCERN, NOTICE, RETRACTED, retraction_status

from ._common import parse_date, split_list, year_of
from .streams import TooLongLine

FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "pmid": ("pmid", "pubmed_id", "pubmedid"),
    "doi": ("doi",),
    "title": ("title", "article_title"),
    "abstract": ("abstract", "text", "abstract_text", "body", "contexts"),
    "sections": ("sections",),
    "journal": ("journal", "journal_title", "source", "venue"),
    "year": ("year", "pub_year", "publication_year"),
    "date": ("date", "pub_date", "publication_date"),
    "authors": ("authors", "author", "author_list"),
    "affiliations": ("affiliations", "affiliation"),
    "url": ("url",),
    "mesh": ("mesh", "mesh_terms", "meshes"),
    "keywords": ("keywords", "keyword"),
    "publication_types": (
        "publication_types",
        "publication_type",
        "pub_types",
        "pubtype",
        "study_type",
        "pt",
    ),
    "retracted": ("retracted", "is_retracted", "retraction"),
    "id": ("id", "_id"),
}
# A cell may be a whole line (the csv default, 128 KiB, is too small for full-text "body" cells); a quoted cell
# spanning lines may not grow past that either (see parse_csv).
CSV_FIELD_SIZE_LIMIT = MAX_RECORD_BYTES + 2
_PUBMED_LINK = re.compile(r"(?:pubmed\.ncbi\.nlm\.nih\.gov/|ncbi\.nlm\.nih\.gov/pubmed/)(\d+)")


def accepted_fields() -> dict[str, tuple[str, ...]]:
    """Field -> accepted column/key names (lower case), for ``--help`` and the README."""
    return dict(FIELD_ALIASES)


def normalise_key(key: str) -> str:
    return key.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def map_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """Raw column/key -> value mapping to canonical field -> value (first present alias wins)."""
    by_key = {normalise_key(str(key)): value for key, value in record.items()}
    fields: dict[str, Any] = {}
    for field, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            if _present(by_key.get(alias)):
                fields[field] = by_key[alias]
                break
    metadata = by_key.get("metadata")
    if isinstance(metadata, dict):
        for field, value in map_fields(metadata).items():
            fields.setdefault(field, value)
    return fields


def build_article(fields: Mapping[str, Any], source_name: str, locator: str) -> ParseEvent:
    """Canonical fields -> Article, or Skipped when there is no abstract or a value is unusable."""
    sections = _sections(fields.get("sections"))
    abstract = _joined(fields.get("abstract")) or "\n".join(
        f"{s.label}: {s.text}" if s.label else s.text for s in sections
    )
    if not abstract.strip():
        return Skipped(source_name, locator, "no_abstract", "the record has no abstract")
    url = _scalar(fields.get("url"))
    link_pmid = _PUBMED_LINK.search(url or "")
    year = year_of(fields.get("year"))
    date_year, date = parse_date(_scalar(fields.get("date")))
    source_id = _scalar(fields.get("id"))
    title = _joined(fields.get("title"))
    types = split_list(fields.get("publication_types"))
    try:
        return Article(
            abstract=abstract,
            sections=sections,
            title=title,
            journal=clean_text(_scalar(fields.get("journal"))) or None,
            year=year or date_year,
            date=date or (str(year) if year else None),
            authors=split_list(fields.get("authors")),
            affiliations=split_list(fields.get("affiliations")),
            doi=_given_doi(_scalar(fields.get("doi")), url),
            pmid=_scalar(fields.get("pmid")) or (link_pmid.group(1) if link_pmid else None),
            mesh=split_list(fields.get("mesh")),
            keywords=split_list(fields.get("keywords")),
            publication_types=types,
            retraction=_retracted(fields.get("retracted")) or retraction_status(types, (), clean_text(title)),
            source_id=source_id or (url if url and not link_pmid and not normalise_doi(url) else None),
            source=f"{source_name}:{locator}",
        )
    except ValidationError as error:
        return Skipped(source_name, locator, "malformed", unusable(error))


def parse_jsonl(stream: Iterable[str], source_name: str) -> Iterator[ParseEvent]:
    """One JSON object per line; blank lines are ignored, a bad line is skipped with its line number."""
    for number, line in enumerate(stream, start=1):
        locator = f"line {number}"
        if isinstance(line, TooLongLine):
            yield too_long(source_name, locator, line)
            continue
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield Skipped(
                source_name, locator, "malformed", f"invalid JSON ({error.msg}, column {error.colno})"
            )
            continue
        except (ValueError, RecursionError) as error:  # a number past int's digit limit; absurd nesting
            problem = "nested too deeply" if isinstance(error, RecursionError) else str(error).split(";")[0]
            yield Skipped(source_name, locator, "malformed", f"unreadable JSON ({problem})")
            continue
        if not isinstance(record, dict):
            kind = type(record).__name__
            yield Skipped(source_name, locator, "malformed", f"a JSON {kind}, not an object")
            continue
        yield build_article(map_fields(record), source_name, locator)


def parse_csv(stream: Iterable[str], source_name: str) -> Iterator[ParseEvent]:
    """A header row, then one record per row; the delimiter (comma, tab, semicolon) is read off the header.

    A quoted cell may span lines, as in any CSV, up to MAX_RECORD_BYTES: one that is still open past that is a
    quote left unclosed. By CSV's rules everything up to the next closing quote is inside it, so the file is
    read on from there (found by a streaming scan, never held), and the whole span is one skipped record
    naming the line where the quote opens — not thousands of bogus rows read from the middle of a cell.
    """
    csv.field_size_limit(CSV_FIELD_SIZE_LIMIT)
    lines = _CountedLines(stream)
    header_line = next((line for line in lines if isinstance(line, TooLongLine) or line.strip()), None)
    if header_line is None:
        return
    if isinstance(header_line, TooLongLine):
        raise InputError(
            source_name,
            f"has a header row of {size(header_line.length)}, over the {size(MAX_RECORD_BYTES)} a line may "
            f"take (line {lines.number}): not a CSV litbot can read",
        )
    delimiter = max(",\t;", key=header_line.count)  # no delimiter at all: a one-column file
    try:
        header = [normalise_key(cell) for cell in next(csv.reader([header_line], delimiter=delimiter))]
    except csv.Error as error:  # e.g. a stray carriage return inside the header row
        raise InputError(source_name, f"has an unreadable CSV header row ({error})") from error
    _require_abstract_column(header, source_name)
    oversized: list[tuple[int, TooLongLine]] = []
    reader = csv.reader(_blank_oversized(lines, oversized), delimiter=delimiter, strict=True)
    while True:
        start = lines.number + 1  # the line the next record starts on
        locator = f"line {start}"
        try:
            row = next(reader)
        except StopIteration:
            yield from (too_long(source_name, f"line {n}", line) for n, line in oversized)
            return
        except csv.Error as error:
            if "field limit" in str(error):
                yield _unclosed_quote(lines, source_name, start)
            else:
                yield Skipped(source_name, locator, "malformed", f"unreadable CSV row: {error}")
            continue
        while oversized:
            number, line = oversized.pop(0)
            yield too_long(source_name, f"line {number}", line)
        if not any(cell.strip() for cell in row):
            continue
        record = {key: cell for key, cell in zip(header, row, strict=False) if key}
        yield build_article(map_fields(record), source_name, locator)


class _CountedLines:
    """The lines, counting them (the csv reader and the quote scan both read from here)."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self.number = 0

    def __iter__(self) -> _CountedLines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.number += 1
        return line


def _unclosed_quote(lines: _CountedLines, source_name: str, start: int) -> Skipped:
    """Skip to the end of a quoted cell that outgrew MAX_RECORD_BYTES: the line holding its closing quote."""
    locator = f"line {start}"
    for line in lines:
        if not isinstance(line, TooLongLine) and _closing_quote(line):
            return Skipped(
                source_name,
                locator,
                "malformed",
                f"a quoted cell runs on for more than {size(MAX_RECORD_BYTES)}, to line {lines.number} "
                "(a quote left unclosed?): skipped as one record",
            )
    return Skipped(
        source_name,
        locator,
        "malformed",
        f"a quoted cell opens here and never closes: the {lines.number - start:,} lines after it are inside it "
        "and were not read as rows (close the quote and ingest again)",
    )


def _closing_quote(line: str) -> bool:
    """Whether a line inside a quoted cell holds its closing quote (a lone ``"``; ``""`` is a quote in it)."""
    position = 0
    while (found := line.find('"', position)) != -1:
        if line.startswith('""', found):
            position = found + 2
            continue
        return True
    return False


def _blank_oversized(lines: _CountedLines, oversized: list[tuple[int, TooLongLine]]) -> Iterator[str]:
    """The lines, a too-long one replaced by a blank line (csv skips it) and noted with its number."""
    for line in lines:
        if isinstance(line, TooLongLine):
            oversized.append((lines.number, line))
            yield "\n"
        else:
            yield line


def too_long(source_name: str, locator: str, line: TooLongLine) -> Skipped:
    return Skipped(
        source_name,
        locator,
        "malformed",
        f"a record of {size(line.length)}, over the {size(MAX_RECORD_BYTES)} a record may take; skipped unread",
    )


def _require_abstract_column(header: list[str], source_name: str) -> None:
    if set(header) & set(FIELD_ALIASES["abstract"]):
        return
    cells = [cell for cell in header if cell]
    found = ", ".join(cell[:40] for cell in cells[:20]) + (
        f" … ({len(cells):,} in all)" if len(cells) > 20 else ""
    )
    found = found or "none"
    hint = ""
    if set(header) & set(FIELD_ALIASES["pmid"]):
        hint = " (PubMed's own CSV export has no abstracts: save the search in PubMed format instead)"
    raise InputError(
        source_name,
        f"has no abstract column; columns found: {found}; "
        f"expected one of: {', '.join(FIELD_ALIASES['abstract'])}{hint}",
    )


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str | list | dict):
        return bool(value if not isinstance(value, str) else value.strip())
    return True


def _scalar(value: Any) -> str | None:
    """A cell/JSON value as text; 12345.0 (a spreadsheet's idea of a PMID) -> "12345"; lists/dicts -> None."""
    if value is None or isinstance(value, bool | list | dict):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _given_doi(cell: str | None, url: str | None) -> str | None:
    """The DOI as given (Article normalises it): the doi cell, else a doi.org link in the url cell."""
    if normalise_doi(cell) is None and normalise_doi(url) is not None:
        return url
    return cell


def _joined(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(str(part).strip() for part in value if isinstance(part, str | int | float))
    return _scalar(value) or ""


def _retracted(value: Any) -> str | None:
    """A ``retracted`` cell: yes/true/1/retracted, or one of the other statuses by name; else None."""
    text = " ".join(str(value).lower().replace("_", " ").split()) if _present(value) else ""
    if text in {"true", "yes", "y", "1", "retracted", "1.0"}:
        return RETRACTED
    return text if text in {NOTICE, CONCERN} else None


def _sections(value: Any) -> list[Section]:
    if not isinstance(value, list):
        return []
    sections = []
    for part in value:
        if isinstance(part, dict) and clean_text(_joined(part.get("text"))):
            sections.append(Section(label=clean_text(_scalar(part.get("label"))), text=_joined(part["text"])))
    return sections
