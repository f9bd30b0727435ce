"""OpenAI embeddings, selected by setting, against a loopback server that speaks the /v1/embeddings protocol."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from ingest.embeddings import OpenAIEmbedder, make_embedder
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
