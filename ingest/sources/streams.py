"""Byte and text plumbing: look at the first bytes without losing them, gunzip, decode, split lines.

Everything here streams in fixed-size chunks, so memory stays flat however large the input is, and it works
on stdin too (which cannot seek back after the format was sniffed).
"""

from __future__ import annotations

import codecs
import io
import logging
import zlib
from collections.abc import Iterator
from typing import Protocol

from ingest.limits import GZIP_CHECK_AFTER, GZIP_MAX_RATIO, MAX_RECORD_BYTES
from ingest.limits import size as size_text

log = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b"
CHUNK_SIZE = 1 << 16

# Windows-1252 leaves five bytes undefined; those fall back to their Latin-1 meaning so decoding never fails.
_CP1252_HIGH = {
    byte: bytes([byte]).decode("cp1252", errors="ignore") or chr(byte) for byte in range(0x80, 0xA0)
}


class ByteSource(Protocol):
    """Anything with ``read(size) -> bytes``: a file opened in binary, ``sys.stdin.buffer``, a GzipFile."""

    def read(self, size: int = -1, /) -> bytes: ...


class PeekableReader:
    """A binary reader whose first bytes can be inspected (:meth:`head`) and are then read again as usual.

    Each :meth:`read` makes at most one read of the layer below (``read1`` where it has one). That is on
    purpose, and why this is not an ``io.BufferedReader``: a buffered read that gathers several reads drops
    what it gathered when a later one raises, so a gzip stream that breaks off would lose its last good
    records; here they reach the parser first and the error comes on the following read.
    """

    def __init__(self, raw: ByteSource) -> None:
        self._raw = raw
        self._read_once = getattr(raw, "read1", raw.read)
        self._ahead = b""

    def head(self, size: int) -> bytes:
        """Up to ``size`` bytes from the start, not consumed (loops: pipes and gzip give less per read)."""
        parts = [self._ahead]
        length = len(self._ahead)
        while length < size:
            chunk = self._read_once(size - length)
            if not chunk:
                break
            parts.append(chunk)
            length += len(chunk)
        self._ahead = b"".join(parts)
        return self._ahead[:size]

    def read(self, size: int = -1, /) -> bytes:
        if self._ahead:
            if size < 0:
                data, self._ahead = self._ahead + self._raw.read(), b""
                return data
            data, self._ahead = self._ahead[:size], self._ahead[size:]
            return data
        if size < 0:
            return self._raw.read()
        chunk: bytes = self._read_once(size)
        return chunk

    read1 = read

    def seek(self, offset: int, whence: int = 0, /) -> int:
        """Streams (stdin, a gzip inside a gzip) cannot go back."""
        raise io.UnsupportedOperation("this input can only be read forwards")

    @property
    def trailing_garbage(self) -> bool:
        """Whether the input was gzip followed by bytes that are not (see :class:`Gunzip`)."""
        return bool(getattr(self._raw, "trailing_garbage", False))


def open_content(raw: ByteSource) -> PeekableReader:
    """Wrap ``raw``, gunzipping it when it starts with the gzip magic bytes (whatever its name says); a gzip
    stream that expands past ``GZIP_MAX_RATIO`` times what it read is cut off (:class:`ExpansionRefused`)."""
    reader = PeekableReader(raw)
    if reader.head(2) == GZIP_MAGIC:
        counted = _Counted(reader)
        return PeekableReader(_ExpansionGuard(Gunzip(counted), counted))
    return reader


class Gunzip:
    """A gzip stream, member after member, decompressed as read (at most ``size`` bytes out per call).

    Unlike :class:`gzip.GzipFile`, bytes after the last member that are not gzip (an error page appended to a
    download, say) do not cost the data before them: the stream ends there and :attr:`trailing_garbage` says
    so. NUL padding after a member is ignored, as gzip does.
    """

    def __init__(self, raw: ByteSource) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(31)
        self._carry = b""  # compressed bytes read past a member's end: the next member's start
        self._done = False
        self.trailing_garbage = False

    def read(self, size: int = -1, /) -> bytes:
        size = size if size > 0 else CHUNK_SIZE
        while not (self._inflate.eof and not self._next_member()):
            data = self._inflate.unconsumed_tail or self._carry or self._raw.read(CHUNK_SIZE)
            self._carry = b""
            if not data:
                raise EOFError("Compressed file ended before the end-of-stream marker was reached")
            out = self._inflate.decompress(data, size)
            if out:
                return out
        return b""

    read1 = read

    def _next_member(self) -> bool:
        """Start the member after the one that ended; False at the end of the data (garbage noted)."""
        if self._done:
            return False
        rest = self._inflate.unused_data
        while not (rest := rest.lstrip(b"\0")) or len(rest) < len(GZIP_MAGIC):
            more = self._raw.read(CHUNK_SIZE)
            if not more:
                break
            rest += more
        if not rest.startswith(GZIP_MAGIC):
            self._done, self.trailing_garbage = True, bool(rest)
            return False
        self._inflate, self._carry = zlib.decompressobj(31), rest
        return True


class ExpansionRefused(Exception):
    """A gzip stream expands far more than real data does (a gzip bomb, or not what it claims)."""


class _Counted:
    """Counts the compressed bytes read through it."""

    def __init__(self, raw: PeekableReader) -> None:
        self._raw = raw
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._raw.read(size)
        self.count += len(data)
        return data

    read1 = read

    def seek(self, offset: int, whence: int = 0, /) -> int:
        return self._raw.seek(offset, whence)


class _ExpansionGuard:
    """Decompressed bytes, refused once they exceed GZIP_MAX_RATIO times the compressed bytes read."""

    def __init__(self, unzipped: Gunzip, compressed: _Counted) -> None:
        self._unzipped = unzipped
        self._compressed = compressed
        self._out = 0

    def read(self, size: int = -1, /) -> bytes:
        data = self._unzipped.read(size if size >= 0 else CHUNK_SIZE)
        self._out += len(data)
        if self._out > GZIP_CHECK_AFTER and self._out > GZIP_MAX_RATIO * max(self._compressed.count, 1):
            raise ExpansionRefused(
                f"the gzip stream expands more than {GZIP_MAX_RATIO} times its size "
                f"({size_text(self._compressed.count)} gave {size_text(self._out)} so far): refused as a gzip "
                "bomb; the records before this point were read"
            )
        return data

    read1 = read

    @property
    def trailing_garbage(self) -> bool:
        return self._unzipped.trailing_garbage


class Utf8OrCp1252Decoder:
    """Incremental decoder: UTF-8 (a leading BOM dropped) until the first invalid byte, Windows-1252 after it.

    Why this choice: exports from Excel and older Windows tools are cp1252, and for them every byte is
    meaningful (é, “smart quotes”, µ), so decoding them as cp1252 keeps the text right, where
    ``errors="replace"`` would scatter U+FFFD through abstracts. Text before the first invalid byte was
    valid UTF-8 (nearly always plain ASCII, which reads the same either way). The switch is logged once,
    as a warning naming the file, so the user knows why an "é" may look different from the original.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.fallback_at: int | None = None  # byte offset of the first non-UTF-8 byte, once seen
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0  # bytes given to decode() so far
        self._at_start = True

    def decode(self, data: bytes, final: bool = False) -> str:
        if self.fallback_at is not None:
            return _decode_cp1252(data)
        pending_start = self._offset - len(self._utf8.getstate()[0])  # held-back bytes of a split character
        self._offset += len(data)
        try:
            text = self._utf8.decode(data, final)
        except UnicodeDecodeError as error:
            undecoded = bytes(error.object)  # the held-back bytes + data
            self.fallback_at = pending_start + error.start
            log.warning(
                "%s: not valid UTF-8 (first bad byte at offset %d); reading it as Windows-1252",
                self.name,
                self.fallback_at,
            )
            text = undecoded[: error.start].decode("utf-8") + _decode_cp1252(undecoded[error.start :])
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")  # the UTF-8 byte order mark Excel writes
        return text


def _decode_cp1252(data: bytes) -> str:
    return data.decode("latin-1").translate(_CP1252_HIGH)


class TooLongLine(str):
    """Stands in for a line longer than MAX_RECORD_BYTES: empty, with the length it had. Parsers skip the
    record it belonged to and name it; the line itself was never held in memory."""

    length: int

    def __new__(cls, length: int) -> TooLongLine:
        line = super().__new__(cls, "")
        line.length = length
        return line


def iter_lines(
    stream: ByteSource, decoder: Utf8OrCp1252Decoder, limit: int = MAX_RECORD_BYTES
) -> Iterator[str]:
    """Decoded lines, each ending in ``"\\n"`` except perhaps the last; a line longer than ``limit`` characters
    comes out as a :class:`TooLongLine` (read and dropped as it streams by, so memory stays flat).

    Splits on ``"\\n"`` only (``"\\r\\n"`` keeps its ``"\\r"``, which every parser strips): ``str.splitlines``
    would also split on U+2028 and friends, which may legally sit inside a JSON string or a CSV cell.
    """
    partial: list[str] = []
    held = 0  # characters in ``partial``
    dropped = 0  # characters of the current line dropped (it is too long)
    while True:
        chunk = stream.read(CHUNK_SIZE)
        text = decoder.decode(chunk, final=not chunk)
        start = 0
        while (end := text.find("\n", start)) != -1:
            if dropped:
                yield TooLongLine(dropped + end + 1 - start)
                dropped = 0
            else:
                partial.append(text[start : end + 1])
                yield "".join(partial)
            partial.clear()
            held = 0
            start = end + 1
        if start < len(text):
            if dropped:
                dropped += len(text) - start
            else:
                partial.append(text[start:])
                held += len(text) - start
                if held > limit:
                    dropped, held = held, 0
                    partial.clear()
        if not chunk:
            break
    if dropped:
        yield TooLongLine(dropped)
    elif partial:
        yield "".join(partial)
