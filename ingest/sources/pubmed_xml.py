"""PubMed XML (``<PubmedArticleSet>``): efetch replies and the MEDLINE/PubMed baseline files.

``lxml.etree.iterparse`` hands over one ``PubmedArticle`` (or ``PubmedBookArticle``) at a time and each is
cleared once read, so a 200 MB baseline file parses in flat memory. The parser is locked down: no DTD
loading, no network, no entity substitution, no huge-tree mode. libxml2 refuses an entity-expansion bomb
outright; that becomes one ``malformed`` :class:`Skipped` after the records before it. A record larger than
MAX_XML_RECORD_BYTES stops the file the same way. A file that breaks off (truncated download) keeps every record
before the break and reports the break once as a ``malformed`` :class:`Skipped` with its line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lxml import etree
from pydantic import ValidationError

from ingest.articles import Article, ParseEvent, Section, Skipped, clean_text, unusable
from ingest.limits import MAX_XML_RECORD_BYTES
from ingest.limits import size as limit_size
from ingest.studytypes import retraction_status

from ._common import make_date, parse_date, unique
from .streams import ByteSource

_iterparse: Callable[..., Iterable[tuple[str, Any]]] = etree.iterparse
_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")


def parse_pubmed_xml(stream: ByteSource, source_name: str) -> Iterator[ParseEvent]:
    """Yield an Article per record; ``Skipped("no_abstract")`` for records without one.

    Takes bytes, not text: the XML declaration names the encoding and libxml2 honours it.
    """
    counted = _RecordBytes(stream)
    records = _iterparse(
        counted,
        events=("end",),
        tag=_RECORD_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
    )
    count = 0
    try:
        for _event, element in records:
            count += 1
            counted.record_ended()
            event = _record(element, source_name, count)
            _release(element)
            yield event
    except _RecordTooLarge as error:
        yield Skipped(
            source_name,
            f"record {count + 1}",
            "malformed",
            f"{error}; the {count} records before it were read",
        )
    except etree.XMLSyntaxError as error:
        message = str(error.msg)
        if "amplification" in message or "entity reference loop" in message.lower():
            yield Skipped(
                source_name,
                f"line {error.lineno or 0}",
                "malformed",
                f"refused: the XML declares self-expanding entities (an XML bomb); the {count} records before "
                "it were read",
            )
            return
        line = error.lineno or 0
        yield Skipped(
            source_name,
            f"line {line}",
            "malformed",
            f"the XML breaks off at line {line} ({message}); the {count} records before it were read",
        )


class _RecordTooLarge(Exception):
    pass


class _RecordBytes:
    """The byte stream, refusing to feed the parser more than MAX_XML_RECORD_BYTES for one record."""

    def __init__(self, stream: ByteSource) -> None:
        self._stream = stream
        self._since_record = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._since_record += len(data)
        if self._since_record > MAX_XML_RECORD_BYTES:
            raise _RecordTooLarge(
                f"a record larger than {limit_size(MAX_XML_RECORD_BYTES)}: the rest of the file was not read"
            )
        return data

    def record_ended(self) -> None:
        self._since_record = 0


def _release(element: Any) -> None:
    """Free the record and its already-read siblings so the tree never grows."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


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
    locator = f"PMID {pmid}" if pmid else f"record {number}"
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
