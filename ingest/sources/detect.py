"""Tell the input format from the first few KB of content, not from the file name.

People save PubMed exports as ``.txt``, ``.dat``, ``.nbib`` or with no extension at all, and a browser "Save
as" can give an HTML error page an ``.xml`` name; sniffing the content catches both. The extension only breaks
a tie (a one-column ``.csv``). Everything that cannot be ingested is refused here with a message saying what
the file *is*, so a user is not left with "0 articles".
"""

from __future__ import annotations

import re
from pathlib import PurePath

from ingest.articles import InputError

HEAD_SIZE = 8192  # enough for an XML prolog + DOCTYPE, a CSV header or a MEDLINE record's first tags

_BOM = b"\xef\xbb\xbf"
_TEXT_CONTROL = set(range(32)) - {9, 10, 12, 13}  # control bytes that never occur in a text export
_MEDLINE_TAG = re.compile(r"^[A-Z][A-Z0-9]{1,3} {0,3}- ")
_MEDLINE_PMID = re.compile(r"(?m)^PMID- ?\d")
_PAGE_MARKER = re.compile(r"(?im)^(published:\s|pmid:\s*\d)|doi listing")
_DOCTYPE = re.compile(r"<!DOCTYPE\s+([A-Za-z_][\w:.-]*)", re.IGNORECASE)
_START_TAG = re.compile(r"<([!?]?)([A-Za-z_][\w:.-]*)")

PUBMED_XML_ROOTS = {"PubmedArticleSet", "PubmedArticle", "PubmedBookArticle", "PubmedBookArticleSet"}
# E-utilities replies that carry ids or summaries, never abstracts.
_EUTILS_ROOTS = {
    "eSearchResult": "an E-utilities esearch reply (a list of PMIDs)",
    "eSummaryResult": "an E-utilities esummary reply (document summaries without abstracts)",
    "eLinkResult": "an E-utilities elink reply (links between records)",
    "eInfoResult": "an E-utilities einfo reply (database information)",
    "ePostResult": "an E-utilities epost reply (a history-server key)",
    "eSpellResult": "an E-utilities espell reply",
    "eGQueryResult": "an E-utilities egquery reply",
}
_EFETCH_HINT = "fetch the records themselves with efetch.fcgi?db=pubmed&id=<PMIDs>&rettype=xml"


def detect_format(head: bytes, name: str) -> str:
    """Return "medline", "pubmed_xml", "csv", "jsonl" or "pubmed_page" for these first bytes.

    ``head`` is the start of the (already gunzipped) content. Raises :class:`InputError` for empty input, HTML
    pages, E-utilities replies, binary files and anything else litbot does not read.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(name, "is UTF-16 text; save it as UTF-8 and try again")
    head = head.removeprefix(_BOM)
    if not head.strip():
        raise InputError(name, "is empty")
    _refuse_binary(head, name)
    text = head.decode("utf-8", errors="replace").lstrip()
    if not text:  # only Unicode whitespace (NEL, U+2028...), which bytes.strip() above keeps
        raise InputError(name, "is empty (it holds only whitespace)")
    if text.startswith("<"):
        return _xml_format(text, name)
    lines = [line for line in text.splitlines() if line.strip()]
    first = lines[0].strip()
    if _MEDLINE_TAG.match(lines[0]) and _MEDLINE_PMID.search(text):
        return "medline"
    if first.startswith("{"):
        if first == "{" or ("\n" in text and not first.endswith("}")):
            raise InputError(name, "is a JSON document, not JSON Lines (one JSON object per line)")
        return "jsonl"
    if first.startswith("["):
        raise InputError(
            name, "is a JSON array; write one JSON object per line (JSON Lines), e.g. jq -c '.[]'"
        )
    if _PAGE_MARKER.search(text):
        return "pubmed_page"
    if _looks_like_csv_header(first) or PurePath(name).suffix.lower() in {".csv", ".tsv"}:
        return "csv"
    preview = first[:60] + ("..." if len(first) > 60 else "")
    raise InputError(
        name,
        f"is not a format litbot reads (it starts with {preview!r}); expected PubMed MEDLINE text, "
        "PubMed XML, CSV, JSON Lines or the text of a PubMed abstract page",
    )


def _refuse_binary(head: bytes, name: str) -> None:
    if head.startswith(b"%PDF"):
        raise InputError(name, "is a PDF; litbot ingests abstracts (MEDLINE, PubMed XML, CSV, JSON Lines)")
    if head.startswith(b"PK\x03\x04"):
        raise InputError(
            name, "is a ZIP archive (or an Excel/Word file); unzip it or export the sheet as CSV"
        )
    # A stray NUL in one record is that record's problem (its parser skips it); many are a binary file —
    # unless whole lines of text come before the first NUL: a file whose tail turned to NULs (a crashed write)
    # or a pipe that streams garbage after good records. Those records are read; the rest is skipped by the
    # parser like any broken record.
    lines_before_nul = head[: head.rfind(b"\n", 0, max(head.find(b"\0"), 0)) + 1]
    if lines_before_nul.strip():
        head = lines_before_nul
    controls = sum(1 for byte in head if byte in _TEXT_CONTROL)
    if controls > max(8, len(head) // 100):
        raise InputError(name, "is a binary file, not text")


def _xml_format(text: str, name: str) -> str:
    lowered = text[:2048].lower()
    if "<html" in lowered or "<!doctype html" in lowered or "<body" in lowered:
        raise InputError(
            name,
            "is an HTML page (for example an NCBI error page or a saved web page), not PubMed data; "
            "download the records as PubMed XML or in PubMed (MEDLINE) format",
        )
    root = _root_name(text)
    if root in PUBMED_XML_ROOTS:
        return "pubmed_xml"
    if root in _EUTILS_ROOTS:
        raise InputError(name, f"is {_EUTILS_ROOTS[root]}, not article records; {_EFETCH_HINT}")
    raise InputError(name, f"is XML with root element <{root or '?'}>, not PubMed XML (<PubmedArticleSet>)")


def _root_name(text: str) -> str | None:
    """The document element's name: from the DOCTYPE if there is one (it may be followed by a long DTD)."""
    doctype = _DOCTYPE.search(text)
    if doctype:
        return doctype.group(1)
    for match in _START_TAG.finditer(text):
        if not match.group(1):
            return match.group(2)
    return None


def _looks_like_csv_header(line: str) -> bool:
    """A header row: at least two short cells split by a comma, tab or semicolon."""
    for delimiter in (",", "\t", ";"):
        cells = [cell.strip().strip('"') for cell in line.split(delimiter)]
        if len(cells) >= 2 and all(0 < len(cell) <= 64 for cell in cells):
            return True
    return False
