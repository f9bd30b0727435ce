"""The text of a PubMed abstract web page, as copied or saved from a browser (the project's seed record).

Layout, paragraph by paragraph: title · journal · affiliation(s) · ``Published: December 2025`` · abstract
paragraph(s) · then page furniture (``Download full-text PDF``, ``Source``, the DOI link glued to ``DOI
Listing``) and other articles (``Similar Publications``, ...). The abstract stops at the first furniture line
and reading stops at the first "other articles" heading, so neither ever leaks into the abstract. ``PMID: n``
and ``DOI: ...`` lines are used wherever they appear before that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from pydantic import ValidationError

from ingest.articles import Article, ParseEvent, Skipped, clean_text, unusable
from ingest.identifiers import normalise_pmid
from ingest.limits import MAX_RECORD_BYTES, size

from ._common import parse_date, unique
from .streams import TooLongLine

# Lines that end the abstract: the page's own links and buttons.
_ABSTRACT_END = {
    "download full-text pdf",
    "source",
    "full text links",
    "cite",
    "view article and find full text pdf",
}
# Lines after which the page is about other articles: stop reading.
_PAGE_END = {
    "publication analysis",
    "top keywords",
    "similar publications",
    "similar articles",
    "cited by",
    "references",
    "related information",
}
_PUBLISHED = re.compile(r"^published:\s*(.+)$", re.IGNORECASE)
_PMID = re.compile(r"^pmid:\s*(\d+)", re.IGNORECASE)
_DOI_LINE = re.compile(r"^(?:doi:\s*|https?://(?:dx\.)?doi\.org/)", re.IGNORECASE)
_DOI = re.compile(r"(10\.\d{4,9}/\S+?)(?=DOI Listing|\s|$)")
_AFFILIATION_WORDS = re.compile(
    r"\b(universit|department|institut|hospital|cent(er|re)|school|college|laborator|faculty)", re.IGNORECASE
)


def parse_pubmed_page(stream: Iterable[str], source_name: str) -> Iterator[ParseEvent]:
    """Yield the page's one Article (or a Skipped when no abstract could be found)."""
    paragraphs: list[list[str]] = [[]]
    pmid: str | None = None
    doi: str | None = None
    in_furniture = False
    for raw in stream:
        if isinstance(raw, TooLongLine):
            message = f"a line of {size(raw.length)}: not a PubMed page (a record takes at most {size(MAX_RECORD_BYTES)})"
            yield Skipped(source_name, "page", "malformed", message)
            return
        line = raw.strip()
        lowered = line.lower()
        if lowered in _PAGE_END:
            break
        if match := _PMID.match(line):
            pmid = pmid or match.group(1)
            continue
        if _DOI_LINE.match(line) or "doi listing" in lowered:
            found = _DOI.search(line)
            doi = doi or (found.group(1) if found else None)
            in_furniture = True
            continue
        if lowered in _ABSTRACT_END:
            in_furniture = True
        if in_furniture:
            continue
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    yield _article([p for p in paragraphs if p], pmid, doi, source_name)


def _article(paragraphs: list[list[str]], pmid: str | None, doi: str | None, source_name: str) -> ParseEvent:
    locator = f"PMID {normal}" if (normal := normalise_pmid(pmid)) else "page"
    published_at = next(
        (i for i, p in enumerate(paragraphs) if len(p) == 1 and _PUBLISHED.match(p[0])),
        None,
    )
    body = paragraphs[2:]
    affiliations: list[str] = []
    year, date = None, None
    if published_at is not None and published_at >= 2:
        affiliations = [line for p in paragraphs[2:published_at] for line in p]
        published = _PUBLISHED.match(paragraphs[published_at][0])
        year, date = parse_date(published.group(1) if published else None)
        body = paragraphs[published_at + 1 :]
    else:  # no "Published:" line: affiliation-looking paragraphs right after the journal
        while body and len(body) > 1 and all(_AFFILIATION_WORDS.search(line) for line in body[0]):
            affiliations += body.pop(0)
    abstract = "\n".join(" ".join(p) for p in body)
    if len(paragraphs) < 3 or not clean_text(abstract):
        return Skipped(source_name, locator, "no_abstract", "no abstract found on the page")
    try:
        return Article(
            abstract=abstract,
            title=" ".join(paragraphs[0]),
            journal=clean_text(" ".join(paragraphs[1])) or None,
            year=year,
            date=date,
            affiliations=unique(affiliations),
            doi=doi,
            pmid=pmid,
            source=f"{source_name}:{locator}",
        )
    except ValidationError as error:
        return Skipped(source_name, locator, "malformed", unusable(error))
