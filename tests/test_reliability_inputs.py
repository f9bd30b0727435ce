"""Bad input, property-based: every parser behind ``read_input`` on temp files fed random, cut, mis-encoded,
oversized and hostile content.

The contract under test (ingest.sources.read_input): a whole-file problem is an :class:`InputError` whose
message names the file; a bad record is a :class:`Skipped` naming the file and the record; every good record
still comes out; nothing else ever escapes. ``RELIABILITY_FUZZ_EXAMPLES`` raises the number of cases per
property (bench/soak.py runs thousands); the default keeps the suite fast.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.articles import Article, InputError, Skipped, clean_text
from ingest.sources import read_input

from .conftest import FIXTURES, MINI_CORPUS

EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "60"))
fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

REAL_FILES = [
    *sorted((FIXTURES / "medline").glob("*.txt")),
    *sorted((FIXTURES / "pubmed-xml").glob("pubmed*.xml")),
    FIXTURES / "pubmed-xml" / "test_current_medline.xml.gz",
    MINI_CORPUS / "pubmedqa-mini.jsonl",
    MINI_CORPUS / "gut-microbiota-hcc-drug-resistance.txt",
    FIXTURES / "beir-scifact-mini" / "corpus.jsonl",
]
CORPUS_LINES = (MINI_CORPUS / "pubmedqa-mini.jsonl").read_text(encoding="utf-8").splitlines()
CORPUS = [json.loads(line) for line in CORPUS_LINES]
# Letters whose Windows-1252 bytes (0xC0-0xFF) never continue a UTF-8 sequence, so the decoder's documented
# "UTF-8 until the first invalid byte" cannot mistake them for UTF-8.
CP1252_ALPHABET = st.sampled_from(list("abcdefXYZ 0123.,;:()-'") + list("éèêëàâäöüßçñÉÖÜ"))
_counter = iter(range(10**9))


def write(tmp_path: Path, data: bytes, suffix: str = ".dat") -> Path:
    path = tmp_path / f"input-{next(_counter)}{suffix}"
    path.write_bytes(data)
    return path


def read_all(path: Path) -> tuple[list[Article], list[Skipped], InputError | None]:
    """Run the real reader to the end and check the contract every input must keep, whatever it holds."""
    articles: list[Article] = []
    skipped: list[Skipped] = []
    try:
        for event in read_input(str(path)):
            if isinstance(event, Article):
                assert event.source.startswith(f"{path.name}:") and len(event.source) > len(path.name) + 1
                assert event.abstract.strip()
                articles.append(event)
            else:
                assert isinstance(event, Skipped), event
                assert event.source == path.name and event.locator and event.message
                assert event.reason in {"no_abstract", "malformed"}
                assert path.name in event.describe()
                skipped.append(event)
    except InputError as error:
        assert path.name in error.user_message and "Traceback" not in error.user_message
        return articles, skipped, error
    return articles, skipped, None


# --- random bytes -------------------------------------------------------------------------------------------


@fuzz
@given(
    data=st.one_of(
        st.binary(max_size=4096),
        st.text(max_size=2048).map(lambda t: t.encode("utf-8", "surrogatepass")),
        st.lists(st.sampled_from(["PMID- 1", "AB  - x", "<PubmedArticleSet>", "{", "}", ",", "\n", "a"])).map(
            lambda parts: "".join(parts).encode()
        ),
    ),
    suffix=st.sampled_from([".txt", ".xml", ".csv", ".jsonl", ".nbib", ""]),
    gzipped=st.booleans(),
)
@example(data=b"!\t!\r ", suffix=".txt", gzipped=False)  # a carriage return inside a CSV header row
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, suffix: str, gzipped: bool) -> None:
    read_all(write(tmp_path, gzip.compress(data) if gzipped else data, suffix))


@pytest.mark.parametrize(
    "data",
    [
        "\u0085".encode(),  # only Unicode whitespace (NEL): bytes.strip() keeps it, str.strip() does not
        "\u2028\u2029 \u3000\n".encode(),
        b"\x1c\x1d\x1e",
    ],
    ids=["nel", "line-separators", "info-separators"],
)
def test_unicode_only_whitespace_is_refused_as_empty_not_a_crash(tmp_path: Path, data: bytes) -> None:
    articles, _, error = read_all(write(tmp_path, data))
    assert error is not None and not articles


# --- truncated real files ------------------------------------------------------------------------------------


def _pmids_completed_before(data: bytes, cut: int) -> set[str]:
    """PMIDs of PubMed XML records whose closing tag lies wholly before ``cut``."""
    done = set()
    for match in re.finditer(rb"<PubmedArticle>.*?</PubmedArticle>", data[:cut], re.DOTALL):
        pmid = re.search(rb"<PMID[^>]*>(\d+)</PMID>", match.group(0))
        if pmid and re.search(rb"<AbstractText", match.group(0)):
            done.add(pmid.group(1).decode())
    return done


@fuzz
@given(source=st.sampled_from(REAL_FILES), fraction=st.floats(0.0, 1.0), regzip=st.booleans())
def test_truncated_real_files_keep_the_records_before_the_cut(
    tmp_path: Path, source: Path, fraction: float, regzip: bool
) -> None:
    data = source.read_bytes()
    if source.suffix == ".gz":
        data = gzip.decompress(data)
    cut = int(len(data) * fraction)
    piece = data[:cut]
    path = write(tmp_path, gzip.compress(piece) if regzip else piece, source.suffix.replace(".gz", ""))
    articles, _, error = read_all(path)
    if ".xml" in source.name:
        expected = _pmids_completed_before(data, cut)
        assert expected <= {a.pmid for a in articles}, (error, expected)
    elif source.suffix == ".jsonl":
        complete = data[:cut].count(b"\n")
        got = {a.source for a in articles}
        assert {f"{path.name}:line {n}" for n in range(1, complete + 1)} <= got


def test_gzip_cut_mid_stream_keeps_earlier_records(tmp_path: Path) -> None:
    packed = gzip.compress((MINI_CORPUS / "pubmedqa-mini.jsonl").read_bytes())
    articles, skipped, error = read_all(write(tmp_path, packed[: len(packed) // 2], ".jsonl.gz"))
    assert error is None and len(articles) > 5
    assert skipped[-1].reason == "malformed" and "gzip" in skipped[-1].message


# --- wrong encodings -----------------------------------------------------------------------------------------


@fuzz
@given(abstract=st.text(CP1252_ALPHABET, min_size=1, max_size=300), fmt=st.sampled_from(["csv", "jsonl"]))
def test_windows_1252_files_read_their_text_right(tmp_path: Path, abstract: str, fmt: str) -> None:
    if not clean_text(abstract):
        abstract += "x"
    if fmt == "csv":
        quoted = abstract.replace('"', '""')
        text = f'pmid,title,abstract\n123,Title,"{quoted}"\n456,Second,plain second abstract\n'
    else:
        rows = [{"pmid": "123", "abstract": abstract}, {"pmid": "456", "abstract": "plain second abstract"}]
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    articles, skipped, error = read_all(write(tmp_path, text.encode("cp1252"), f".{fmt}"))
    assert error is None and not skipped
    assert [a.abstract for a in articles] == [clean_text(abstract), "plain second abstract"]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize(
    "source", [MINI_CORPUS / "pubmedqa-mini.jsonl", FIXTURES / "medline" / "pubmed_result1.txt"]
)
def test_utf16_is_refused_with_a_clear_message(tmp_path: Path, codec: str, source: Path) -> None:
    data = source.read_text(encoding="utf-8").encode(codec)
    articles, _, error = read_all(write(tmp_path, data, source.suffix))
    assert error is not None and not articles
    assert "UTF-16" in error.user_message or "binary" in error.user_message


# --- huge fields ---------------------------------------------------------------------------------------------

BIG_ABSTRACT = ("Cells divided rapidly under stress. " * 150_000)[: 5 * 1024 * 1024]
BIG_TITLE = ("A very long title " * 60_000)[: 1024 * 1024]


def _huge(fmt: str) -> bytes:
    if fmt == "jsonl":
        rows = [
            {"pmid": "1", "title": BIG_TITLE, "abstract": BIG_ABSTRACT},
            {"pmid": "2", "abstract": "small"},
        ]
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    if fmt == "csv":
        return f'pmid,title,abstract\n1,"{BIG_TITLE}","{BIG_ABSTRACT}"\n2,t,small\n'.encode()
    if fmt == "medline":
        wrapped = "\n      ".join(BIG_ABSTRACT[i : i + 80] for i in range(0, len(BIG_ABSTRACT), 80))
        return f"PMID- 1\nTI  - {BIG_TITLE}\nAB  - {wrapped}\n\nPMID- 2\nAB  - small\n".encode()
    return (
        "<?xml version='1.0'?>\n<PubmedArticleSet>"
        + "".join(
            f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}</ArticleTitle>"
            f"<Abstract><AbstractText>{abstract}</AbstractText></Abstract></Article></MedlineCitation>"
            "</PubmedArticle>"
            for pmid, title, abstract in [("1", BIG_TITLE, BIG_ABSTRACT), ("2", "t", "small")]
        )
        + "</PubmedArticleSet>\n"
    ).encode()


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "medline", "xml"])
def test_a_huge_record_is_skipped_and_named_and_the_next_record_still_comes(tmp_path: Path, fmt: str) -> None:
    """Past ingest.limits a record is skipped (never read whole); its neighbour goes in."""
    articles, skipped, error = read_all(write(tmp_path, _huge(fmt), f".{fmt}"))
    assert error is None and len(skipped) == 1 and skipped[0].reason == "malformed"
    assert any(word in skipped[0].message for word in ("MB", "characters")), skipped[0].message
    assert [a.pmid for a in articles] == ["2"]


# --- XML bombs and external entities -------------------------------------------------------------------------

_RECORD = (
    "<PubmedArticle><MedlineCitation><PMID>7</PMID><Article><ArticleTitle>t</ArticleTitle>"
    "<Abstract><AbstractText>{body}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>"
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n<PubmedArticleSet>"
    + _RECORD.format(body="&lol9;")
    + "</PubmedArticleSet>\n"
)
QUADRATIC = (
    f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY a "{"x" * 50_000}">]>\n<PubmedArticleSet>'
    + _RECORD.format(body="&a;" * 50_000)
    + "</PubmedArticleSet>\n"
)
EXTERNAL = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    "<PubmedArticleSet>" + _RECORD.format(body="leak: &xxe; end") + "</PubmedArticleSet>\n"
)
NETWORK = (
    '<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    "<PubmedArticleSet>" + _RECORD.format(body="plain") + "</PubmedArticleSet>\n"
)


@pytest.mark.parametrize(
    "xml", [LAUGHS, QUADRATIC, EXTERNAL, NETWORK], ids=["billion-laughs", "quadratic", "xxe-file", "dtd-url"]
)
def test_xml_bombs_and_external_entities_are_refused_or_left_unexpanded(tmp_path: Path, xml: str) -> None:
    articles, _, error = read_all(write(tmp_path, xml.encode(), ".xml"))
    text = " ".join(a.abstract for a in articles)
    assert len(text) < 10_000, "an entity was expanded"
    assert "root:" not in text
    if xml is LAUGHS:
        assert error is not None or not articles


# --- CSV with missing columns, JSONL with bad lines ----------------------------------------------------------

COLUMNS = ["pmid", "title", "abstract", "journal", "year", "authors"]


@fuzz
@given(
    columns=st.lists(st.sampled_from(COLUMNS), min_size=2, max_size=6, unique=True),  # 1 column: no delimiter
    widths=st.lists(st.integers(0, 8), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", "\t", ";"]),
)
def test_csv_with_missing_columns_and_ragged_rows(
    tmp_path: Path, columns: list[str], widths: list[int], delimiter: str
) -> None:
    lines = [delimiter.join(columns)]
    for row_no, width in enumerate(widths):
        lines.append(delimiter.join(f"v{row_no}c{i}" for i in range(width)))
    articles, skipped, error = read_all(write(tmp_path, ("\n".join(lines) + "\n").encode(), ".csv"))
    if "abstract" not in columns:
        assert error is not None and "no abstract column" in error.user_message
        return
    assert error is None
    position = columns.index("abstract")
    with_abstract = [n for n, width in enumerate(widths) if width > position]
    assert [a.abstract for a in articles] == [f"v{n}c{position}" for n in with_abstract]
    assert all(s.locator.startswith("line ") for s in skipped)


_BAD_LINES = st.one_of(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=80).filter(str.strip),
    st.sampled_from(["[1, 2]", "42", '"text"', "null", '{"abstract": ', "{'single': 'quotes'}", "{}"]),
    st.sampled_from(['{"abstract": "x", "year": Infinity}', '{"abstract": "x", "year": NaN}']),
    st.integers(1, 50_000).map(lambda depth: "[" * depth + "]" * depth),
    st.integers(4301, 6000).map(lambda digits: '{"abstract": "x", "pmid": ' + "9" * digits + "}"),
)


@fuzz
@given(plan=st.lists(st.one_of(st.integers(0, len(CORPUS) - 1), _BAD_LINES), min_size=1, max_size=25))
def test_jsonl_bad_lines_are_skipped_by_line_and_good_ones_ingested(
    tmp_path: Path, plan: list[int | str]
) -> None:
    lines = [CORPUS_LINES[item] if isinstance(item, int) else item for item in plan]
    path = write(tmp_path, ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"), ".jsonl")
    articles, skipped, error = read_all(path)
    if error is not None:  # only when the first line makes the file look like something else
        assert not isinstance(plan[0], int)
        return
    good = {n + 1 for n, item in enumerate(plan) if isinstance(item, int)}
    got = {int(a.source.rsplit(" ", 1)[1]) for a in articles}
    assert good <= got
    assert {a.pmid for a in articles} >= {CORPUS[item]["pmid"] for item in plan if isinstance(item, int)}
    assert all(re.fullmatch(r"line \d+", s.locator) for s in skipped)
