"""OpenAI embeddings, selected by setting, against a loopback server that speaks the /v1/embeddings protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from ingest.embeddings import MiniLMEmbedder, OpenAIEmbedder, make_embedder
from ingest.errors import StoreError
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.store import open_store

from .embeddings_stub import EmbeddingsStub


def test_openai_embeddings_build_their_own_collection(
    embeddings_server: EmbeddingsStub, settings: Settings, tmp_path: Path
) -> None:
    embeddings_server.reset()
    remote = settings.model_copy(
        update={
            "embedding_model": "openai:text-embedding-3-small",
            "openai_base_url": embeddings_server.url,
            "openai_api_key": SecretStr("sk-test-embeddings"),
        }
    )
    embedder = make_embedder(remote)
    assert isinstance(embedder, OpenAIEmbedder) and embedder.name == "openai:text-embedding-3-small"

    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        json.dumps(
            {"pmid": "1", "title": "Aspirin and headache", "abstract": "Aspirin relieved tension headache."}
        )
        + "\n"
        + json.dumps(
            {"pmid": "2", "title": "Statins", "abstract": "Statins lowered LDL cholesterol in adults."}
        )
        + "\n"
    )
    report = ingest_inputs([str(corpus)], Ingestor(open_store(remote, embedder.name), embedder, remote))
    assert report.new == 2 and report.chunks == 2

    requests = embeddings_server.requests
    assert requests and all(r.path == "/v1/embeddings" for r in requests)
    assert requests[0].model == "text-embedding-3-small"
    assert requests[0].auth == "Bearer sk-test-embeddings"

    store = open_store(remote, embedder.name)
    nearest = store.query_ids(embedder.embed_query("aspirin headache"), 1)
    assert nearest[0][0] == "pmid:1#0"  # rows came back reversed; sorting by index kept them with their texts

    with pytest.raises(StoreError, match="built with embedding model 'openai:text-embedding-3-small'"):
        open_store(settings, make_embedder(settings).name)


def test_an_embeddings_api_ingests_in_groups_of_256_unless_set(
    embeddings_server: EmbeddingsStub, settings: Settings, tmp_path: Path
) -> None:
    """Fewer, larger store writes when the embedder is an API; the bundled model keeps groups of 64 (finer
    progress, as each group takes it seconds); LITBOT_INGEST_GROUP_SIZE overrides both."""
    embeddings_server.reset()
    remote = settings.model_copy(
        update={"embedding_model": "openai:stand-in", "openai_base_url": embeddings_server.url}
    )
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"pmid": str(n), "title": f"Trial {n}", "abstract": f"Drug {n} lowered pressure {n}."})
            + "\n"
            for n in range(1, 301)
        )
    )
    for groups, expected in (
        (remote, [256, 300]),
        (remote.model_copy(update={"ingest_group_size": 100}), [100, 200, 300]),
    ):
        embedder = make_embedder(groups)
        store = groups.model_copy(update={"collection": f"groups{expected[0]}"})
        seen: list[int] = []
        ingestor = Ingestor(open_store(store, embedder.name), embedder, store)
        report = ingest_inputs([str(corpus)], ingestor, lambda _name, done, seen=seen: seen.append(done))
        assert report.new == 300 and seen == expected
    assert (
        Ingestor(open_store(settings, "all-MiniLM-L6-v2"), make_embedder(settings), settings).group_size == 64
    )


def test_token_counts_for_an_embeddings_api_are_never_cut_at_the_window() -> None:
    """Chunking sizes sentences by these counts: a 600-token sentence counted as 256 would make an
    over-long chunk."""
    embedder = OpenAIEmbedder("text-embedding-3-small", Settings(_env_file=None))  # type: ignore[call-arg]
    long_sentence = " ".join(["microbiota"] * 600)
    counts = embedder.count_tokens([long_sentence, "gut microbiota"])
    assert counts[0] > embedder.max_tokens
    assert counts == MiniLMEmbedder().count_tokens([long_sentence, "gut microbiota"])
