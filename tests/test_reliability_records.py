"""One bad record costs one record (issue 26): damage inside one record of a PubMed XML file, an efetch batch,
a MEDLINE file, a CSV or JSONL stream spoils that record only; everything else goes in, and the bad one is named
(file, record, PMID when it can be read)."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.articles import Article, ParseEvent, Skipped
from ingest.limits import MAX_XML_RECORD_BYTES
from ingest.settings import Settings
from ingest.sources import parse_pubmed_xml, read_input
from ingest.store import open_store
from tests.cli_runner import run_litbot
from tests.embeddings_stub import EmbeddingsStub
from tests.eutils_stub import EutilsStub, running_stub

RECORD = (
    '<PubmedArticle><MedlineCitation Status="MEDLINE"><PMID Version="1">{pmid}</PMID><Article>'
    "<ArticleTitle>Trial {pmid} of headgear</ArticleTitle><Abstract><AbstractText>{body}</AbstractText></Abstract>"
    "</Article></MedlineCitation></PubmedArticle>\n"
)
PROLOG = (
    '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st '
    'January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
)
# What one record may hold that a strict XML parser refuses (issue 26, Broken 1).
DAMAGE = {
    "nul-byte": b"Headgear \x00 did not help.",
    "unescaped-ampersand": b"Headgear & helmets did not help.",
    "nesting-over-256": b"<i>" * 300 + b"deep" + b"</i>" * 300,
    "invalid-utf8": b"Headgear \xff\xfe did not help.",
}


def xml_file(count: int, bad: int | None = None, damage: bytes = b"", prolog: str = PROLOG) -> bytes:
    """``count`` records with PMIDs 960001…, record ``bad`` (from 1) holding ``damage`` as its abstract."""
    parts = [prolog.encode()]
    for number in range(1, count + 1):
        body = damage if number == bad else f"Headgear did not prevent concussion, study {number}.".encode()
        parts.append(RECORD.format(pmid=960000 + number, body="@BODY@").encode().replace(b"@BODY@", body))
    parts.append(b"</PubmedArticleSet>\n")
    return b"".join(parts)


def split(events: list[ParseEvent]) -> tuple[list[str], list[Skipped]]:
    return [str(e.pmid) for e in events if isinstance(e, Article)], [
        e for e in events if isinstance(e, Skipped)
    ]


# --- PubMed XML: one bad record costs one record -----------------------------------------------------------------


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_one_bad_record_in_200_costs_only_that_record(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "batch.xml.gz"
    path.write_bytes(gzip.compress(xml_file(200, bad=100, damage=damage)))
    kept, skipped = split(list(read_input(str(path))))
    assert kept == [str(960000 + n) for n in range(1, 201) if n != 100]
    (bad,) = skipped
    assert (bad.source, bad.locator, bad.reason) == ("batch.xml.gz", "PMID 960100", "malformed")
    assert bad.message.startswith("record 100 (line 103) ") and "\n" not in bad.message


def test_an_oversized_an_unterminated_and_a_truncated_record_each_cost_one() -> None:
    data = xml_file(6, bad=2, damage=b"x" * (MAX_XML_RECORD_BYTES + 1))
    data = data.replace(
        b"study 4.</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>", b"study 4."
    )
    data = data[: data.index(b"study 6.")]  # the input ends inside record 6
    kept, skipped = split(list(parse_pubmed_xml(io.BytesIO(data), "cut.xml")))
    assert kept == ["960001", "960003", "960005"]
    assert [(s.locator, s.message.split(" (")[0]) for s in skipped] == [
        ("PMID 960002", "record 2"),
        ("PMID 960004", "record 4"),
        ("PMID 960006", "the XML breaks off inside record 6"),
    ]
    assert "is 16 MB, over the 16 MB a PubMed XML record may take; skipped unread" in skipped[0].message
    assert "no end tag" in skipped[1].message


LAUGHS = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10))


@pytest.mark.parametrize(
    ("declared", "used", "expected"),
    [
        (
            LAUGHS,
            "&l9;",
            "uses &l9; at line 6, an entity the file's DOCTYPE builds out of other entities (an XML bomb)",
        ),
        ('<!ENTITY xxe SYSTEM "file:///etc/passwd">', "&xxe;", "uses &xxe; at line 6, an external entity"),
        ('<!ENTITY nb "&#160;">', "&nb;", "uses &nb; at line 6, an entity declared in the file's DOCTYPE"),
        ("", "&nbsp;", "uses &nbsp; at line 6, an entity that is declared nowhere"),
    ],
    ids=["billion-laughs", "external", "plain", "undeclared"],
)
def test_a_record_using_an_entity_is_skipped_and_named_and_the_others_kept(
    declared: str, used: str, expected: str
) -> None:
    """The decision (issue 23, item 1): litbot expands no entity. The records before the first use of a bomb
    are good data, and so are those after it; each record using one is skipped with a message saying what the
    entity is. The same on every lxml (the suite runs it on whatever is installed)."""
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{declared}]>\n<PubmedArticleSet>\n'
    data = xml_file(5, bad=3, damage=f"Headgear {used} did not help.".encode(), prolog=prolog)
    kept, skipped = split(list(parse_pubmed_xml(io.BytesIO(data), "doc.xml")))
    assert kept == ["960001", "960002", "960004", "960005"]
    assert [s.locator for s in skipped] == ["PMID 960003"]
    assert skipped[0].message.startswith(f"record 3 (line 6) {expected}"), skipped[0].message


def test_a_doctype_holding_record_tags_and_brackets_is_skipped_as_a_unit() -> None:
    tricky = "<!ENTITY t \"<PubmedArticle>]>\"> <!-- ]> <PubmedArticle> --> <!ATTLIST x y CDATA '>'>"
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{tricky}]>\n<PubmedArticleSet>\n'
    kept, skipped = split(list(parse_pubmed_xml(io.BytesIO(xml_file(3, prolog=prolog)), "doc.xml")))
    assert (kept, skipped) == (["960001", "960002", "960003"], [])


def test_a_declared_8_bit_encoding_is_read_in_every_record() -> None:
    prolog = PROLOG.replace("utf-8", "ISO-8859-1")
    data = xml_file(3, bad=2, damage="Caf\u00e9 au lait did not help.".encode("latin-1"), prolog=prolog)
    events = list(parse_pubmed_xml(io.BytesIO(data), "latin.xml"))
    assert [e.abstract for e in events if isinstance(e, Article)][1] == "Caf\u00e9 au lait did not help."


# --- an efetch batch -------------------------------------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[EutilsStub]:
    yield from running_stub()


def test_a_bad_record_in_an_efetch_batch_costs_only_itself(
    stub: EutilsStub, hashed_embeddings: EmbeddingsStub
) -> None:
    """5 matching, record 2 bad: the 4 good ones are stored, the bad one named by PMID; a rerun stores nothing
    twice and names it again (nothing is silently lost)."""
    stub.results = ["9997", "11748933", "11700088", "29768149", "30108519"]
    record = stub.records["11748933"]
    stub.records["11748933"] = record.replace(
        b"<AbstractText", b"<AbstractText>\x00</AbstractText><AbstractText", 1
    )
    env = {"LITBOT_EUTILS_URL": stub.url}
    first = run_litbot("ingest", "--pubmed", "headgear", "--json", env=env)
    report = json.loads(first.stdout)
    assert (report["count"], report["fetched"], report["new"], report["skipped_malformed"]) == (5, 5, 4, 1)
    (problem,) = report["problems"]
    assert problem.startswith("efetch: PMID 11748933: record 2 (line ") and "Char 0x0" in problem
    assert first.returncode == 0
    assert stored_pmids() == {"9997", "11700088", "29768149", "30108519"}
    second = json.loads(run_litbot("ingest", "--pubmed", "headgear", "--json", env=env).stdout)
    assert (second["new"], second["unchanged"], second["skipped_malformed"]) == (0, 4, 1)
    assert second["problems"] == [problem]


def test_pmids_missing_from_the_reply_are_named(stub: EutilsStub, hashed_embeddings: EmbeddingsStub) -> None:
    stub.records["11700088"] = stub.records["11700088"].replace(b"<PMID", b"<PMID>x</PMID><Broken", 1)
    done = run_litbot("ingest", "--pmid", "9997,11700088,4242", "--json", env={"LITBOT_EUTILS_URL": stub.url})
    report = json.loads(done.stdout)
    assert report["new"] == 1 and report["skipped_malformed"] == 1
    assert "efetch: record 2: record 2 (line 5) is not well-formed XML" in report["problems"][0]
    assert report["problems"][1:] == [
        "PMID 11700088: not in NCBI's reply (no such record, or unreadable)",
        "PMID 4242: not in NCBI's reply (no such record, or unreadable)",
    ]


def stored_pmids() -> set[str]:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    store = open_store(settings, settings.embedding_model, create=False)
    return {str(meta["pmid"]) for meta in store.iter_article_metadata()}


# --- metadata: bounded per field, stored once per article ----------------------------------------------------

HUGE_PMID = RECORD.replace("Trial {pmid}", "Trial").format(pmid="9" * (9 * 1024 * 1024), body="Huge PMID.")
HUGE_MESH = RECORD.replace(
    "</Article>",
    "</Article><MeshHeadingList>"
    + "".join(
        f"<MeshHeading><DescriptorName>{n:05d}{'M' * 3000}</DescriptorName></MeshHeading>"
        for n in range(4900)
    )
    + "</MeshHeadingList>",
).format(pmid=2, body="Huge MeSH.")
MANY_MESH = RECORD.replace(
    "</Article>",
    "</Article><MeshHeadingList>"
    + "".join(
        f"<MeshHeading><DescriptorName>{n:05d}{'M' * 900}</DescriptorName></MeshHeading>" for n in range(4900)
    )
    + "</MeshHeadingList>",
).format(pmid=3, body="Many MeSH.")


def hostile_metadata_file(path: Path) -> Path:
    good = RECORD.format(pmid=424242, body="Headgear did not prevent concussion in rugby players.")
    path.write_text(PROLOG + HUGE_PMID + HUGE_MESH + MANY_MESH + good + "</PubmedArticleSet>\n")
    return path


def test_oversized_metadata_skips_its_record_with_a_one_line_reason(tmp_path: Path) -> None:
    events = list(read_input(str(hostile_metadata_file(tmp_path / "meta.xml"))))
    kept, skipped = split(events)
    assert kept == ["424242"]
    assert [(s.locator, s.message) for s in skipped] == [
        ("record 1", "a PMID of 9,437,184 characters is not one"),
        ("PMID 2", "a MeSH heading of 3,005 characters, over the 1,000 one may have"),
        ("PMID 3", "MeSH headings of 4,444,300 characters in all, over the 8,000 they may take"),
    ]


def _stored_the_old_way(article: Article, settings: Settings) -> None:
    """Write ``article`` as litbot did before its data moved to chunk 0: every chunk carrying all of it."""
    from ingest.chunking import chunk_articles
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, chunk_metadata, stored_hash
    from ingest.store import ChunkRecord

    embedder = make_embedder(settings)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    (chunks,) = chunk_articles([article], embedder.count_tokens, settings.chunk_tokens, 1)
    digest = stored_hash(article, ingestor.signature)
    whole = chunk_metadata(article, 0, len(chunks), digest)
    vectors = embedder.embed_documents([c.text for c in chunks])
    records = [
        ChunkRecord(c.id, c.text, v, {**whole, "chunk": c.index})
        for c, v in zip(chunks, vectors, strict=True)
    ]
    ingestor.store.write_articles([(article.id, len(chunks), records)])


LONG = {
    "pmid": "777001",
    "title": "Protective equipment in school rugby",
    "journal": "Journal of Sports Safety",
    "year": 2019,
    "authors": ["Evans, Mary", "Okafor, Chidi"],
    "mesh": ["Football", "Head Protective Devices"],
    "abstract": " ".join(
        f"In season {n}, {n + 20} percent of the forwards wore mouthguards and their dental injuries were counted."
        for n in range(50)
    )
    + " Mouthguards halved dental injuries among the forwards in the final season.",
}


@pytest.mark.parametrize("layout", ["chunk 0 only", "every chunk (older stores)"])
def test_a_long_article_is_cited_whole_from_either_store_layout(
    layout: str, tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """Readers (retrieval, citations, export, the lexical index) take an article's data from its chunk 0, so an
    answer found in chunk 3 is cited with title, journal, authors — in stores written either way."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    if layout.startswith("every"):
        _stored_the_old_way(Article(**LONG), settings)
    else:
        data = tmp_path / "long.jsonl"
        data.write_text(json.dumps(LONG) + "\n")
        assert run_litbot("ingest", str(data)).returncode == 0
    store = open_store(settings, settings.embedding_model, create=False)
    assert store.count_chunks() > 2
    answer = json.loads(run_litbot("ask", "Do mouthguards reduce dental injuries?", "--json").stdout)
    (citation,) = answer["citations"]
    assert (citation["pmid"], citation["journal"], citation["year"]) == ("777001", LONG["journal"], 2019)
    assert citation["authors"] == LONG["authors"] and citation["title"] == LONG["title"]
    bibtex = run_litbot("ask", "Do mouthguards reduce dental injuries?", "--cite", "bibtex").stdout
    assert "author = {Evans, Mary and Okafor, Chidi}" in bibtex


@pytest.mark.slow
def test_oversized_metadata_costs_bounded_memory_and_no_store(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """A 9 MB PMID and 14.7 MB of MeSH headings (issue 26: ingest 1.97 / 3.9 GB, store +0.7 / +1.2 GB): each a
    skipped record; the good one stored; memory and the store stay small."""
    from tests.test_reliability_hardening import MAX_RSS_MB, measured

    code, rss, out, err = measured("ingest", str(hostile_metadata_file(tmp_path / "meta.xml")))
    assert rss < MAX_RSS_MB, f"peak RSS {rss} MB"
    assert (
        code == 0 and "read 4: 1 new" in out and "meta.xml: PMID 2: a MeSH heading of 3,005 characters" in err
    )
    assert max(len(line) for line in err.splitlines()) < 300
    store = Path(Settings(_env_file=None).chroma_path)  # type: ignore[call-arg]
    assert sum(f.stat().st_size for f in store.rglob("*") if f.is_file()) < 20 * 2**20
    assert stored_pmids() == {"424242"}


# --- weak spots on the ingest side: one clear line, the right exit status, nothing lost ------------------------

FIXTURES = Path(__file__).parent / "fixtures"


def test_medline_records_without_blank_lines_between_them_stay_apart(tmp_path: Path) -> None:
    text = (FIXTURES / "medline" / "pubmed_result2.txt").read_text()
    glued = tmp_path / "glued.txt"
    glued.write_text("\n".join(line for line in text.splitlines() if line.strip()) + "\n")
    expected = [e.pmid for e in read_input(str(FIXTURES / "medline" / "pubmed_result2.txt"))]
    assert (
        [e.pmid for e in read_input(str(glued))]
        == expected
        == ["16403221", "16377612", "14871861", "14630660"]
    )


def test_a_gzip_followed_by_junk_keeps_what_came_before(tmp_path: Path) -> None:
    lines = [json.dumps({"pmid": n, "abstract": f"Abstract {n}."}) + "\n" for n in (1, 2)]
    data = tmp_path / "download.jsonl.gz"
    data.write_bytes(
        gzip.compress(lines[0].encode()) + gzip.compress(lines[1].encode()) + b"<html>Error</html>\n"
    )
    kept, skipped = split(list(read_input(str(data))))
    assert kept == ["1", "2"]
    assert [(s.locator, s.message) for s in skipped] == [
        ("end of file", "the gzip data is followed by bytes that are not gzip: those were ignored")
    ]


def test_a_csv_header_over_2_mb_is_refused_in_one_short_line(tmp_path: Path) -> None:
    from ingest.articles import InputError

    wide = tmp_path / "wide.csv"
    wide.write_text("pmid,abstract," + ",".join(f"c{i}" for i in range(400_000)) + "\n1,An abstract.\n")
    with pytest.raises(InputError) as caught:
        list(read_input(str(wide)))
    assert caught.value.user_message == (
        "wide.csv: has a header row of 3 MB, over the 2 MB a line may take (line 1): not a CSV litbot can read"
    )
    no_abstract = tmp_path / "cols.csv"
    no_abstract.write_text("pmid," + ",".join(f"{'c' * 200}{i}" for i in range(5_000)) + "\n1,x\n")
    with pytest.raises(InputError) as caught:
        list(read_input(str(no_abstract)))
    assert len(caught.value.user_message) < 1_200 and "(5,001 in all)" in caught.value.user_message


def test_an_unclosed_csv_quote_is_one_skipped_record_not_a_flood(tmp_path: Path) -> None:
    rows = "".join(f"{n},row {n} of text\n" for n in range(10, 400_000))  # 6 MB inside the open quote
    data = tmp_path / "quote.csv"
    data.write_text(f'pmid,abstract\n1,Good one.\n2,"Unclosed quote\n{rows}')
    kept, skipped = split(list(read_input(str(data))))
    assert kept == ["1"]
    assert [(s.locator, s.message) for s in skipped] == [
        (
            "line 3",
            "a quoted cell opens here and never closes: the 399,990 lines after it are inside it and were not "
            "read as rows (close the quote and ingest again)",
        )
    ]
    data.write_text(f'pmid,abstract\n1,Good one.\n2,"Unclosed quote\n{rows}end of the cell",x\n3,Good too.\n')
    kept, skipped = split(list(read_input(str(data))))
    assert kept == ["1", "3"] and [s.locator for s in skipped] == ["line 3"]
    assert "runs on for more than 2 MB, to line 399994" in skipped[0].message


def test_a_damaged_fetch_cursor_is_named_and_the_fetch_starts_over(
    stub: EutilsStub, hashed_embeddings: EmbeddingsStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cursor file with "retstart": "0" (edited by hand) broke every rerun of the command with a TypeError."""
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor
    from ingest.pubmed.eutils import EutilsClient
    from ingest.pubmed.fetch import PubmedFetcher, PubmedQuery
    from tests.eutils_stub import Fault

    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    stub.results = ["9997", "11700088"]
    stub.faults.append(Fault("efetch", 503, b"busy", times=-1, when=lambda p: p["retstart"] == "1"))
    embedder = make_embedder(settings)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    fetcher = PubmedFetcher(EutilsClient(settings, max_retries=0), ingestor, settings.data_dir, batch_size=1)
    assert fetcher.fetch_query(PubmedQuery("headgear")).error is not None
    (cursor,) = (settings.data_dir / "eutils").glob("cursor-*.json")
    cursor.write_text(cursor.read_text().replace('"retstart": 1', '"retstart": "0"'))
    stub.faults.clear()
    done = run_litbot("ingest", "--pubmed", "headgear")
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if "saved progress" in line]
    assert notes == [
        f"note: the saved progress in {cursor} is damaged (retstart: Input should be a valid integer); "
        "starting this fetch over"
    ]
    assert "2 matching, 2 fetched" in done.stdout and "1 new, 0 updated, 1 unchanged" in done.stdout
    assert stored_pmids() == {"9997", "11700088"}


@pytest.mark.parametrize("count", ["abc", "-5", "1e3", ""])
def test_an_esearch_count_that_is_not_a_whole_number_is_one_line(count: str, stub: EutilsStub) -> None:
    from ingest.pubmed.eutils import EutilsClient, EutilsError

    settings = Settings(_env_file=None, eutils_url=stub.url)  # type: ignore[call-arg]
    stub.esearch_reply = f"<eSearchResult><Count>{count}</Count><IdList/></eSearchResult>".encode()
    with EutilsClient(settings, backoff=0.01) as client, pytest.raises(EutilsError) as caught:
        client.esearch("headgear")
    assert caught.value.user_message.startswith(
        f"NCBI esearch failed 3 times; last: an esearch reply whose <Count> is {count!r}, not a whole number"
    )
    assert "\n" not in caught.value.user_message


@pytest.mark.slow
def test_good_jsonl_then_endless_nuls_on_stdin_is_written(hashed_embeddings: EmbeddingsStub) -> None:
    """The good records are stored while the garbage still streams (they used to wait, unwritten, for a group
    to fill; and NULs in the first 8 KB refused the whole stream as binary); Ctrl-C then ends the run, 130."""
    import signal
    import subprocess
    import sys
    import threading
    import time

    from tests.conftest import default_sigint

    litbot = Path(sys.executable).with_name("litbot")
    process = subprocess.Popen(
        [str(litbot), "ingest", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    assert process.stdin is not None
    lines = [
        json.dumps({"pmid": n, "title": "Headgear", "abstract": f"Headgear study {n}."}) for n in (1, 2, 3)
    ]
    process.stdin.write(("\n".join(lines) + "\n").encode())
    stop = threading.Event()

    def garbage() -> None:
        try:
            while not stop.is_set():
                process.stdin.write(b"\0" * 65536)  # type: ignore[union-attr]
        except OSError:
            pass

    writer = threading.Thread(target=garbage, daemon=True)
    writer.start()
    found: set[str] = set()
    deadline = time.monotonic() + 120  # a bound on waiting, not a speed target
    while found != {"1", "2", "3"} and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.5)
        try:
            found = stored_pmids()
        except Exception:  # the store is not there yet
            continue
    process.send_signal(signal.SIGINT)
    stop.set()
    _, err = process.communicate(timeout=60)
    assert found == {"1", "2", "3"}, err.decode()
    assert process.returncode == 130 and b"interrupted" in err


@pytest.mark.slow
def test_ctrl_c_while_stdin_stays_open_exits_130_not_sigabrt(hashed_embeddings: EmbeddingsStub) -> None:
    """The input thread is blocked reading a pipe nobody closes when Ctrl-C ends the run: Python used to abort
    at exit ('could not acquire lock for <_io.BufferedReader name='<stdin>'>', SIGABRT) instead of 130."""
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import default_sigint

    litbot = Path(sys.executable).with_name("litbot")
    process = subprocess.Popen(
        [str(litbot), "ingest", "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint,
    )  # fmt: skip
    assert process.stdin is not None and process.stderr is not None
    record = json.dumps({"pmid": 1, "title": "H", "abstract": "Headgear study."}).encode() + b"\n"
    process.stdin.write(record + b"\0" * 100_000)  # enough for the format to be told, then nothing more
    process.stdin.flush()
    deadline = time.monotonic() + 120  # a bound on waiting, not a speed target
    while time.monotonic() < deadline and not stored_pmids_or_none():
        time.sleep(0.2)  # the record is written once the input is idle: the thread now waits in a read
    process.send_signal(signal.SIGINT)
    returncode = process.wait(timeout=60)  # stdin is still open
    err = process.stderr.read()
    process.stdin.close()
    assert returncode == 130 and b"interrupted" in err and b"Fatal Python error" not in err, err.decode()


def stored_pmids_or_none() -> set[str]:
    try:
        return stored_pmids()
    except Exception:  # the store is not there yet
        return set()
