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
import sys
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
CSV_FIELD_SIZE_LIMIT = 16 * 1024 * 1024  # the csv default (128 KiB) is too small for full-text "body" cells
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
    """A header row, then one record per row; the delimiter (comma, tab, semicolon) is read off the header."""
    csv.field_size_limit(max(csv.field_size_limit(), min(CSV_FIELD_SIZE_LIMIT, sys.maxsize)))
    lines = iter(stream)
    header_line, consumed = None, 0
    for line in lines:
        consumed += 1
        if line.strip():
            header_line = line
            break
    if header_line is None:
        return
    delimiter = max(",\t;", key=header_line.count)  # no delimiter at all: a one-column file
    try:
        header = [normalise_key(cell) for cell in next(csv.reader([header_line], delimiter=delimiter))]
    except csv.Error as error:  # e.g. a stray carriage return inside the header row
        raise InputError(source_name, f"has an unreadable CSV header row ({error})") from error
    _require_abstract_column(header, source_name)
    oversized: list[tuple[int, TooLongLine]] = []
    reader = csv.reader(
        _blank_oversized(lines, oversized), delimiter=delimiter, strict=True
    )  # strict: a broken quote is one bad row
    while True:
        locator = f"line {consumed + reader.line_num + 1}"  # reader.line_num: lines read so far
        try:
            row = next(reader)
        except StopIteration:
            yield from (too_long(source_name, f"line {consumed + n}", line) for n, line in oversized)
            return
        except csv.Error as error:
            yield Skipped(source_name, locator, "malformed", f"unreadable CSV row: {error}")
            continue
        while oversized:
            number, line = oversized.pop(0)
            yield too_long(source_name, f"line {consumed + number}", line)
        if not any(cell.strip() for cell in row):
            continue
        record = {key: cell for key, cell in zip(header, row, strict=False) if key}
        yield build_article(map_fields(record), source_name, locator)


def _blank_oversized(lines: Iterable[str], oversized: list[tuple[int, TooLongLine]]) -> Iterator[str]:
    """The lines, a too-long one replaced by a blank line (csv skips it) and noted with its number."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, TooLongLine):
            oversized.append((number, line))
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
    found = ", ".join(cell for cell in header if cell) or "none"
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
