"""How large one record may be. Anything past these is skipped and named, never read whole into memory.

Real abstracts are far below every limit (PubMed titles stay under ~600 characters, abstracts under ~10,000,
chunks per abstract at 1–3); the limits exist so that one hostile or broken record — a 200 MB JSON line, a
gzip that expands 1,000-fold, a title of a megabyte — costs a skipped record and bounded memory, not the run.
"""

from __future__ import annotations

#: One line of CSV or JSON Lines (and one quoted CSV cell spanning lines), one MEDLINE record (bytes).
MAX_RECORD_BYTES = 2 * 1024 * 1024
#: One PubMed XML record (bytes), held whole while it is parsed; a larger one is dropped as it streams by and
#: the next record read. Larger than MAX_RECORD_BYTES because real records with long reference lists reach a few
#: hundred KB; a record under this is read and its fields are then held to the limits below. (libxml2 refuses a
#: single text node over 10 MB anyway.)
MAX_XML_RECORD_BYTES = 16 * 1024 * 1024
#: Characters of a title (every chunk repeats it).
MAX_TITLE_CHARS = 1_000
#: Characters of an abstract (about 12,000 tokens: some 50 chunks).
MAX_ABSTRACT_CHARS = 50_000
#: Names in one list field: authors, affiliations, MeSH headings, keywords.
MAX_LIST_ITEMS = 5_000
#: Characters of one name: an author, an affiliation, a MeSH heading, a keyword, a publication type, a journal,
#: a source's own id (real ones stay under a few hundred).
MAX_NAME_CHARS = 1_000
#: Characters of all MeSH headings of a record, and of all its publication types (real records: under 2,000):
#: they are stored with the article, on its chunk 0, and read back with every answer citing it.
MAX_METADATA_CHARS = 8_000
#: Chunks one article may make.
MAX_CHUNKS = 64
#: A gzip stream may expand this many times its compressed size once past GZIP_CHECK_AFTER bytes.
GZIP_MAX_RATIO = 100
GZIP_CHECK_AFTER = 64 * 1024 * 1024


def size(count: int) -> str:
    """``2 MB``-style size for messages."""
    return f"{count / (1024 * 1024):.0f} MB" if count >= 1024 * 1024 else f"{count:,} bytes"
