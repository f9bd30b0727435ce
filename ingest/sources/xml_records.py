"""Split a PubMed XML byte stream into its records, so that each record is parsed (strictly) on its own.

Why split instead of one streaming parse: a streaming XML parser stops at the first error, so one NUL byte,
unescaped ``&``, over-deep nesting or bad UTF-8 in record 100 of 30,000 would cost every record after it, and
what a parser does after an error differs between lxml releases. Here the bytes are cut on record boundaries
(``<PubmedArticle>`` … ``</PubmedArticle>``, likewise ``PubmedBookArticle``) by a byte scan that does not
care whether the record inside is well-formed; a bad record is then one bad record, on every lxml.

The prolog (XML declaration, DOCTYPE) is read first: it names the encoding every record is decoded with, and
the entities its DOCTYPE declares, which the parser never expands (so that no XML bomb can go off) but which
make a record's error message precise. Memory stays flat: the buffer holds one record (at most
MAX_XML_RECORD_BYTES; a larger one is dropped as it streams by and reported) plus one read.

Limits of a byte scan, on purpose: a record boundary inside a comment or CDATA section is taken as one (the
records on either side of it are then reported as broken, the rest read normally), and only encodings that
write ``<`` and ASCII tag names as single ASCII bytes can be split (UTF-8 and the 8-bit ones, which covers
every PubMed file; UTF-16 is refused before this point).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ingest.articles import InputError
from ingest.limits import MAX_XML_RECORD_BYTES
from ingest.limits import size as size_text

from .streams import ByteSource

READ_SIZE = 1 << 20
# A record's start or end tag; "(?![\w.:-])" keeps <PubmedArticleSet> out.
_TAG = re.compile(rb"<(/?)(PubmedBookArticle|PubmedArticle)(?![\w.:-])([^<>]*)>")
_PMID = re.compile(rb"<PMID\b[^<>]*>\s*(\d{1,20})\s*</PMID\s*>")
_DECLARATION = re.compile(rb"^\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"'<>]{0,60})[\"']")
_DOCTYPE = re.compile(rb"<!DOCTYPE\b")
# Inside a DOCTYPE: quoted strings and comments (which may hold brackets), and the brackets themselves; an
# unterminated string or comment matches to the end of what has been read (then more is read).
_DTD_TOKEN = re.compile(rb"\"[^\"]*\"?|'[^']*'?|<!--(?:.*?-->)?|[\[\]>]", re.S)
_ENTITY = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s%;&<>\"']+)\s+(\"[^\"]*\"|'[^']*'|SYSTEM\b|PUBLIC\b)")
_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")  # an entity reference (a character reference is &#...;)
_MAX_TAIL = 4096  # bytes kept back at the end of a read: a tag cut in two by the read
_PMID_WINDOW = 64 * 1024  # a record's PMID is among its first bytes (MedlineCitation/PMID comes first)


@dataclass(frozen=True)
class Prolog:
    """What comes before the records: the encoding they are written in, and the general entities the DOCTYPE
    declares, each ``"external"`` (a file or URL), ``"nested"`` (built from other entities, the stuff of XML
    bombs) or ``"internal"``."""

    encoding: str = "UTF-8"
    entities: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawRecord:
    """One record's bytes, or why there are none: ``too_large`` (dropped unread), ``unterminated`` (the next
    record started before this one's end tag) or ``truncated`` (the input ended inside it)."""

    number: int
    line: int  # where it starts in the input, from 1
    data: bytes
    size: int
    problem: str | None = None
    pmid: str | None = None


def record_pmid(data: bytes) -> str | None:
    """The PMID of a record read as bytes (for naming a record that cannot be parsed)."""
    found = _PMID.search(data, 0, _PMID_WINDOW)
    return found.group(1).decode() if found else None


class XmlRecords:
    """The records of one PubMed XML stream: read :attr:`prolog` (reading the prolog), then iterate."""

    def __init__(self, stream: ByteSource, name: str) -> None:
        self._stream = stream
        self._name = name
        self._buffer = bytearray()
        self._eof = False
        self._line = 1  # the line _buffer[0] is on
        self._counted = 0  # _buffer[:_counted] is already counted in _counted_lines
        self._counted_lines = 1
        self._prolog: Prolog | None = None

    @property
    def prolog(self) -> Prolog:
        if self._prolog is None:
            self._prolog = self._read_prolog()
        return self._prolog

    # --- reading ---------------------------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Read once more; False at the end of the input."""
        if self._eof:
            return False
        data = self._stream.read(READ_SIZE)
        if not data:
            self._eof = True
            return False
        self._buffer += data
        return True

    def _line_at(self, position: int) -> int:
        """The line of ``_buffer[position]`` (positions asked for only grow between drops)."""
        if position < self._counted:
            self._counted, self._counted_lines = 0, self._line
        self._counted_lines += self._buffer.count(b"\n", self._counted, position)
        self._counted = position
        return self._counted_lines

    def _drop(self, end: int) -> None:
        """Forget ``_buffer[:end]``, keeping count of its lines."""
        if end <= 0:
            return
        self._line = self._line_at(end)
        del self._buffer[:end]
        self._counted, self._counted_lines = 0, self._line

    # --- the prolog ------------------------------------------------------------------------------------------
    def _read_prolog(self) -> Prolog:
        while len(self._buffer) < 256 and self._fill():
            pass
        self._buffer = bytearray(bytes(self._buffer).removeprefix(codecs.BOM_UTF8))
        declared = _DECLARATION.match(self._buffer)
        encoding = declared.group(1).decode("ascii", "replace").strip() if declared else "UTF-8"
        _check_encoding(encoding, self._name)
        doctype = self._doctype()
        entities: dict[str, str] = {}
        for match in _ENTITY.finditer(doctype):
            if match.group(1):
                continue  # a parameter entity: only used inside the DTD
            value = match.group(3)
            kind = "external" if value in (b"SYSTEM", b"PUBLIC") else "internal"
            if kind == "internal" and _REFERENCE.search(value):
                kind = "nested"
            entities[match.group(2).decode("utf-8", "replace")] = kind
        return Prolog(encoding or "UTF-8", entities)

    def _doctype(self) -> bytes:
        """The DOCTYPE declaration (empty when there is none before the first record), read whole: its
        internal subset may hold anything, even text that looks like a record, so it is skipped as a unit."""
        while True:
            doctype = _DOCTYPE.search(self._buffer)
            first_tag = _TAG.search(self._buffer)
            if doctype is not None and (first_tag is None or doctype.start() < first_tag.start()):
                break
            if first_tag is not None or not self._fill():
                return b""
            if len(self._buffer) > MAX_XML_RECORD_BYTES:
                return b""
        start = doctype.start()
        position, depth = doctype.end(), 0
        while True:
            end, position, depth = _doctype_end(self._buffer, position, depth)
            if end is not None:
                declaration = bytes(self._buffer[start:end])
                self._drop(end)
                return declaration
            if len(self._buffer) - start > MAX_XML_RECORD_BYTES:
                raise InputError(
                    self._name,
                    f"has a DOCTYPE larger than {size_text(MAX_XML_RECORD_BYTES)}: not read (PubMed's own "
                    "files have a one-line DOCTYPE)",
                )
            if not self._fill():
                raise InputError(self._name, "ends inside its DOCTYPE declaration: there are no records")

    # --- the records -----------------------------------------------------------------------------------------
    def __iter__(self) -> Iterator[RawRecord]:
        self.prolog  # noqa: B018 - read first: the records start after it
        number = 0
        scan = 0
        start: int | None = None  # where the open record starts in _buffer
        start_line = 0
        dropped = 0  # bytes of the open record already dropped (it is too large)
        head = b""  # the first bytes of a dropped record, for its PMID
        while True:
            tag = _TAG.search(self._buffer, scan)
            if tag is None:
                if start is None or dropped:
                    keep = self._tail_start(scan)
                    if start is not None:
                        dropped += keep - start
                        start = 0
                    self._drop(keep)
                    scan = 0
                else:
                    scan = self._tail_start(scan)
                    if len(self._buffer) - start > MAX_XML_RECORD_BYTES:
                        head = bytes(self._buffer[start : start + _PMID_WINDOW])
                        dropped = scan - start
                        self._drop(scan)
                        start, scan = 0, 0
                if self._fill():
                    continue
                if start is not None:
                    size = dropped + len(self._buffer) - start
                    data = b"" if dropped else bytes(self._buffer[start:])
                    yield _raw(number, start_line, data, size, "too_large" if dropped else "truncated", head)
                return
            closing, self_closing = tag.group(1) == b"/", tag.group(3).endswith(b"/")
            if start is None:
                scan = tag.end()
                if closing:
                    continue  # an end tag without its start: nothing to read
                number += 1
                start_line = self._line_at(tag.start())
                if self_closing:
                    yield _raw(number, start_line, tag.group(0), len(tag.group(0)))
                else:
                    start, dropped, head = tag.start(), 0, b""
                continue
            if closing:
                end = tag.end()
                size = dropped + end - start
                if dropped or size > MAX_XML_RECORD_BYTES:
                    head = head or bytes(self._buffer[start : start + _PMID_WINDOW])
                    yield _raw(number, start_line, b"", size, "too_large", head)
                else:
                    yield _raw(number, start_line, bytes(self._buffer[start:end]), size)
                scan, start = end, None
            else:  # the next record starts before this one ended
                size = dropped + tag.start() - start
                data = b"" if dropped else bytes(self._buffer[start : tag.start()])
                yield _raw(number, start_line, data, size, "too_large" if dropped else "unterminated", head)
                scan, start = tag.start(), None
            if start is None and scan > READ_SIZE:
                self._drop(scan)
                scan = 0

    def _tail_start(self, scan: int) -> int:
        """Where the bytes worth keeping at the end of the buffer start: a tag the read may have cut in two."""
        last = self._buffer.rfind(b"<", max(scan, len(self._buffer) - _MAX_TAIL))
        return last if last != -1 else len(self._buffer)


def _doctype_end(buffer: bytearray, position: int, depth: int) -> tuple[int | None, int, int]:
    """Scan a DOCTYPE from ``position`` at bracket ``depth``: (its end if read, where to go on, the depth).
    A function of its own so that the scan lets go of the buffer before the buffer grows."""
    for token in _DTD_TOKEN.finditer(buffer, position):
        text = token.group(0)
        if text[:1] in b"\"'" and (len(text) == 1 or text[-1:] != text[:1]):
            break  # a string that goes on past what has been read
        if text.startswith(b"<!--") and not text.endswith(b"-->"):
            break
        position = token.end()
        if text == b"[":
            depth += 1
        elif text == b"]":
            depth = max(depth - 1, 0)
        elif text == b">" and depth == 0:
            return position, position, depth
    return None, position, depth


def _raw(
    number: int, line: int, data: bytes, size: int, problem: str | None = None, head: bytes = b""
) -> RawRecord:
    return RawRecord(number, line, data, size, problem, record_pmid(head or data))


def _check_encoding(encoding: str, name: str) -> None:
    """Refuse an encoding the records cannot be split in (UTF-16 and the like) or that nobody knows."""
    try:
        ascii_compatible = "</PubmedArticle>".encode(codecs.lookup(encoding).name) == b"</PubmedArticle>"
    except LookupError:
        raise InputError(
            name, f"declares the encoding {encoding!r}, which litbot does not know; save it as UTF-8"
        ) from None
    except UnicodeError:
        ascii_compatible = False
    if not ascii_compatible:
        raise InputError(name, f"is written in {encoding}; save it as UTF-8 and try again")
