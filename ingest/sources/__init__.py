"""Source parsers: every supported input format in, :class:`~ingest.articles.Article` records out.

Public entry points::

    paths = expand_inputs(["data/", "more/*.xml.gz", "-"])   # files, folders, globs, stdin
    for event in read_input(paths[0]):                        # Article | Skipped, streamed
        ...

``FORMATS`` describes each format in one line (for ``--help``); ``accepted_fields()`` lists the CSV/JSONL
column names. One module per format (``medline``, ``pubmed_xml``, ``tabular``, ``pubmed_page``), each a
generator ``parse_<format>(stream, source_name)``, so memory stays flat however large the input.
"""

from .detect import detect_format
from .inputs import expand_inputs
from .medline import parse_medline
from .pubmed_page import parse_pubmed_page
from .pubmed_xml import parse_pubmed_xml
from .reader import FORMATS, read_input
from .tabular import accepted_fields, parse_csv, parse_jsonl

__all__ = [
    "FORMATS",
    "accepted_fields",
    "detect_format",
    "expand_inputs",
    "parse_csv",
    "parse_jsonl",
    "parse_medline",
    "parse_pubmed_page",
    "parse_pubmed_xml",
    "read_input",
]
