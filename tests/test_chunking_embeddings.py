"""The chunker fits the model's window in its own tokens; the offline embedder is the real MiniLM."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ingest.articles import Article, Section
from ingest.chunking import chunk_article, chunk_articles
from ingest.embeddings import MiniLMEmbedder, make_embedder
from ingest.errors import EmbeddingError
from ingest.sentences import split_sentences
from ingest.settings import Settings


@pytest.fixture(scope="module")
def embedder(model_cache: Path) -> MiniLMEmbedder:
    return MiniLMEmbedder(threads=1, cache_dir=model_cache)


def _long_article(sentences: int = 30) -> Article:
    body = " ".join(
        f"In cohort {i}, tumour necrosis factor-alpha levels rose by {i}.5% after 5-FU treatment (p < 0.05)."
        for i in range(sentences)
    )
    return Article(pmid="123", title="A long trial of 5-FU in colorectal cancer", abstract=body)


def test_short_abstract_is_one_chunk_with_its_title(embedder: MiniLMEmbedder) -> None:
    article = Article(pmid="1", title="Aspirin and headache", abstract="Aspirin relieved headache in adults.")
    chunks = chunk_article(article, embedder.count_tokens, window=256)
    assert [c.id for c in chunks] == ["pmid:1#0"]
    assert chunks[0].text.startswith("Aspirin and headache\n\n")
    assert chunks[0].count == 1


def test_long_abstract_splits_within_the_window_with_overlap(embedder: MiniLMEmbedder) -> None:
    article = _long_article()
    chunks = chunk_article(article, embedder.count_tokens, window=256, overlap_sentences=1)
    assert len(chunks) >= 3
    measured = embedder.count_tokens([c.text for c in chunks])
    assert max(measured) <= 256, measured
    assert all(c.text.startswith(article.title) for c in chunks)
    assert [c.id for c in chunks] == [f"pmid:123#{i}" for i in range(len(chunks))]
    # one sentence of overlap: the last sentence of chunk n opens chunk n+1
    last_sentence = split_sentences(chunks[0].text.split("\n\n", 1)[1])[-1]
    assert chunks[1].text.split("\n\n", 1)[1].startswith(last_sentence)
    # deterministic
    again = chunk_article(article, embedder.count_tokens, window=256, overlap_sentences=1)
    assert [c.text for c in again] == [c.text for c in chunks]


def test_structured_sections_keep_their_labels(embedder: MiniLMEmbedder) -> None:
    article = Article(
        pmid="2",
        abstract="x",
        sections=[
            Section(label="METHODS", text="We did a trial."),
            Section(label="RESULTS", text="It worked."),
        ],
    )
    (chunk,) = chunk_article(article, embedder.count_tokens)
    assert "METHODS: We did a trial." in chunk.text and "RESULTS: It worked." in chunk.text


def test_sentence_splitter_respects_biomedical_abbreviations() -> None:
    text = "Smith et al. reported it in S. aureus (Fig. 2). Levels were 0.5 vs. 0.7 mg. A second sentence."
    assert split_sentences(text) == [
        "Smith et al. reported it in S. aureus (Fig. 2).",
        "Levels were 0.5 vs. 0.7 mg.",
        "A second sentence.",
    ]


def test_embeddings_are_normalised_ordered_and_meaningful(embedder: MiniLMEmbedder) -> None:
    texts = [
        "Gut microbiota drive drug resistance in liver cancer.",
        "A new bridge was opened in the city centre today after years of construction work and delays.",
        "The intestinal flora modulates chemotherapy response in hepatocellular carcinoma.",
    ]
    batch = embedder.embed_documents(texts)
    assert batch.shape == (3, 384)
    assert np.allclose(np.linalg.norm(batch, axis=1), 1.0, atol=1e-4)
    # length-sorted batching must not reorder rows
    single = np.stack([embedder.embed_query(t) for t in texts])
    assert np.all(np.sum(batch * single, axis=1) > 0.999)
    assert batch[0] @ batch[2] > 0.5 > batch[0] @ batch[1]


def test_unknown_embedding_model_is_a_clear_error() -> None:
    with pytest.raises(EmbeddingError, match="unknown embedding model"):
        make_embedder(Settings(_env_file=None, embedding_model="word2vec"))  # type: ignore[call-arg]


def test_real_abstracts_take_as_few_chunks_as_the_window_allows(embedder: MiniLMEmbedder) -> None:
    """Overlap and balancing never cost an extra chunk: PubMedQA abstracts are one or two chunks, rarely three."""
    import math

    from ingest.sources import read_input

    from .conftest import MINI_CORPUS

    articles = [a for a in read_input(str(MINI_CORPUS / "pubmedqa-mini.jsonl")) if isinstance(a, Article)]
    counts = []
    for article in articles:
        chunks = chunk_article(article, embedder.count_tokens, window=256, overlap_sentences=1)
        body = embedder.count_tokens([article.body_text()])[0] - 2
        assert len(chunks) <= math.ceil(body / 254) + 1, article.id
        assert max(embedder.count_tokens([c.text for c in chunks])) <= 256
        counts.append(len(chunks))
    assert sum(n <= 2 for n in counts) / len(counts) >= 0.85, counts


def test_chunking_a_batch_counts_tokens_in_three_calls_and_gives_the_same_chunks(
    embedder: MiniLMEmbedder,
) -> None:
    """The pipeline chunks a group at once: the same chunks as one article at a time, for short, long,
    untitled, sectioned and over-long-sentence abstracts, with the tokenizer called per batch, not per article."""
    from ingest.sources import read_input

    from .conftest import MINI_CORPUS

    articles = [a for a in read_input(str(MINI_CORPUS / "pubmedqa-mini.jsonl")) if isinstance(a, Article)]
    giant = " ".join(f"word{i}" for i in range(400)) + "."  # one sentence over the window: split on words
    articles += [
        _long_article(),
        Article(pmid="7", title="", abstract=_long_article(12).abstract),
        Article(pmid="8", title="Giant", abstract=f"Short opener. {giant} Short closer."),
        Article(
            pmid="9",
            title="Sectioned",
            abstract="x",
            sections=[Section(label="RESULTS", text=_long_article().abstract)],
        ),
    ]
    calls: list[int] = []

    def counting(texts: Sequence[str]) -> list[int]:
        calls.append(len(texts))
        return embedder.count_tokens(texts)

    for window in (128, 256):
        one_by_one = [chunk_article(a, embedder.count_tokens, window, overlap_sentences=1) for a in articles]
        calls.clear()
        assert chunk_articles(articles, counting, window, overlap_sentences=1) == one_by_one
        assert sum(len(c) > 1 for c in one_by_one) >= 10
    # titles and bodies, then the long bodies' sentences, then the giant sentence's parts (once per window)
    assert len(calls) == 3, calls
