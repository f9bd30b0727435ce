"""The offline MiniLM: fp32 graph built from the installed weights, checked, cached, and faithful to the reference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest import embeddings, minilm_graph
from ingest.embeddings import WEIGHTS_SHA256, MiniLMEmbedder, make_embedder, providers, verified_weights
from ingest.errors import EmbeddingError
from ingest.settings import Settings

REFERENCE = Path(__file__).parent / "fixtures" / "minilm-reference"


def test_vectors_match_the_reference_implementation(model_cache: Path) -> None:
    """8 real SciFact chunks (76-256 tokens) against sentence-transformers' own vectors for them (the graph
    this code built for the run's cache; test_the_real_cache_holds_a_working_graph covers building it)."""
    texts = [json.loads(line)["text"] for line in (REFERENCE / "chunks.jsonl").read_text().splitlines()]
    reference = np.load(REFERENCE / "vectors.npy")
    # two batches at a time, mixed lengths within a batch: rows must keep their order, padding must not leak in
    embedder = MiniLMEmbedder(threads=2, batch_size=3, cache_dir=model_cache)
    batched = embedder.embed_documents(texts)
    cosines = np.sum(batched * reference, axis=1)
    assert cosines.min() >= 0.999, cosines
    single = np.stack([embedder.embed_query(t) for t in texts])
    assert np.sum(single * reference, axis=1).min() >= 0.999


def test_a_tampered_weights_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tampered = tmp_path / "model.safetensors"
    data = bytearray(verified_weights().read_bytes())
    data[-1] ^= 0x01  # one bit of the last weight
    tampered.write_bytes(bytes(data))
    monkeypatch.setattr(embeddings, "weights_path", lambda cache_dir=None: tampered)
    embedder = MiniLMEmbedder(threads=1, cache_dir=tmp_path / "cache")
    with pytest.raises(EmbeddingError, match="does not match its published sha256") as caught:
        embedder.embed_query("aspirin")
    assert "litbot model install" in caught.value.user_message
    assert not (tmp_path / "cache").exists()  # nothing was built from it


def test_missing_weights_are_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embeddings, "WEIGHTS_PACKAGE", "no_such_weights_package")
    with pytest.raises(EmbeddingError) as caught:
        MiniLMEmbedder(threads=1).embed_query("aspirin")
    message = caught.value.user_message
    assert (
        "weights are not installed" in message and "`litbot model install`" in message and "\n" not in message
    )


class _Builds:
    """Stands in for the (slow) graph build and counts the builds."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, weights: dict[str, np.ndarray]) -> bytes:
        self.count += 1
        return b"graph bytes %d" % self.count


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> _Builds:
    counter = _Builds()
    monkeypatch.setattr(minilm_graph, "build_graph", counter)
    monkeypatch.setattr(minilm_graph, "read_safetensors", lambda path: {})
    return counter


def test_the_graph_is_built_once_then_read_from_the_cache(tmp_path: Path, builds: _Builds) -> None:
    weights = tmp_path / "w.safetensors"
    first = minilm_graph.cached_graph(weights, WEIGHTS_SHA256, tmp_path / "cache")
    again = minilm_graph.cached_graph(weights, WEIGHTS_SHA256, tmp_path / "cache")
    assert first == again == b"graph bytes 1" and builds.count == 1


def test_a_damaged_or_half_written_cache_is_rebuilt(tmp_path: Path, builds: _Builds) -> None:
    cache = tmp_path / "cache"
    minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache)
    (graph,) = cache.glob("*.onnx")
    graph.write_bytes(b"graph bytes X")  # flipped content, checksum unchanged
    assert minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache) == b"graph bytes 2"
    graph.with_name(graph.name + ".sha256").unlink()  # killed between the graph and its checksum
    assert minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache) == b"graph bytes 3"
    assert minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache) == b"graph bytes 3"
    assert builds.count == 3


def test_other_weights_or_a_new_graph_version_never_reuse_a_cached_graph(
    tmp_path: Path, builds: _Builds, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache)
    minilm_graph.cached_graph(tmp_path / "w", "0" * 64, cache)
    monkeypatch.setattr(minilm_graph, "GRAPH_VERSION", minilm_graph.GRAPH_VERSION + 1)
    minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, cache)
    assert builds.count == 3 and len(list(cache.glob("*.onnx"))) == 3


def test_an_unwritable_cache_only_costs_the_build(tmp_path: Path, builds: _Builds) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert minilm_graph.cached_graph(tmp_path / "w", WEIGHTS_SHA256, blocker / "cache") == b"graph bytes 1"


@pytest.mark.slow
def test_the_real_cache_holds_a_working_graph(tmp_path: Path) -> None:
    first = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed_query("statins and myopathy")
    (graph,) = tmp_path.glob("*.onnx")
    second = MiniLMEmbedder(threads=1, cache_dir=tmp_path).embed_query("statins and myopathy")
    assert float(first @ second) > 0.99999 and graph.stat().st_size > 80_000_000


def test_settings_choose_threads_batches_cache_and_gpu(tmp_path: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        embedding_threads=3,
        embedding_batch_size=16,
        model_cache_dir=tmp_path,
        embedding_gpu=False,
    )
    embedder = make_embedder(settings)
    assert isinstance(embedder, MiniLMEmbedder)
    assert (embedder.threads, embedder.batch_size, embedder.cache_dir, embedder.use_gpu) == (
        3,
        16,
        tmp_path,
        False,
    )
    assert MiniLMEmbedder().threads == embeddings.usable_cores()


def test_a_gpu_provider_comes_first_when_onnxruntime_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    assert providers(use_gpu=True) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers(use_gpu=False) == ["CPUExecutionProvider"]
    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert providers(use_gpu=True) == ["CPUExecutionProvider"]


def test_many_embedders_share_one_session_and_a_bounded_pool_of_threads() -> None:
    """A process that makes many embedders (a handler per evaluation, per test) must not keep one model and
    one pool of idle threads for each of them."""
    import threading

    texts = ["aspirin and headache", "statins lowered LDL cholesterol", "rugby headgear", "vitamin D"]
    first = MiniLMEmbedder(threads=2)
    first.embed_documents(texts)
    before = threading.active_count()
    embedders = [MiniLMEmbedder(threads=2) for _ in range(12)]
    for embedder in embedders:
        assert embedder.embed_documents(texts).shape == (4, 384)
    assert threading.active_count() <= before, threading.active_count() - before
    assert all(embedder.session is first.session for embedder in embedders)
