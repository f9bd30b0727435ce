"""CSV and JSON Lines on real records: BEIR corpora (PubMedQA, SciFact), the bundled sample, exports."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import json
import logging
from pathlib import Path

import pytest

from ingest.articles import Article, InputError, ParseEvent, Skipped, clean_text
from ingest.sample import sample_paths
from ingest.sources import accepted_fields, expand_inputs, parse_csv, parse_jsonl, read_input

FIXTURES = Path(__file__).parent / "fixtures"
BEIR_PUBMEDQA = FIXTURES / "beir-pubmedqa-mini"
BEIR_SCIFACT = FIXTURES / "beir-scifact-mini"
REPO = Path(__file__).resolve().parents[1]


def read(path: Path | str) -> list[ParseEvent]:
    return list(read_input(str(path)))


def only_articles(events: list[ParseEvent]) -> list[Article]:
    assert all(isinstance(e, Article) for e in events), [e for e in events if isinstance(e, Skipped)]
    return [e for e in events if isinstance(e, Article)]


def corpus_lines(folder: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (folder / "corpus.jsonl").read_text().splitlines()]


def test_beir_pubmedqa_folder_ingests_its_corpus_as_pubmed_articles() -> None:
    assert expand_inputs([str(BEIR_PUBMEDQA)]) == [str(BEIR_PUBMEDQA / "corpus.jsonl")]  # not queries/qrels
    articles = only_articles(read(BEIR_PUBMEDQA / "corpus.jsonl"))
    lines = corpus_lines(BEIR_PUBMEDQA)
    assert len(articles) == len(lines) == 40
    for article, line in zip(articles, lines, strict=True):
        assert article.pmid == line["_id"] and article.id == f"pmid:{line['_id']}"
        assert article.url == f"https://pubmed.ncbi.nlm.nih.gov/{line['_id']}/"
        assert article.title == "" and article.abstract == clean_text(str(line["text"]))
    first = articles[0]
    assert (first.year, first.date) == (2011, "2011")  # metadata.year
    assert first.mesh == ["Alismataceae", "Apoptosis", "Cell Differentiation", "Mitochondria", "Plant Leaves"]
    assert first.source == "corpus.jsonl:line 1"


def test_beir_scifact_ids_are_source_ids_not_pmids() -> None:
    articles = only_articles(read(BEIR_SCIFACT / "corpus.jsonl"))
    lines = corpus_lines(BEIR_SCIFACT)
    assert [a.id for a in articles] == [f"src:{line['_id']}" for line in lines]
    assert all(a.pmid is None and a.url is None and a.title for a in articles)
    assert articles[0].title.startswith("Microstructural development of human newborn cerebral white matter")
    # the mini qrels only reference documents of the mini corpus
    qrels = list(csv.DictReader((BEIR_SCIFACT / "qrels" / "train.tsv").open(), delimiter="\t"))
    assert qrels and {row["corpus-id"] for row in qrels} <= {str(line["_id"]) for line in lines}


def test_jsonl_bad_lines_are_skipped_with_their_line_number(tmp_path: Path) -> None:
    good = (BEIR_PUBMEDQA / "corpus.jsonl").read_text().splitlines()[:3]
    broken = tmp_path / "export.jsonl"
    broken.write_text(
        "\n".join([good[0], good[1][:50], good[1], "[1, 2]", "", good[2], '{"pmid": "1"}']) + "\n"
    )
    events = read(broken)
    assert [type(e).__name__ for e in events] == [
        "Article",
        "Skipped",
        "Article",
        "Skipped",
        "Article",
        "Skipped",
    ]
    bad_json, not_object, no_abstract = (e for e in events if isinstance(e, Skipped))
    assert (bad_json.locator, bad_json.reason) == ("line 2", "malformed")
    assert bad_json.message.startswith("invalid JSON") and bad_json.describe().startswith(
        "export.jsonl: line 2: "
    )
    assert (not_object.locator, not_object.message) == ("line 4", "a JSON list, not an object")
    assert (no_abstract.locator, no_abstract.reason) == ("line 7", "no_abstract")
    assert isinstance(events[4], Article) and events[4].source == "export.jsonl:line 6"


def test_jsonl_sections_key_and_aliases() -> None:
    record = {
        "PubMed_ID": 1571683.0,  # as a spreadsheet round-trip writes it
        "Article_Title": "Storage of vaccines",
        "sections": [{"label": "OBJECTIVE", "text": "To assess quality."}, {"label": "", "text": "More."}],
        "Venue": "BMJ",
        "Publication_Year": "1992",
        "Author_List": ["Haworth EA", "Booy R"],
        "Mesh_Terms": "Vaccines; Refrigeration",
        "url": "https://doi.org/10.1136/BMJ.X",
    }
    (article,) = list(parse_jsonl([json.dumps(record)], "x.jsonl"))
    assert isinstance(article, Article)
    assert article.pmid == "1571683" and article.title == "Storage of vaccines" and article.journal == "BMJ"
    assert article.abstract == "OBJECTIVE: To assess quality. More."  # built from the sections
    assert [s.label for s in article.sections] == ["OBJECTIVE", ""]
    assert (article.year, article.authors, article.mesh) == (
        1992,
        ["Haworth EA", "Booy R"],
        ["Vaccines", "Refrigeration"],
    )
    assert article.doi == "10.1136/bmj.x"  # from the doi.org link


def test_accepted_fields_are_documented() -> None:
    fields = accepted_fields()
    assert fields["pmid"] == ("pmid", "pubmed_id", "pubmedid")
    assert {"text", "abstract_text", "body", "contexts"} <= set(fields["abstract"])
    assert {"journal_title", "source", "venue"} <= set(fields["journal"])
    assert {"_id", "id"} <= set(fields["id"]) and "sections" in fields
    from ingest.sources import tabular

    assert all(name in (tabular.__doc__ or "") for names in fields.values() for name in names)


def _csv_rows(articles: list[Article]) -> list[list[str]]:
    return [
        [
            a.pmid or "",
            a.title,
            a.abstract,
            "Journal X",
            str(a.year or ""),
            "; ".join(a.mesh),
            "Doe, J; Roe, R",
        ]
        for a in articles
    ]


def test_csv_with_aliases_quoted_newlines_and_an_empty_abstract(tmp_path: Path) -> None:
    articles = only_articles(read(BEIR_PUBMEDQA / "corpus.jsonl"))[:3]
    rows = _csv_rows(articles)
    rows[0][2] = rows[0][2].replace(". ", ".\n", 2)  # a quoted cell spanning three lines
    rows[1][2] = ""  # no abstract
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["PMID", "Article Title", "Abstract", "Journal_Title", "pub_year", "MeSH Terms", "Authors"]
        )
        writer.writerows(rows)
    events = read(path)
    assert [type(e).__name__ for e in events] == ["Article", "Skipped", "Article"]
    first, skipped, third = events
    assert isinstance(first, Article) and isinstance(third, Article) and isinstance(skipped, Skipped)
    assert first.pmid == articles[0].pmid and first.abstract == articles[0].abstract
    assert (first.journal, first.year, first.mesh) == ("Journal X", articles[0].year, articles[0].mesh)
    assert first.authors == ["Doe, J", "Roe, R"] and first.source == "export.csv:line 2"
    assert (skipped.locator, skipped.reason) == ("line 5", "no_abstract")  # record 1 took lines 2-4
    assert third.source == "export.csv:line 6" and third.pmid == articles[2].pmid


def test_tsv_and_text_column_alias(tmp_path: Path) -> None:
    article = only_articles(read(BEIR_SCIFACT / "corpus.jsonl"))[0]
    path = tmp_path / "scifact.tsv"
    path.write_text(f"_id\ttitle\ttext\n{article.source_id}\t{article.title}\t{article.abstract}\n")
    (parsed,) = read(path)
    assert isinstance(parsed, Article)
    assert (parsed.id, parsed.title, parsed.abstract) == (article.id, article.title, article.abstract)


def test_csv_without_an_abstract_column_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "pubmed-export.csv"  # the shape of PubMed's own CSV export
    path.write_text(
        "PMID,Title,Authors,Citation,Journal/Book,Publication Year,DOI\n123,A title,X Y,c,J,2020,\n"
    )
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.source == "pubmed-export.csv"
    assert (
        "columns found: pmid, title, authors, citation, journal/book, publication_year, doi"
        in caught.value.detail
    )
    assert "PubMed format" in caught.value.detail


def test_cp1252_csv_is_decoded_not_mangled(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    title, abstract = "Caf\u00e9 \u201cau lait\u201d spots", "Mean 5 \u00b5g \u2013 n\u00e4ive cohort."
    text = f"pmid,title,abstract\n1,{title},{abstract}\n"
    path = tmp_path / "excel.csv"
    path.write_bytes(text.encode("cp1252"))
    with caplog.at_level(logging.WARNING, logger="ingest.sources.streams"):
        (article,) = read(path)
    assert isinstance(article, Article)
    assert (article.title, article.abstract) == (title, abstract)
    assert "excel.csv: not valid UTF-8" in caplog.text and "Windows-1252" in caplog.text


def test_utf8_bom_header_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffabstract,year\nSome text \u00e9.,2020\n".encode())
    (article,) = read(path)
    assert isinstance(article, Article) and article.abstract == "Some text \u00e9." and article.year == 2020


def test_broken_quotes_are_malformed_rows_and_reading_goes_on() -> None:
    rows = [
        "abstract,n",
        "first abstract,1",
        '"stray"quote,2',
        "third abstract,3",
        '"never closed,4',
        "tail,5",
    ]
    events = list(parse_csv([row + "\n" for row in rows], "q.csv"))
    assert [(type(e).__name__, e.source if isinstance(e, Article) else e.locator) for e in events] == [
        ("Article", "q.csv:line 2"),
        ("Skipped", "line 3"),
        ("Article", "q.csv:line 4"),
        ("Skipped", "line 5"),
    ]
    assert isinstance(events[3], Skipped) and "unexpected end of data" in events[3].message


# --- the bundled sample ------------------------------------------------------------------------------------


def test_sample_paths_are_package_data() -> None:
    paths = sample_paths()
    assert [p.name for p in paths] == ["pubmedqa-1000.jsonl.gz", "gut-microbiota-hcc-drug-resistance.txt"]
    assert all(p.is_file() for p in paths) and (paths[0].parent / "LICENSE-pubmedqa").is_file()


def test_sample_ingests_as_1000_sectioned_pubmed_abstracts() -> None:
    events = read(sample_paths()[0])
    articles = only_articles(events)
    assert len(articles) == 1000 and len({a.pmid for a in articles}) == 1000
    assert [a.pmid for a in articles] == sorted((a.pmid for a in articles), key=lambda p: int(p or 0))
    assert all(a.title and a.sections and a.sections[-1].label == "CONCLUSIONS" for a in articles)
    beir = {a.pmid: a for a in only_articles(read(BEIR_PUBMEDQA / "corpus.jsonl"))}
    for article in articles:
        if article.pmid in beir:  # the same abstract text as BEIR's, plus its section labels
            assert article.abstract == beir[article.pmid].abstract
            assert article.year == beir[article.pmid].year and article.mesh == beir[article.pmid].mesh


def _make_sample_module() -> object:
    spec = importlib.util.spec_from_file_location("make_sample", REPO / "bench" / "make_sample.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_sample_is_byte_stable(tmp_path: Path) -> None:
    make_sample = _make_sample_module()
    source = tmp_path / "ori_pqal.json"
    entries: dict[str, dict[str, object]] = {
        "9488747": {"CONTEXTS": ["b1", "b2"], "LABELS": ["BACKGROUND", "RESULTS"], "LONG_ANSWER": "c."},
        "10135926": {"CONTEXTS": ["a."], "LABELS": ["METHODS"], "LONG_ANSWER": "d.", "YEAR": "1994"},
    }
    entries["9488747"] |= {"YEAR": None, "MESHES": ["Infant"]}
    source.write_text(json.dumps(entries))
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b" / "a.jsonl.gz"
    make_sample.build(source, first)  # type: ignore[attr-defined]
    make_sample.build(source, second)  # type: ignore[attr-defined]
    assert first.read_bytes() == second.read_bytes()
    lines = [json.loads(line) for line in gzip.decompress(first.read_bytes()).splitlines()]
    assert [line["pmid"] for line in lines] == ["9488747", "10135926"]  # numeric order
    assert lines[0] == {
        "pmid": "9488747",
        "title": "",
        "abstract": "b1 b2 c.",
        "sections": [
            {"label": "BACKGROUND", "text": "b1"},
            {"label": "RESULTS", "text": "b2"},
            {"label": "CONCLUSIONS", "text": "c."},
        ],
        "year": None,
        "mesh": ["Infant"],
    }
    assert lines[1]["year"] == 1994


def test_committed_sample_matches_its_source(tmp_path: Path) -> None:
    source = REPO.parent / "shared" / "data" / "pubmedqa" / "ori_pqal.json"
    if not source.is_file():
        pytest.skip("shared/data is not beside this checkout")
    rebuilt = tmp_path / "pubmedqa-1000.jsonl.gz"
    _make_sample_module().build(source, rebuilt)  # type: ignore[attr-defined]
    assert rebuilt.read_bytes() == sample_paths()[0].read_bytes()
