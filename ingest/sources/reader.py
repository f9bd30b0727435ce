"""Read one input (a file or stdin) of any supported format into parse events.

The steps are always the same: open as bytes, gunzip if the content is gzip, sniff the format from the first
few KB, then hand a stream to that format's parser: bytes for XML (it declares its own encoding), decoded
lines for everything else (UTF-8, falling back to Windows-1252; see :class:`Utf8OrCp1252Decoder`).
"""

from __future__ import annotations

import gzip
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, BinaryIO

from ingest.articles import InputError, ParseEvent, Skipped
from ingest.errors import printable

from .detect import HEAD_SIZE, detect_format
from .inputs import NOT_REGULAR, STDIN
from .medline import parse_medline
from .pubmed_page import parse_pubmed_page
from .pubmed_xml import parse_pubmed_xml
from .streams import (
    ByteSource,
    ExpansionRefused,
    PeekableReader,
    Utf8OrCp1252Decoder,
    iter_lines,
    open_content,
)
from .tabular import parse_csv, parse_jsonl

FORMATS: dict[str, str] = {
    "medline": "PubMed MEDLINE text ('PMID- ' tags; PubMed's 'Save → PubMed format', .txt/.nbib)",
    "pubmed_xml": "PubMed XML (<PubmedArticleSet>) from efetch or the PubMed baseline (.xml, .xml.gz)",
    "csv": "CSV/TSV with a header row and an abstract column (see accepted_fields())",
    "jsonl": "JSON Lines, one article object per line; BEIR corpus.jsonl (_id, title, text, metadata)",
    "pubmed_page": "the text of a PubMed abstract web page (title, journal, affiliation, abstract, DOI)",
}
STDIN_NAME = "<stdin>"

TextParser = Callable[[Iterable[str], str], Iterator[ParseEvent]]
_TEXT_PARSERS: dict[str, TextParser] = {
    "medline": parse_medline,
    "csv": parse_csv,
    "jsonl": parse_jsonl,
    "pubmed_page": parse_pubmed_page,
}
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def read_input(
    spec: str, stdin: BinaryIO | None = None, opened: Callable[[ByteSource], None] | None = None
) -> Iterator[ParseEvent]:
    """Parse events from the file ``spec`` (``"-"``: ``stdin``, default ``sys.stdin.buffer``); ``opened`` is
    handed the raw byte stream once open (its ``tell()`` says how far the parsers have read).

    Any format, gzipped or not. Every Article's ``source`` names the file and record ("pubmed.xml:PMID 1").
    Whole-input problems (missing file, a folder, unknown format, HTML page, broken gzip) raise
    :class:`InputError` when iteration starts; problems with single records come out as :class:`Skipped`.
    A gzip stream that breaks off mid-way, or is followed by bytes that are not gzip, ends with one
    ``malformed`` Skipped after the records before it.
    """
    name = STDIN_NAME if spec == STDIN else printable(Path(spec).name)
    with ExitStack() as stack:
        if spec == STDIN:
            raw: ByteSource = stdin if stdin is not None else sys.stdin.buffer
        else:
            raw = stack.enter_context(_open_file(spec))
        if opened is not None:
            opened(raw)
        content = open_content(raw)
        try:
            head = content.head(HEAD_SIZE)
        except _GZIP_ERRORS as error:
            raise InputError(name, f"looks gzipped but cannot be decompressed ({error})") from error
        fmt = detect_format(head, name)
        try:
            yield from _parse(fmt, content, name)
            if content.trailing_garbage:
                message = "the gzip data is followed by bytes that are not gzip: those were ignored"
                yield Skipped(name, "end of file", "malformed", message)
        except _GZIP_ERRORS as error:
            message = f"the gzip stream breaks off ({error}); the records before the break were read"
            yield Skipped(name, "end of file", "malformed", message)
        except ExpansionRefused as error:
            yield Skipped(name, "gzip stream", "malformed", str(error))


def _open_file(path: str) -> IO[bytes]:
    if os.path.isdir(path):
        raise InputError(path, "is a folder, not a file (expand it with expand_inputs first)")
    if os.path.exists(path) and not stat.S_ISREG(os.stat(path).st_mode):
        raise InputError(path, NOT_REGULAR)
    try:
        return open(path, "rb")  # closed by the caller's ExitStack
    except FileNotFoundError as error:
        raise InputError(path, "no such file") from error
    except OSError as error:
        raise InputError(path, f"cannot be opened ({error.strerror})") from error


def _parse(fmt: str, content: PeekableReader, name: str) -> Iterator[ParseEvent]:
    if fmt == "pubmed_xml":
        return parse_pubmed_xml(content, name)
    return _TEXT_PARSERS[fmt](iter_lines(content, Utf8OrCp1252Decoder(name)), name)
