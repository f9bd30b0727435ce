"""The lexical index beside the store: incremental updates equal a clean build, damaged indexes are rebuilt,
and a bot follows another process's ingest without rebuilding (real tantivy, SQLite and embedded Chroma)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.retrieval.lexical import LexicalSearch
from bot.retrieval.retriever import Retriever
from ingest.embeddings import make_embedder
from ingest.lexical import ArticleChunks, LexicalIndex, index_folder
from ingest.settings import Settings
from ingest.store import open_store

from .conftest import MINI_CORPUS

RECORDS = [json.loads(line) for line in (MINI_CORPUS / "pubmedqa-mini.jsonl").read_text().splitlines()][:12]
QUERIES = ["vaccine storage refrigerator", "pregnancy insulin resistance", "children esophagitis", "rugby"]
LITBOT = str(Path(sys.executable).parent / "litbot")


def _article(n: int, version: int) -> ArticleChunks:
    """Record ``n`` of the mini corpus; version 1 is edited (one sentence fewer, another title), version 2 has
    its abstract split over two chunks."""
    record = RECORDS[n]
    text, title = record["abstract"], record["title"]
    if version == 1:
        text, title = text.rsplit(". ", 1)[0], f"Revisited: {title}"
    texts = [text[: len(text) // 2], text[len(text) // 2 :]] if version == 2 else [text]
    aid = f"pmid:{record['pmid']}"
    meta = {
        "article_id": aid,
        "title": title,
        "year": 2000 + n,
        "hash": f"{n}-{version}",
        "pmid": record["pmid"],
    }
    return ArticleChunks(aid, meta, [f"{aid}#{i}" for i in range(len(texts))], texts)


def contents(index: LexicalIndex) -> list[tuple[object, ...]]:
    return sorted((a.article_id, a.metadata, a.chunk_ids, a.texts, a.terms) for a in index.all_articles())


def rankings(index: LexicalIndex) -> list[list[tuple[str, float]]]:
    view = LexicalSearch(index, "")
    out = []
    for query in QUERIES:
        hits = view.search(query, 20)
        rows = view.articles(list(hits))
        out.append(sorted((rows[s].article_id, round(h.coverage, 6)) for s, h in hits.items()))
    return out


operation = st.tuples(st.sampled_from(["put", "remove"]), st.integers(0, len(RECORDS) - 1), st.integers(0, 2))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(operation, min_size=1, max_size=5), min_size=1, max_size=4))
def test_incremental_updates_equal_a_clean_build(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[tuple[str, int, int]]]
) -> None:
    incremental = LexicalIndex.open(tmp_path_factory.mktemp("incremental"))
    final: dict[str, ArticleChunks] = {}
    for batch in batches:
        put: dict[str, ArticleChunks] = {}
        removed: list[str] = []
        for op, n, version in batch:
            article = _article(n, version)
            if op == "put":
                put[article.article_id] = article
                final[article.article_id] = article
            else:
                put.pop(article.article_id, None)
                removed.append(article.article_id)
                final.pop(article.article_id, None)
        incremental.apply(list(put.values()), removed)
    clean = LexicalIndex.open(tmp_path_factory.mktemp("clean"))
    clean.apply(list(final.values()))
    assert contents(incremental) == contents(clean)
    assert incremental.chunk_count == clean.chunk_count
    assert rankings(incremental) == rankings(clean)
    # BM25 itself: the same articles match, with the same scores when nothing was replaced or removed. After a
    # replacement tantivy's statistics count the old document until its segment is merged (as Lucene's do).
    replaced = any(op == "remove" for batch in batches for op, _, _ in batch) or len(
        [1 for batch in batches for op, _, _ in batch if op == "put"]
    ) != len(final)
    for query in QUERIES:
        mine = LexicalSearch(incremental, "").search(query, 20)
        theirs = LexicalSearch(clean, "").search(query, 20)
        ids = {s: a.article_id for s, a in incremental.articles(list(mine)).items()}
        clean_ids = {s: a.article_id for s, a in clean.articles(list(theirs)).items()}
        scores = {ids[s]: h.score for s, h in mine.items()}
        assert set(scores) == {clean_ids[s] for s in theirs}
        if not replaced:
            for s, hit in theirs.items():
                assert scores[clean_ids[s]] == pytest.approx(hit.score, rel=1e-5)


def test_a_damaged_or_older_index_is_rebuilt_from_the_store(mini_settings: Settings) -> None:
    embedder = make_embedder(mini_settings)
    store = open_store(mini_settings, embedder.name, create=False)
    folder = index_folder(mini_settings.store_cache_dir)
    index = LexicalIndex.open(folder)
    index.refresh(store)
    reference = contents(index)
    index.close()
    (folder / "articles.sqlite3").write_bytes(b"this is not a database" * 100)
    for name in ("articles.sqlite3-wal", "articles.sqlite3-shm"):
        (folder / name).unlink(missing_ok=True)
    damaged = LexicalIndex.open(folder)
    assert damaged.article_count == 0
    assert damaged.refresh(store) == 64
    assert contents(damaged) == reference
    damaged._set(format="bm25s-7")  # an older format: rebuilt once, then reused
    assert damaged.refresh(store) == 64
    assert damaged.refresh(store) == 0
    assert contents(damaged) == reference


@pytest.mark.slow
def test_a_running_bot_sees_another_process_ingest_without_a_rebuild(
    mini_settings: Settings, tmp_path: Path
) -> None:
    embedder = make_embedder(mini_settings)
    retriever = Retriever(open_store(mini_settings, embedder.name, create=False), embedder, mini_settings)
    first = retriever.lexical_index()
    built = first.index.built
    assert built and retriever.search("zorbulin toxicity in axolotls", mode="lexical") == []

    new = tmp_path / "new.jsonl"
    record = {"pmid": "99999999", "title": "Zorbulin toxicity in axolotl limb regeneration", "year": 2024,
              "abstract": "Axolotls exposed to zorbulin regrew limbs more slowly than unexposed animals."}  # fmt: skip
    new.write_text(json.dumps(record) + "\n", encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LITBOT_") or k == "LITBOT_MODEL_CACHE_DIR"
    }
    env.update(LITBOT_CHROMA_PATH=str(mini_settings.chroma_path), LITBOT_DATA_DIR=str(tmp_path / "other"))
    done = subprocess.run([LITBOT, "ingest", str(new), "--json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr

    found = retriever.search("zorbulin toxicity in axolotls", k=3)  # the very next question
    assert [r.metadata.get("pmid") for r in found][:1] == ["99999999"]
    now = retriever.lexical_index()
    assert now is not first and len(now) == len(first) + 1
    assert now.index.built == built  # followed, not rebuilt


def test_an_ingest_indexes_what_an_earlier_killed_ingest_left_unindexed(
    mini_settings: Settings, tmp_path: Path
) -> None:
    """A long-lived ingestor (the Discord bot's) must not move the cursor past articles another ingest wrote
    to the store but never indexed (killed between the two): it levels the index before each ingest."""
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import ChunkRecord

    embedder = make_embedder(mini_settings)
    store = open_store(mini_settings, embedder.name, create=False)
    ingestor = Ingestor(store, embedder, mini_settings)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    one.write_text(json.dumps({"pmid": "99999991", "title": "First", "abstract": "Alpha zorbulin."}) + "\n")
    two.write_text(json.dumps({"pmid": "99999992", "title": "Second", "abstract": "Beta zorbulin."}) + "\n")
    assert ingest_inputs([str(one)], ingestor).new == 1
    orphan = {"article_id": "pmid:99999993", "chunk": 0, "n_chunks": 1, "hash": "h", "title": "Killed"}
    vector = embedder.embed_documents(["Killed\\nGamma zorbulin."])[0]
    store.write_articles(
        [("pmid:99999993", 1, [ChunkRecord("pmid:99999993#0", "Killed\nGamma zorbulin.", vector, orphan)])]
    )
    assert ingest_inputs([str(two)], ingestor).new == 1
    indexed = {a.article_id for a in ingestor.lexical_index().all_articles()}
    assert {"pmid:99999991", "pmid:99999992", "pmid:99999993"} <= indexed
