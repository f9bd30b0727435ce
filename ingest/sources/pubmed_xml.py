"""PubMed XML (``<PubmedArticleSet>``): efetch replies and the MEDLINE/PubMed baseline files.

The stream is cut into records first (:mod:`.xml_records`), then each record is parsed strictly on its own, so
one bad record — a NUL byte, an unescaped ``&``, nesting deeper than libxml2's 256 levels, bytes that are not
in the declared encoding, a record over MAX_XML_RECORD_BYTES, one cut short — is one ``malformed``
:class:`Skipped` naming the record (its PMID when it can be read, its number and line) and the records after
it are read as usual. That holds on every lxml release litbot accepts, as nothing depends on how a parser
recovers. Memory stays flat: one record at a time.

The parser is locked down: no DTD loading, no network, no entity substitution, no huge-tree mode. Entities
declared in a DOCTYPE are never expanded, whatever they are: a record that uses one is skipped, and the
message says which entity and what it is (built from other entities — an XML bomb —, a file or URL, or plain
text). So a file whose DOCTYPE declares a bomb still yields every record that does not use it: the records
before the first use and those after. Character references (``&#233;``) and the five XML entities
(``&amp;`` …) are text, as always. A file that breaks off keeps every record before the break and reports the
unfinished one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lxml import etree
from pydantic import ValidationError

from ingest.articles import Article, InputError, ParseEvent, Section, Skipped, clean_text, unusable
from ingest.identifiers import normalise_pmid
from ingest.limits import MAX_XML_RECORD_BYTES
from ingest.limits import size as limit_size
from ingest.studytypes import retraction_status

from ._common import make_date, parse_date, unique
from .streams import ByteSource
from .xml_records import Prolog, RawRecord, XmlRecords

_UNDEFINED_ENTITY = re.compile(r"Entity '([^']{1,100})' not defined")
_ENTITY_KINDS = {
    "nested": "an entity the file's DOCTYPE builds out of other entities (an XML bomb)",
    "external": "an external entity (it would read a file or URL)",
    "internal": "an entity declared in the file's DOCTYPE",
}


def parse_pubmed_xml(stream: ByteSource, source_name: str) -> Iterator[ParseEvent]:
    """Yield an Article per record; ``Skipped("no_abstract")`` for records without one, ``Skipped("malformed")``
    for each record that cannot be read.

    Takes bytes, not text: the XML declaration names the encoding and every record is read in it.
    """
    records = XmlRecords(stream, source_name)
    prolog = records.prolog
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_comments=True
    )
    declaration = _declaration(prolog, parser, source_name)
    for raw in records:
        if raw.problem is not None:
            yield Skipped(source_name, _locator(raw), "malformed", _unreadable(raw))
            continue
        try:
            element = etree.fromstring(declaration + raw.data, parser)
        except etree.XMLSyntaxError as error:
            yield Skipped(source_name, _locator(raw), "malformed", _not_well_formed(raw, error, prolog))
            continue
        yield _record(element, source_name, raw.number)


def _declaration(prolog: Prolog, parser: etree.XMLParser, source_name: str) -> bytes:
    """The XML declaration each record is parsed under (none for UTF-8, the default); an encoding libxml2
    cannot read is refused for the whole file, as every record would fail."""
    if prolog.encoding.replace("_", "-").upper() in {"UTF-8", "UTF8"}:
        return b""
    declaration = f'<?xml version="1.0" encoding="{prolog.encoding}"?>'.encode("ascii", "replace")
    try:
        etree.fromstring(declaration + b"<PubmedArticle/>", parser)
    except etree.XMLSyntaxError:
        raise InputError(
            source_name,
            f"is written in {prolog.encoding}, which the XML parser cannot read; save it as UTF-8",
        ) from None
    return declaration


def _locator(raw: RawRecord) -> str:
    return f"PMID {raw.pmid}" if raw.pmid else f"record {raw.number}"


def _where(raw: RawRecord) -> str:
    return f"record {raw.number} (line {raw.line:,})"


def _unreadable(raw: RawRecord) -> str:
    if raw.problem == "too_large":
        return (
            f"{_where(raw)} is {limit_size(raw.size)}, over the {limit_size(MAX_XML_RECORD_BYTES)} a PubMed XML "
            "record may take; skipped unread"
        )
    if raw.problem == "unterminated":
        return f"{_where(raw)} has no end tag (the next record starts inside it); skipped"
    return f"the XML breaks off inside {_where(raw)}, before its end tag; the records before it were read"


def _not_well_formed(raw: RawRecord, error: etree.XMLSyntaxError, prolog: Prolog) -> str:
    message = clean_text(str(error.msg or error))[:200]
    line = raw.line + max((error.lineno or 1) - 1, 0)
    entity = _UNDEFINED_ENTITY.search(message)
    if entity:
        name = entity.group(1)
        kind = _ENTITY_KINDS.get(prolog.entities.get(name, ""), "an entity that is declared nowhere")
        return (
            f"{_where(raw)} uses &{clean_text(name)[:40]}; at line {line:,}, {kind}: litbot expands no entity, so "
            "the record was skipped"
        )
    return f"{_where(raw)} is not well-formed XML at line {line:,} ({message}); skipped"


def _record(element: Any, source_name: str, number: int) -> ParseEvent:
    if element.tag == "PubmedBookArticle":
        citation = element.find("BookDocument")
        article = citation
        ids = element.find("PubmedBookData/ArticleIdList")
        journal = _text(element.find("BookDocument/Book/BookTitle"))
        pub_date = element.find("BookDocument/Book/PubDate")
    else:
        citation = element.find("MedlineCitation")
        article = citation.find("Article") if citation is not None else None
        ids = element.find("PubmedData/ArticleIdList")
        journal = _text(element.find("MedlineCitation/Article/Journal/Title")) or _text(
            element.find("MedlineCitation/Article/Journal/ISOAbbreviation")
        )
        pub_date = element.find("MedlineCitation/Article/Journal/JournalIssue/PubDate")
    if citation is None or article is None:
        return Skipped(source_name, f"record {number}", "malformed", "a record without its citation")
    pmid = clean_text(citation.findtext("PMID"))
    locator = f"PMID {normal}" if (normal := normalise_pmid(pmid)) else f"record {number}"
    sections = [
        Section(label=clean_text(part.get("Label")), text=_text(part))
        for part in article.iterfind("Abstract/AbstractText")
        if _text(part)
    ]
    if not sections:
        return Skipped(source_name, locator, "no_abstract", "the record has no abstract")
    labelled = any(section.label for section in sections)
    abstract = "\n".join(f"{s.label}: {s.text}" if s.label else s.text for s in sections)
    year, date = _date(pub_date)
    if year is None:
        year, date = _date(article.find("ArticleDate"))
    title = _text(article.find("ArticleTitle")) or _text(article.find("VernacularTitle"))
    if element.tag == "PubmedBookArticle" and not title:
        title, journal = journal, ""
    types = unique(_text(t) for t in article.iterfind(".//PublicationType"))
    links = [
        str(c.get("RefType") or "") for c in citation.iterfind("CommentsCorrectionsList/CommentsCorrections")
    ]
    try:
        return Article(
            abstract=abstract,
            sections=sections if labelled else [],
            title=title,
            journal=journal or None,
            year=year,
            date=date,
            authors=_authors(article),
            affiliations=unique(_text(a) for a in article.iterfind(".//AffiliationInfo/Affiliation")),
            doi=_doi(ids, article),
            pmid=pmid or None,
            mesh=unique(_text(d) for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")),
            keywords=unique(_text(k) for k in citation.iterfind("KeywordList/Keyword")),
            publication_types=types,
            retraction=retraction_status(types, links, title),
            source=f"{source_name}:{locator}",
        )
    except ValidationError as error:
        return Skipped(source_name, locator, "malformed", unusable(error))


def _text(element: Any) -> str:
    """All text inside, markup (<i>, <sup>, <sub>, <b>) dropped but its words kept, whitespace collapsed."""
    return clean_text("".join(element.itertext())) if element is not None else ""


def _date(element: Any) -> tuple[int | None, str | None]:
    if element is None:
        return None, None
    if element.findtext("Year"):
        return make_date(element.findtext("Year"), element.findtext("Month"), element.findtext("Day"))
    return parse_date(element.findtext("MedlineDate"))  # "1998 Dec-1999 Jan" -> 1998


def _authors(article: Any) -> list[str]:
    """``"Last, Fore"`` (initials when there is no fore name), or the group name for a collective author."""
    names = []
    for author_list in article.iterfind("AuthorList"):
        if author_list.get("Type", "authors") != "authors":
            continue  # book editors
        for author in author_list.iterfind("Author"):
            last = _text(author.find("LastName"))
            fore = _text(author.find("ForeName")) or _text(author.find("Initials"))
            collective = _text(author.find("CollectiveName"))
            names.append(f"{last}, {fore}" if last and fore else last or collective)
    return unique(names)


def _doi(ids: Any, article: Any) -> str | None:
    """The record's own DOI: PubmedData's id list (not the ones in its reference list), else ELocationID."""
    candidates = []
    if ids is not None:
        candidates += [_text(i) for i in ids.iterfind("ArticleId[@IdType='doi']")]
    candidates += [_text(e) for e in article.iterfind("ELocationID[@EIdType='doi']")]
    return next((c for c in candidates if c), None)
