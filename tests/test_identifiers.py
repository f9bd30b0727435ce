"""One article, one id (issue 26, Broken 2): every form of a PMID or DOI people paste is one article, ids of input
that was already normal stay what they always were, and an article an older litbot stored under an
un-normalised id is replaced, not stored twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.articles import Article, normalise_doi, normalise_pmid
from ingest.pipeline import Ingestor, ingest_inputs, stored_hash
from ingest.settings import Settings
from ingest.store import ChunkRecord, open_store
from tests.cli_runner import run_litbot
from tests.embeddings_stub import EmbeddingsStub

PMID_FORMS = [
    "960001",
    "0960001",
    "\uff19\uff16\uff10\uff10\uff10\uff11",  # full-width
    "\u0669\u0666\u0660\u0660\u0660\u0661",  # Arabic-Indic
    "960001.0",
    960001.0,
    960001,
    " 960001\u00a0",
    "PMID: 960001",
    "https://pubmed.ncbi.nlm.nih.gov/960001/",
    "http://www.ncbi.nlm.nih.gov/pubmed/960001?dopt=Abstract",
]
DOI_FORMS = [
    "10.1000/abc.def",
    "10.1000/ABC.DEF",
    "doi:10.1000/abc.def",
    "DOI: 10.1000/abc.def",
    "doi.org/10.1000/abc.def",
    "https://doi.org/10.1000/Abc.Def",
    "http://dx.doi.org/10.1000/abc.def",
    "10.1000/abc.def ",
    "10.1000/abc.def%20",
    "\u200b10.1000/abc.def.",
]


@pytest.mark.parametrize("form", PMID_FORMS, ids=[repr(f) for f in PMID_FORMS])
def test_every_form_of_a_pmid_is_one_pmid(form: object) -> None:
    assert normalise_pmid(form) == "960001"
    assert Article(abstract="x", pmid=form).id == "pmid:960001"


@pytest.mark.parametrize("form", DOI_FORMS, ids=[repr(f) for f in DOI_FORMS])
def test_every_form_of_a_doi_is_one_doi(form: str) -> None:
    assert normalise_doi(form) == "10.1000/abc.def"
    assert Article(abstract="x", doi=form).id == "doi:10.1000/abc.def"


@pytest.mark.parametrize("junk", ["0", "-5", "12.5", "abc", "1e6", "96 0001", "", "²", "9" * 5000, True])
def test_what_is_not_a_pmid_is_none(junk: object) -> None:
    assert normalise_pmid(junk) is None


def test_ids_of_already_normal_input_are_unchanged() -> None:
    """Existing stores hold these ids: re-ingesting the same input must find them again."""
    assert Article(abstract="x", pmid="12091962").id == "pmid:12091962"
    assert Article(abstract="x", doi="10.1016/0005-2795(76)90109-4").id == "doi:10.1016/0005-2795(76)90109-4"
    assert Article(abstract="x", doi="https://doi.org/10.1/X.").id == "doi:10.1/x"


def test_one_article_in_many_forms_is_stored_once(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    body = "Headgear did not prevent concussion in rugby players."
    lines = [{"pmid": form, "title": "Rugby headgear", "abstract": body} for form in PMID_FORMS]
    lines += [
        {"doi": form, "title": "Scrum caps", "abstract": body + " Nor did scrum caps."} for form in DOI_FORMS
    ]
    data = tmp_path / "forms.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = json.loads(run_litbot("ingest", str(data), "--json").stdout)
    assert (report["read"], report["new"], report["unchanged"]) == (21, 2, 19)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    store = open_store(settings, settings.embedding_model, create=False)
    assert sorted(m["article_id"] for m in store.iter_article_metadata()) == [
        "doi:10.1000/abc.def",
        "pmid:960001",
    ]


def test_an_article_stored_under_its_older_id_is_replaced_not_duplicated(
    settings: Settings, tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """An older litbot stored PMID "0960001" as pmid:0960001, with its data on every chunk. Ingesting the same
    record now stores pmid:960001 in its place: one article, in the store and in the lexical index."""
    from ingest.embeddings import make_embedder

    settings = Settings(_env_file=None, chroma_path=tmp_path / "chroma", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    embedder = make_embedder(settings)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    older = {"pmid": "0960001", "title": "Rugby headgear", "abstract": "Headgear did not prevent concussion."}
    article = Article(**older)
    legacy_meta = {
        "article_id": "pmid:0960001",
        "chunk": 0,
        "n_chunks": 1,
        "hash": stored_hash(article, ingestor.signature),
        "title": older["title"],
        "pmid": "0960001",
        "url": "https://pubmed.ncbi.nlm.nih.gov/0960001/",
        "source": "old.jsonl:line 1",
    }
    text = f"{older['title']}\n\n{older['abstract']}"
    chunk = ChunkRecord("pmid:0960001#0", text, embedder.embed_documents([text])[0], legacy_meta)
    ingestor.store.write_articles([("pmid:0960001", 1, [chunk])])
    data = tmp_path / "again.jsonl"
    data.write_text(json.dumps(older) + "\n")
    report = ingest_inputs([str(data)], ingestor)
    assert (report.new, report.updated) == (0, 1)
    assert [m["article_id"] for m in ingestor.store.iter_article_metadata()] == ["pmid:960001"]
    assert ingestor.store.count_chunks() == 1
    assert [a.article_id for a in ingestor.lexical_index().all_articles()] == ["pmid:960001"]
    # a store already holding both (an older litbot stored "0960001" and "960001" apart): the copy goes too
    ingestor.store.write_articles([("pmid:0960001", 1, [chunk])])
    report = ingest_inputs([str(data)], ingestor)
    assert (report.new, report.updated, report.unchanged) == (0, 0, 1)
    assert [m["article_id"] for m in ingestor.store.iter_article_metadata()] == ["pmid:960001"]
    assert [a.article_id for a in ingestor.lexical_index().all_articles()] == ["pmid:960001"]
