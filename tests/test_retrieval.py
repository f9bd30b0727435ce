"""Hybrid retrieval over the mini corpus (63 PubMedQA abstracts + the seed article), real store and model."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from bot.retrieval.retriever import RetrievedArticle, Retriever
from bot.types import Filters
from ingest.embeddings import make_embedder
from ingest.settings import Settings
from ingest.store import open_store

QUESTIONS = Path(__file__).parent / "fixtures" / "corpus-mini" / "questions.jsonl"
SEED_ID = "doi:10.1080/19490976.2025.2473504"
OFF_TOPIC = [
    "What is the capital of France?",
    "best pizza recipe",
    "Who won the football world cup in 2018?",
    "How do I reset my wifi router password?",
]


@pytest.fixture
def retriever(mini_settings: Settings) -> Retriever:
    embedder = make_embedder(mini_settings)
    return Retriever(open_store(mini_settings, embedder.name, create=False), embedder, mini_settings)


def _questions() -> list[dict[str, str]]:
    return [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def _pmids(results: list[RetrievedArticle]) -> list[str]:
    return [str(r.metadata.get("pmid", "")) for r in results]


def test_every_pubmedqa_question_finds_its_own_abstract_first(retriever: Retriever) -> None:
    questions = _questions()
    misses = [q["pmid"] for q in questions if _pmids(retriever.search(q["question"], k=3))[:1] != [q["pmid"]]]
    assert len(questions) == 63
    assert misses == []


def test_results_are_well_formed_and_one_per_article(retriever: Retriever) -> None:
    results = retriever.search("storage temperature of vaccines in general practice refrigerators", k=6)
    assert results and results[0].metadata["pmid"] == "1571683"
    assert len({r.article_id for r in results}) == len(results)
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)
    for r in results:
        assert 0.0 < r.relevance <= 1.0
        assert r.passages and all(p.strip() for p in r.passages)
        assert r.metadata["article_id"] == r.article_id


def test_chunks_of_one_article_merge_into_one_result_without_the_title_prefix(retriever: Retriever) -> None:
    index = retriever.lexical_index()
    long_articles = [a for a in index.index.all_articles() if len(a.texts) > 1]
    assert long_articles, "the mini corpus holds multi-chunk abstracts"
    seed = retriever.search("gut microbiota drug resistance hepatocellular carcinoma liver cancer", k=6)
    assert seed[0].article_id == SEED_ID
    assert not seed[0].passages[0].startswith("The gut microbiota: an emerging modulator")
    for article in long_articles[:5]:
        results = retriever.search(article.texts[-1][:300], k=10, apply_floor=False)
        ids = [r.article_id for r in results]
        assert ids.count(article.article_id) == 1
        assert results[0].article_id == article.article_id
        assert len(results[0].passages) >= 1


@pytest.mark.parametrize(
    ("term", "pmid"),
    [("ABCA1", "17113061"), ("TGF-β1", "19406119"), ("PON1", "24449622"), ("NCT00816829", "20297950")],
)
def test_lexical_finds_an_exact_rare_term(retriever: Retriever, term: str, pmid: str) -> None:
    lexical = retriever.search(term, k=3, mode="lexical")
    assert _pmids(lexical) == [pmid]
    assert _pmids(retriever.search(f"{term} levels", k=3, apply_floor=False))[0] == pmid


def test_year_and_journal_filters_exclude_on_both_sides(retriever: Retriever) -> None:
    query = "Storage of vaccines in the community: weak link in the cold chain?"  # PMID 1571683, 1992
    assert _pmids(retriever.search(query, k=3))[0] == "1571683"
    for mode in ("hybrid", "lexical", "dense"):
        recent = retriever.search(query, k=20, filters=Filters(year_from=2000), mode=mode, apply_floor=False)
        assert recent and all(int(r.metadata["year"]) >= 2000 for r in recent), mode
        early = retriever.search(query, k=20, filters=Filters(year_to=1999), mode=mode, apply_floor=False)
        assert early and all(int(r.metadata["year"]) <= 1999 for r in early), mode
        gut = retriever.search(
            query, k=20, filters=Filters(journal="gut micro"), mode=mode, apply_floor=False
        )
        assert [r.article_id for r in gut] in ([SEED_ID], []), mode
    journal = retriever.search("drug resistance", k=5, filters=Filters(journal="GUT MICROBES"))
    assert [r.article_id for r in journal] == [SEED_ID]
    assert retriever.search("drug resistance", k=5, filters=Filters(journal="Lancet")) == []


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_off_topic_questions_find_nothing(retriever: Retriever, question: str) -> None:
    assert retriever.search(question) == []
    assert retriever.search(question, apply_floor=False)  # the floor, not an empty store, refuses


def test_every_real_question_passes_the_floor(retriever: Retriever) -> None:
    assert all(retriever.search(q["question"], k=1) for q in _questions())


def test_concurrent_searches_match_sequential_ones(retriever: Retriever) -> None:
    questions = [q["question"] for q in _questions()[:12]]
    expected = {q: [r.article_id for r in retriever.search(q)] for q in questions}
    seen: dict[str, list[str]] = {}
    errors: list[BaseException] = []

    def work(batch: list[str]) -> None:
        try:
            fresh = Retriever(retriever.store, retriever.embedder, retriever.settings)
            for q in batch:
                seen[q] = [r.article_id for r in fresh.search(q)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(questions[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert seen == expected


def test_lexical_cache_is_reused_until_an_ingest_changes_the_revision(
    retriever: Retriever, mini_settings: Settings, tmp_path: Path
) -> None:
    from ingest.lexical import LexicalIndex
    from ingest.pipeline import Ingestor, ingest_inputs

    first = retriever.lexical_index()
    folder = retriever._cache.folder
    assert folder.is_relative_to(mini_settings.chroma_path)  # the index lives with its store
    other = Retriever(retriever.store, retriever.embedder, mini_settings)
    assert other.lexical_index() is first  # one index per store and process
    reopened = LexicalIndex.open(folder)  # a new process: opened from disk, level with the store already
    assert reopened.refresh(retriever.store) == 0 and reopened.article_count == len(first)
    assert retriever.search("zorbulin toxicity in axolotls", mode="lexical") == []

    new = tmp_path / "new.jsonl"
    record = {
        "pmid": "99999999",
        "title": "Zorbulin toxicity in axolotl limb regeneration",
        "abstract": "Axolotls exposed to zorbulin regrew limbs more slowly than unexposed animals.",
        "journal": "Journal of Imaginary Amphibians",
        "year": 2024,
    }
    new.write_text(json.dumps(record) + "\n", encoding="utf-8")
    report = ingest_inputs([str(new)], Ingestor(retriever.store, retriever.embedder, mini_settings))
    assert report.new == 1

    rebuilt = retriever.lexical_index()
    assert rebuilt is not first and rebuilt.revision != first.revision
    assert len(rebuilt) == len(first) + 1
    assert _pmids(retriever.search("zorbulin toxicity in axolotls", mode="lexical")) == ["99999999"]
    assert _pmids(retriever.search("zorbulin toxicity in axolotls", k=3))[0] == "99999999"
    assert retriever.lexical_index() is rebuilt


def test_lexical_candidates_outside_the_dense_hits_get_their_exact_cosine(retriever: Retriever) -> None:
    """With a pool too small for the dense side to reach them, BM25's picks are rescored from stored vectors."""
    from bot.retrieval.dense import chunk_cosines, nearest_chunks

    index = retriever.lexical_index()
    query = "vaccine storage temperature in refrigerators"
    vector = retriever.embedder.embed_query(query)
    exact: dict[str, float] = {}
    for chunk_id, cosine in nearest_chunks(retriever.store, vector, index.chunk_count):
        article_id = chunk_id.split("#")[0]
        exact[article_id] = max(exact.get(article_id, -1.0), cosine)
    evidence = retriever.gather(query, index, 4, None, "hybrid")
    dense_ids = {cid.split("#")[0] for cid, _ in nearest_chunks(retriever.store, vector, 6)}
    rescored = [c for c in evidence.candidates.values() if c.article_id not in dense_ids and c.lexical > 0]
    assert rescored, "no lexical candidate fell outside the dense hits"
    for candidate in rescored:
        assert candidate.dense == pytest.approx(exact[candidate.article_id], abs=1e-4)
    (vaccines,) = index.articles(article_ids=["pmid:1571683"]).values()
    wanted = [*vaccines.chunk_ids, "pmid:0#0"]  # the last is not stored
    by_lookup = chunk_cosines(retriever.store, vector, wanted)
    assert [cid for cid, _ in by_lookup] == sorted(wanted[:-1], key=lambda cid: -dict(by_lookup)[cid])
    assert max(c for _, c in by_lookup) == pytest.approx(exact["pmid:1571683"], abs=1e-4)
