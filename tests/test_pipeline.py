"""Ingest round trips into a real embedded Chroma: idempotent, update-in-place, no orphans, safe on bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest.embeddings import make_embedder
from ingest.errors import StoreError
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.store import ArticleStore, open_store

from .conftest import FIXTURES, MINI_CORPUS
from .embeddings_stub import EmbeddingsStub


def _ingestor(settings: Settings) -> Ingestor:
    embedder = make_embedder(settings)
    return Ingestor(open_store(settings, embedder.name), embedder, settings)


def _snapshot(store: ArticleStore) -> dict[str, tuple[str, str]]:
    """Every chunk id with its text and content hash: two equal snapshots are the same store."""
    return {cid: (text, str(meta.get("hash"))) for cid, text, meta in store.iter_chunks()}


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


LONG = " ".join(
    f"Sentence {i} reports that interleukin-6 rose in cohort {i} after treatment." for i in range(40)
)


@pytest.mark.slow
def test_round_trip_then_reingest_is_free(hashed_embeddings: EmbeddingsStub, settings: Settings) -> None:
    """Pipeline bookkeeping, not the model: embedded by the stand-in (set up before ``settings`` reads the
    environment). The MiniLM ingest of the same corpus is the mini store the answer tests read (conftest.py)."""
    assert settings.embedding_model == hashed_embeddings.env()["LITBOT_EMBEDDING_MODEL"]
    corpus = MINI_CORPUS / "pubmedqa-mini.jsonl"
    ingestor = _ingestor(settings)
    first = ingest_inputs([str(corpus)], ingestor)
    assert (first.read, first.new, first.updated, first.unchanged, first.skipped) == (63, 63, 0, 0, 0)
    store = ingestor.store
    assert store.count_articles() == 63
    assert store.count_chunks() == first.chunks >= 63
    revision = store.revision()

    second = ingest_inputs([str(corpus)], ingestor)
    assert (second.read, second.new, second.updated, second.unchanged, second.chunks) == (63, 0, 0, 63, 0)
    assert store.revision() == revision  # nothing written, caches stay valid

    # what was stored is citable and filterable
    (_, text, meta), *_ = store.get_chunks(["pmid:1571683#0"])
    assert meta["url"] == "https://pubmed.ncbi.nlm.nih.gov/1571683/"
    assert isinstance(meta["year"], int) and meta["article_id"] == "pmid:1571683"
    assert "cold chain" in text.lower() or "vaccine" in text.lower()


def test_changed_article_replaces_its_chunks_without_orphans(settings: Settings, tmp_path: Path) -> None:
    ingestor = _ingestor(settings)
    store = ingestor.store
    path = tmp_path / "a.jsonl"
    _jsonl(
        path,
        [
            {"pmid": "42", "title": "IL-6 study", "abstract": LONG, "year": 2020},
            {"pmid": "43", "title": "Other", "abstract": "Short abstract about aspirin.", "year": 2019},
        ],
    )
    report = ingest_inputs([str(path)], ingestor)
    assert report.new == 2
    long_chunks = [cid for cid, _, meta in store.iter_chunks() if meta["article_id"] == "pmid:42"]
    assert len(long_chunks) >= 3

    _jsonl(
        path,
        [
            {"pmid": "42", "title": "IL-6 study", "abstract": "Now a short abstract.", "year": 2021},
            {"pmid": "43", "title": "Other", "abstract": "Short abstract about aspirin.", "year": 2019},
        ],
    )
    report = ingest_inputs([str(path)], ingestor)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    chunks = {cid: (text, meta) for cid, text, meta in store.iter_chunks()}
    assert sorted(chunks) == ["pmid:42#0", "pmid:43#0"]
    assert "Now a short abstract." in chunks["pmid:42#0"][0] and chunks["pmid:42#0"][1]["year"] == 2021


def test_an_article_interrupted_before_its_chunk_0_is_rewritten_without_orphans(
    settings: Settings, tmp_path: Path
) -> None:
    """A killed write leaves chunks 1..n and no commit marker: the article counts as new, yet its stale chunks
    must still go (only articles with nothing stored skip the deletion)."""
    ingestor = _ingestor(settings)
    store = ingestor.store
    long = {"pmid": "42", "title": "IL-6 study", "abstract": LONG, "year": 2020}
    ingest_inputs([str(_jsonl(tmp_path / "a.jsonl", [long]))], ingestor)
    store._coll("delete", ids=["pmid:42#0"])  # as if killed before the commit marker landed
    assert [c for c, _, _ in store.iter_chunks()] and store.stored_hashes(["pmid:42"]) == {}
    assert store.unwritten(["pmid:42", "pmid:77"]) == {"pmid:77"}

    short = {**long, "abstract": "Now a short abstract.", "year": 2021}
    report = ingest_inputs([str(_jsonl(tmp_path / "b.jsonl", [short, {**short, "pmid": "77"}]))], ingestor)
    assert (report.new, report.updated) == (2, 0)
    assert sorted(c for c, _, _ in store.iter_chunks()) == ["pmid:42#0", "pmid:77#0"]
    assert store.unwritten(["pmid:42", "pmid:77", "pmid:78"]) == {"pmid:78"}


def test_same_record_twice_in_one_input_is_stored_once(settings: Settings, tmp_path: Path) -> None:
    record = {"doi": "10.1000/XYZ", "title": "T", "abstract": "An abstract."}
    path = _jsonl(tmp_path / "dup.jsonl", [record, record])
    report = ingest_inputs([str(path)], _ingestor(settings))
    assert (report.read, report.new, report.unchanged) == (2, 1, 1)
    store = open_store(settings, "all-MiniLM-L6-v2")
    assert [cid for cid, _, _ in store.iter_chunks()] == ["doi:10.1000/xyz#0"]


def test_groups_written_in_the_background_see_each_other(settings: Settings, tmp_path: Path) -> None:
    """One article per group: a record's stored hash is read only after the previous group's write lands."""
    small = settings.model_copy(update={"ingest_group_size": 1})
    first = {"pmid": "51", "title": "T", "abstract": "Metformin lowered HbA1c in adults."}
    changed = {**first, "abstract": "Metformin lowered HbA1c and weight in adults."}
    other = {"pmid": "52", "title": "U", "abstract": "Statins lowered LDL cholesterol."}
    path = _jsonl(tmp_path / "seq.jsonl", [first, first, other, changed, changed])
    seen: list[int] = []
    ingestor = _ingestor(small)
    report = ingest_inputs([str(path)], ingestor, lambda _name, done: seen.append(done))
    assert (report.read, report.new, report.updated, report.unchanged) == (5, 2, 1, 2)
    assert seen == [1, 2, 3, 4, 5]  # each group reported once, after its write
    chunks = {cid: text for cid, text, _ in ingestor.store.iter_chunks()}
    assert sorted(chunks) == ["pmid:51#0", "pmid:52#0"]
    assert "weight" in chunks["pmid:51#0"]


def test_bad_records_are_named_and_good_ones_still_go_in(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "inputs"
    folder.mkdir()
    (folder / "good.jsonl").write_text(
        json.dumps({"pmid": "7", "abstract": "Metformin lowered HbA1c."})
        + "\n"
        + "{not json\n"
        + json.dumps({"pmid": "8", "abstract": ""})
        + "\n"
        + json.dumps({"pmid": "9", "abstract": "Statins lowered LDL."})
        + "\n"
    )
    shutil.copy(FIXTURES / "pubmed-xml" / "pubmed3.html", folder / "error-page.xml")
    ingestor = _ingestor(settings)
    report = ingest_inputs([str(folder)], ingestor)
    assert report.new == 2 and report.skipped == 2
    assert report.skipped_malformed == 1 and report.skipped_no_abstract == 1
    assert any("good.jsonl" in p and "line 2" in p for p in report.problems), report.problems
    assert report.failed_inputs == [str(folder / "error-page.xml")]
    assert any("error-page.xml" in p and "HTML" in p for p in report.input_errors), report.input_errors
    assert ingestor.store.count_articles() == 2


def test_a_store_built_with_another_model_is_refused(settings: Settings) -> None:
    open_store(settings, "all-MiniLM-L6-v2")
    with pytest.raises(StoreError, match="built with embedding model 'all-MiniLM-L6-v2'"):
        open_store(settings, "openai:text-embedding-3-small")


def test_missing_store_is_a_clear_error(settings: Settings) -> None:
    with pytest.raises(StoreError) as info:
        open_store(settings, "all-MiniLM-L6-v2", create=False)
    assert "no collection 'litbot'" in info.value.user_message
    assert "litbot ingest" in info.value.user_message
