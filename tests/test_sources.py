"""Whole-input behaviour of ingest.sources: format sniffing, gzip, stdin, refusals, inputs, streaming."""

from __future__ import annotations

import gzip
import io
import itertools
import tracemalloc
from pathlib import Path

import pytest

from ingest.articles import Article, InputError, ParseEvent, Skipped
from ingest.sources import FORMATS, detect_format, expand_inputs, read_input

FIXTURES = Path(__file__).parent / "fixtures"
MEDLINE = FIXTURES / "medline" / "pubmed_result2.txt"
XML = FIXTURES / "pubmed-xml"
SEED = FIXTURES / "seed" / "gut-microbiota-hcc-drug-resistance.txt"
JSONL = FIXTURES / "beir-pubmedqa-mini" / "corpus.jsonl"

# One real example of every format, and what it must come out as.
EXAMPLES = {
    "medline": (MEDLINE, 4),
    "pubmed_xml": (XML / "pubmed2.xml", 2),
    "jsonl": (JSONL, 40),
    "pubmed_page": (SEED, 1),
}


def ids(events: list[ParseEvent]) -> list[str]:
    return [e.id for e in events if isinstance(e, Article)]


@pytest.mark.parametrize("fmt", sorted(EXAMPLES))
def test_format_is_sniffed_from_content(fmt: str) -> None:
    path, _ = EXAMPLES[fmt]
    assert detect_format(path.read_bytes()[:8192], "whatever.bin") == fmt
    assert fmt in FORMATS


def test_csv_is_sniffed_from_its_header() -> None:
    assert detect_format(b"pmid,title,abstract\n1,t,a\n", "x") == "csv"
    assert detect_format(b"abstract\nonly one column\n", "one.csv") == "csv"  # the extension breaks the tie


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "is empty"),
        (b" \n\n\t", "is empty"),
        (b"\x00\x01\x02binary\x00junk" * 20, "binary file"),
        (b"%PDF-1.7\n", "is a PDF"),
        (b"PK\x03\x04\x14\x00", "ZIP archive"),
        (b'{\n  "21645374": {\n', "JSON document, not JSON Lines"),
        (b'[{"abstract": "x"}]', "JSON array"),
        (b"<?xml version='1.0'?><foo><bar/></foo>", "root element <foo>"),
        (b"Just some prose that is no known format at all.\n", "not a format litbot reads"),
    ],
)
def test_unreadable_inputs_are_refused_with_a_reason(head: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        detect_format(head, "input.dat")
    assert caught.value.source == "input.dat"


def test_empty_file_and_missing_file_and_folder(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.txt: is empty"):
        list(read_input(str(empty)))
    with pytest.raises(InputError, match="no such file"):
        list(read_input(str(tmp_path / "nope.xml")))
    with pytest.raises(InputError, match="is a folder"):
        list(read_input(str(tmp_path)))


@pytest.mark.parametrize("fmt", sorted(EXAMPLES))
def test_every_format_reads_the_same_gzipped(fmt: str, tmp_path: Path) -> None:
    path, count = EXAMPLES[fmt]
    packed = tmp_path / "download.gz"  # the name says nothing about the format
    packed.write_bytes(gzip.compress(path.read_bytes()))
    plain = list(read_input(str(path)))
    assert len(ids(plain)) == count
    assert ids(list(read_input(str(packed)))) == ids(plain)


def test_unreadable_gzip_is_an_input_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.xml.gz"
    broken.write_bytes(b"\x1f\x8b" + b"this is not deflate data" * 10)
    with pytest.raises(InputError, match="cannot be decompressed"):
        list(read_input(str(broken)))


def test_stdin_dash_reads_any_format_and_names_it() -> None:
    events = list(read_input("-", stdin=io.BytesIO(MEDLINE.read_bytes())))
    assert ids(events) == ["pmid:16403221", "pmid:16377612", "pmid:14871861", "pmid:14630660"]
    assert all(isinstance(e, Article) and e.source.startswith("<stdin>:PMID ") for e in events)
    packed = io.BytesIO(gzip.compress((XML / "pubmed1.xml").read_bytes()))
    events = list(read_input("-", stdin=packed))
    assert ids(events) == ["pmid:9997"] and isinstance(events[0], Skipped) and events[0].source == "<stdin>"


def test_extension_that_lies_is_ignored(tmp_path: Path) -> None:
    as_txt = tmp_path / "records.txt"
    as_txt.write_bytes((XML / "pubmed2.xml").read_bytes())
    assert ids(list(read_input(str(as_txt)))) == ["pmid:11748933", "pmid:11700088"]
    html_as_xml = tmp_path / "efetch.xml"
    html_as_xml.write_bytes((XML / "pubmed3.html").read_bytes())
    with pytest.raises(InputError, match="HTML page"):
        list(read_input(str(html_as_xml)))


# --- expand_inputs --------------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder as users have them: nested data, licences, docs, code, hidden files and a BEIR set."""
    root = tmp_path / "data"
    for name in ("b/deep/z.xml", "b/a.nbib", "a.csv", "c.jsonl.gz", ".hidden.xml", ".git/x.xml"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    for name in ("README.md", "LICENSE-biopython.rst", "LICENSE", "make.py", "notes.md"):
        (root / name).write_text("not data")
    for name in ("beir/corpus.jsonl", "beir/queries.jsonl", "beir/qrels/test.tsv", "beir/LICENSE.md"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")
    return root


def test_folders_are_walked_recursively_and_only_data_is_taken(tree: Path) -> None:
    found = [Path(p).relative_to(tree).as_posix() for p in expand_inputs([str(tree)])]
    assert found == ["a.csv", "b/a.nbib", "b/deep/z.xml", "beir/corpus.jsonl", "c.jsonl.gz"]


def test_globs_stdin_order_and_duplicates(tree: Path) -> None:
    found = expand_inputs([str(tree / "**" / "*.xml"), "-", str(tree / "a.csv"), str(tree / "*.csv")])
    assert found == [str(tree / "b" / "deep" / "z.xml"), "-", str(tree / "a.csv")]
    assert expand_inputs([str(tree / "README.md")]) == [str(tree / "README.md")]  # named: taken as asked


def test_a_spec_that_matches_nothing_is_named(tree: Path) -> None:
    with pytest.raises(InputError) as caught:
        expand_inputs([str(tree / "a.csv"), str(tree / "typo.xml")])
    assert caught.value.source == str(tree / "typo.xml") and caught.value.detail == "no such file or folder"
    with pytest.raises(InputError, match="matches no data files"):
        expand_inputs([str(tree / "*.tsv")])
    (tree / "docs").mkdir()
    (tree / "docs" / "README.md").write_text("x")
    with pytest.raises(InputError, match="holds no data files"):
        expand_inputs([str(tree / "docs")])


def test_fixture_folders_expand_to_their_data() -> None:
    found = [
        Path(p).name for p in expand_inputs([str(FIXTURES / "medline"), str(FIXTURES / "beir-scifact-mini")])
    ]
    assert found == [f"pubmed_result{n}.txt" for n in range(1, 5)] + ["corpus.jsonl"]


# --- streaming ------------------------------------------------------------------------------------------


class CountingStream(io.RawIOBase):
    """An endless stream repeating one record, counting what the reader pulled from it."""

    def __init__(self, prefix: bytes, record: bytes) -> None:
        self._pending = prefix
        self._record = record
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while len(self._pending) < len(buffer):
            self._pending += self._record
        size = len(buffer)
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size


def _xml_parts() -> tuple[bytes, bytes]:
    xml = (XML / "pubmed2.xml").read_bytes()
    start, end = xml.index(b"<PubmedArticle>"), xml.index(b"</PubmedArticle>") + len(b"</PubmedArticle>")
    return xml[:start], xml[start:end]


STREAMS = {
    "medline": (b"", MEDLINE.read_bytes()),
    "pubmed_xml": _xml_parts(),
    "jsonl": (b"", JSONL.read_bytes()),
    "csv": (b"pmid,abstract\n", b'1,"An abstract, quoted"\n'),
}


@pytest.mark.parametrize("fmt", sorted(STREAMS))
def test_parsers_stream_instead_of_reading_everything(fmt: str) -> None:
    stream = CountingStream(*STREAMS[fmt])  # endless: reading it all would never return
    first = list(itertools.islice(read_input("-", stdin=stream), 50))  # type: ignore[arg-type]
    assert len(first) == 50 and all(isinstance(e, Article) for e in first)
    assert stream.bytes_read < 2_000_000


def _peak_memory_reading(path: Path) -> int:
    tracemalloc.start()
    try:
        for _ in read_input(str(path)):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_input_grows(tmp_path: Path) -> None:
    lines = JSONL.read_bytes().splitlines(keepends=True)
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_bytes(b"".join(lines[i % len(lines)] for i in range(100)))
    large.write_bytes(b"".join(lines[i % len(lines)] for i in range(600)))  # 6x the input (~1.2 MB)
    peak_small, peak_large = _peak_memory_reading(small), _peak_memory_reading(large)
    assert peak_large < peak_small * 1.5 + 65_536, (peak_small, peak_large)
    assert peak_large < large.stat().st_size / 2  # reading it whole would take 2-3x its size


def test_symlink_loops_walk_each_real_folder_once_and_list_each_file_once(tmp_path: Path) -> None:
    """Issue 26 (Broken 8): `sub/up -> ..` and `sub/self -> ../sub` made a glob run past 300 s at 800 MB and list
    one file 41 times. Links are followed (a linked data folder is read), loops end at their first repeat, and a
    file reached under two names is listed once."""
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "a.jsonl").write_text("{}")
    (root / "sub" / "b.jsonl").write_text("{}")
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "self").symlink_to("../sub")
    (root / "alias.jsonl").symlink_to("a.jsonl")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "c.jsonl").write_text("{}")
    (root / "linked").symlink_to(elsewhere)
    expected = [str(root / "a.jsonl"), str(root / "linked" / "c.jsonl"), str(root / "sub" / "b.jsonl")]
    assert expand_inputs([str(root)]) == expected
    assert expand_inputs([str(root / "**" / "*.jsonl")]) == expected
    assert expand_inputs([str(root / "**")]) == expected
    assert (
        expand_inputs([str(root), str(root / "sub" / "self" / "b.jsonl"), str(root / "*.jsonl")]) == expected
    )
