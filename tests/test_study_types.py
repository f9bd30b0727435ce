"""Publication types and retraction status: parsed from both PubMed formats and CSV/JSONL, mapped to the
small vocabulary, stored per chunk, and an update on re-ingest when they change."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from ingest.articles import Article
from ingest.embeddings import make_embedder
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.sources import read_input
from ingest.store import open_store
from ingest.studytypes import (
    CONCERN,
    NOTICE,
    RETRACTED,
    label_of,
    parse_types,
    retraction_status,
    study_kinds,
)

from .conftest import FIXTURES

XML = FIXTURES / "pubmed-xml"
MEDLINE = FIXTURES / "medline"


def _articles(path: Path) -> dict[str, Article]:
    return {e.pmid or "": e for e in read_input(str(path)) if isinstance(e, Article)}


def test_pubmed_xml_types_map_to_the_vocabulary() -> None:
    rct = _articles(XML / "pubmed-29768149.xml")["29768149"]
    assert "Randomized Controlled Trial" in rct.publication_types
    assert rct.study_types == ["rct", "clinical-trial"] and label_of(rct.study_types) == "RCT"
    assert rct.retraction is None
    observational = _articles(XML / "pubmed4.xml")["27797938"]
    assert observational.study_types == ["observational"]
    baseline = _articles(XML / "test_current_medline.xml.gz")
    assert baseline["28786991"].study_types == ["meta-analysis", "systematic-review", "review"]
    assert label_of(baseline["28786991"].study_types) == "meta-analysis"
    assert baseline["36400559"].study_types == ["review"]
    plain = _articles(XML / "pubmed5.xml")["28775130"]  # "Journal Article" only: unknown, nothing shown
    assert plain.publication_types == ["Journal Article"] and plain.study_types == []
    assert label_of(plain.study_types) == ""


def test_a_real_retracted_record_in_pubmed_xml() -> None:
    """PMID 993 carries both markers: PublicationType "Retracted Publication" and a RetractionIn link."""
    article = _articles(XML / "retracted-993.xml")["993"]
    assert article.retraction == RETRACTED
    assert "Retracted Publication" in article.publication_types
    assert article.study_types == []  # retracted says nothing about the design


def test_each_xml_retraction_marker_alone(tmp_path: Path) -> None:
    text = (XML / "retracted-993.xml").read_text()
    no_type = text.replace("<PublicationType>Retracted Publication</PublicationType>", "")
    only_link = tmp_path / "link.xml"
    only_link.write_text(no_type)
    assert _articles(only_link)["993"].retraction == RETRACTED
    notice = tmp_path / "notice.xml"  # the record that retracts another is a notice, not retracted
    notice.write_text(no_type.replace('RefType="RetractionIn"', 'RefType="RetractionOf"'))
    assert _articles(notice)["993"].retraction == NOTICE
    concern = tmp_path / "concern.xml"
    concern.write_text(no_type.replace('RefType="RetractionIn"', 'RefType="ExpressionOfConcernIn"'))
    assert _articles(concern)["993"].retraction == CONCERN
    neither = tmp_path / "neither.xml"
    neither.write_text(no_type.replace('RefType="RetractionIn"', 'RefType="ErratumIn"'))
    assert _articles(neither)["993"].retraction is None


def _medline_variant(tmp_path: Path, extra: str) -> Article:
    """The real record of pubmed_result1.txt with extra tag lines (as PubMed writes them) appended."""
    record = (MEDLINE / "pubmed_result1.txt").read_text().strip()
    path = tmp_path / "variant.txt"
    path.write_text(record + "\n" + extra.strip() + "\n")
    return next(iter(_articles(path).values()))


def test_medline_types_and_retraction(tmp_path: Path) -> None:
    plain = next(iter(_articles(MEDLINE / "pubmed_result1.txt").values()))
    assert plain.publication_types == ["Journal Article"] and plain.retraction is None
    trial = _medline_variant(tmp_path, "PT  - Randomized Controlled Trial\nPT  - Multicenter Study")
    assert trial.study_types == ["rct"]
    retracted = _medline_variant(tmp_path, "PT  - Retracted Publication\nRIN - Nature. 2003;421:1. PMID: 1")
    assert retracted.retraction == RETRACTED
    by_link = _medline_variant(tmp_path, "RIN - Nature. 2003 Jan 2;421(6918):1.")
    assert by_link.retraction == RETRACTED
    # one word apart, opposite meaning: the notice is not itself retracted
    notice = _medline_variant(tmp_path, "PT  - Retraction of Publication\nROF - Nature. 2002;420:1.")
    assert notice.retraction == NOTICE
    concern = _medline_variant(tmp_path, "ECI - Nature. 2004;430:1.")
    assert concern.retraction == CONCERN


def test_vocabulary_rules() -> None:
    assert study_kinds(["Journal Article", "Research Support, N.I.H., Intramural"]) == []
    assert study_kinds(["Letter"]) == ["other"]
    assert study_kinds(["Journal Article"], mesh=["Humans", "Cohort Studies"]) == ["observational"]
    assert study_kinds([], mesh=["Humans", "Prospective Studies"]) == []  # no types at all: may be a trial
    assert study_kinds(["Randomized Controlled Trial"], mesh=["Cohort Studies"]) == ["rct"]
    assert study_kinds(["Preprint", "Randomized Controlled Trial"]) == ["rct", "preprint"]
    assert label_of(["rct", "preprint"]) == "RCT, preprint"
    assert study_kinds(["RCT", "meta analysis"]) == ["meta-analysis", "rct"]  # litbot's own words work too
    assert retraction_status(["Journal Article"], title="RETRACTED: A study of mice") == RETRACTED
    assert retraction_status(["Journal Article"], title="Retraction of vaccine myths") is None
    assert retraction_status([], title="Expression of Concern: Trial X") == CONCERN
    assert parse_types("RCT, meta-analysis,rct") == ("meta-analysis", "rct")
    assert parse_types("randomised controlled trial, cohort, SR") == (
        "systematic-review",
        "rct",
        "observational",
    )
    with pytest.raises(ValueError, match="unknown study type 'anecdote'"):
        parse_types("rct,anecdote")


def test_csv_and_jsonl_publication_types(tmp_path: Path) -> None:
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(
        "pmid,title,abstract,Publication Type,retracted\n"
        "11,A trial,We randomised 200 adults.,Randomized Controlled Trial; Journal Article,no\n"
        "12,Pooled,We pooled nine trials.,meta-analysis,yes\n"
    )
    rows = _articles(csv_path)
    assert rows["11"].study_types == ["rct"] and rows["11"].retraction is None
    assert rows["12"].study_types == ["meta-analysis"] and rows["12"].retraction == RETRACTED
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(
        json.dumps({"pmid": 21, "abstract": "x y z.", "pub_types": ["Case Reports"]})
        + "\n"
        + json.dumps(
            {"pmid": 22, "abstract": "x y z.", "pt": "Review", "is_retracted": "expression of concern"}
        )
        + "\n"
    )
    rows = _articles(jsonl)
    assert rows["21"].study_types == ["case-report"]
    assert rows["22"].study_types == ["review"] and rows["22"].retraction == CONCERN


def test_hash_of_an_untyped_article_is_unchanged_by_the_new_fields() -> None:
    """Stores built before types existed are not re-embedded wholesale: an article without types or status
    hashes as before (the payload of that time had neither key)."""
    article = Article(abstract="Some abstract.", title="T", pmid="5")
    typed = article.model_copy(update={"publication_types": ["Review"]})
    retracted = article.model_copy(update={"retraction": RETRACTED})
    assert len({article.content_hash(), typed.content_hash(), retracted.content_hash()}) == 3
    import hashlib

    legacy = article.model_dump(exclude={"source", "publication_types", "retraction"}, mode="json")
    expected = hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()[:32]
    assert article.content_hash() == expected
    # a design MeSH heading beside types naming no design gives a study type: stored, so an update for stores
    # built without it; without any publication types (PubMedQA) it stays unknown, the hash as before
    assert article.model_copy(update={"mesh": ["Cohort Studies"]}).study_types == []
    cohort = article.model_copy(update={"mesh": ["Cohort Studies"], "publication_types": ["Journal Article"]})
    legacy = cohort.model_dump(exclude={"source", "publication_types", "retraction"}, mode="json")
    assert cohort.study_types == ["observational"]
    assert (
        cohort.content_hash() != hashlib.sha256(json.dumps(legacy, sort_keys=True).encode()).hexdigest()[:32]
    )


@pytest.mark.slow
def test_types_and_retraction_are_stored_and_a_change_is_an_update(
    settings: Settings, tmp_path: Path
) -> None:
    embedder = make_embedder(settings)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    source = (XML / "retracted-993.xml").read_text()
    path = tmp_path / "record.xml"
    path.write_text(
        source.replace("<PublicationType>Retracted Publication</PublicationType>", "").replace(
            'RefType="RetractionIn"', 'RefType="Cites"'
        )
    )
    first = ingest_inputs([str(path)], ingestor)
    assert (first.new, first.updated) == (1, 0)
    (_, _, meta), *_ = ingestor.store.get_chunks(["pmid:993#0"])
    assert "retraction" not in meta and meta["publication_types"] == "Journal Article"
    path.write_text(source)  # PubMed retracted it since: the next ingest must say so
    second = ingest_inputs([str(path)], ingestor)
    assert (second.new, second.updated, second.unchanged) == (0, 1, 0)
    chunks = ingestor.store.get_chunks([f"pmid:993#{i}" for i in range(int(meta["n_chunks"]))])
    chunks.sort(key=lambda chunk: int(chunk[2]["chunk"]))
    assert chunks[0][2]["retraction"] == RETRACTED  # the article's data lives on its chunk 0 only
    assert all(set(m) <= {"article_id", "chunk", "n_chunks", "hash", "year"} for _, _, m in chunks[1:])
    assert chunks[0][2]["publication_types"] == "Journal Article; Retracted Publication"
    gz = tmp_path / "rct.xml.gz"
    gz.write_bytes(gzip.compress((XML / "pubmed-29768149.xml").read_bytes()))
    ingest_inputs([str(gz)], ingestor)
    (_, _, rct), *_ = ingestor.store.get_chunks(["pmid:29768149#0"])
    assert rct["study_types"] == "rct; clinical-trial"


def test_e_utilities_records_carry_their_types(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`litbot ingest --pmid` goes through efetch XML, so the types come along."""
    from typer.testing import CliRunner

    from bot.cli.app import app
    from tests.eutils_stub import running_stub

    for stub in running_stub():
        monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
        monkeypatch.setenv("LITBOT_CHROMA_PATH", str(settings.chroma_path))
        result = CliRunner().invoke(app, ["ingest", "--pmid", "29768149", "--json"])
        assert result.exit_code == 0, result.output
        assert [f.params["id"] for f in stub.requests("efetch")] == ["29768149"]
    store = open_store(settings, make_embedder(settings).name, create=False)
    (_, _, meta), *_ = store.get_chunks(["pmid:29768149#0"])
    assert meta["study_types"] == "rct; clinical-trial" and "retraction" not in meta
