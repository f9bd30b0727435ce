"""Shared test set-up: every test runs with a clean environment, in its own folder, against its own store."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest.settings import Settings
from tests.embeddings_stub import EmbeddingsStub

FIXTURES = Path(__file__).parent / "fixtures"
_PREFIXES = ("LITBOT_", "OPENAI_", "DISCORD_", "NCBI_")


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One MiniLM graph cache for the whole run: every xdist worker, every module's store and every `litbot` a
    test starts. Set in the environment before any other fixture makes its Settings, and filled once (a file
    lock keeps the other workers waiting) rather than by each worker and each module at once (~2.5 s of CPU
    each, and a session of its own per cache folder)."""
    from filelock import FileLock

    from ingest.embeddings import MiniLMEmbedder

    path = tmp_path_factory.getbasetemp().parent / "model-cache"
    path.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LITBOT_MODEL_CACHE_DIR", str(path))
        with FileLock(str(path / "build.lock")):  # the first worker builds; the next finds the cached graph
            MiniLMEmbedder(cache_dir=path).embed_query("warm")
        yield path


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No real settings, no `.env`, no network: a fresh store and data folder per test, one model cache for
    the run (see model_cache)."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)  # a .env in the repo is never read
    monkeypatch.setenv("LITBOT_CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.setenv("LITBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LITBOT_MODEL_CACHE_DIR", str(model_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    if os.environ.get(
        "PYTEST_XDIST_WORKER"
    ):  # one ONNX thread per worker: the workers already fill the cores
        monkeypatch.setenv("LITBOT_EMBEDDING_THREADS", "1")
    yield tmp_path


@pytest.fixture(scope="session")
def embeddings_server() -> Iterator[EmbeddingsStub]:
    with EmbeddingsStub() as stub:
        yield stub


@pytest.fixture
def hashed_embeddings(embeddings_server: EmbeddingsStub, monkeypatch: pytest.MonkeyPatch) -> EmbeddingsStub:
    """This test's `litbot` processes (and its own Settings) embed with the loopback OpenAI embeddings stand-in
    (tests/embeddings_stub.py) instead of MiniLM: for tests whose point is not the embedding model."""
    embeddings_server.reset()
    for name, value in embeddings_server.env().items():
        monkeypatch.setenv(name, value)
    return embeddings_server


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for this test's private embedded store."""
    return Settings(_env_file=None, chroma_path=tmp_path / "chroma", data_dir=tmp_path / "data")  # type: ignore[call-arg]


MINI_CORPUS = FIXTURES / "corpus-mini"


def default_sigint() -> None:
    """``preexec_fn`` for children that must see Ctrl-C: a suite started in the background (``cmd &``,
    nohup) inherits SIGINT ignored, and Python then never raises KeyboardInterrupt in its children."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def mini_store_template(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """The mini corpus (63 PubMedQA abstracts + the seed page) ingested with MiniLM once per test run, even when
    pytest-xdist runs the suite in several processes: the first worker builds it under the run's shared
    temporary folder (a file lock keeps the others waiting), the rest reuse it. Tests only ever read copies."""

    def build(path: Path) -> None:
        _ingest_mini(Settings(_env_file=None, chroma_path=path))  # type: ignore[call-arg]  # the run's model cache

    return built_once(tmp_path_factory, "mini-store", build)


@pytest.fixture(scope="session")
def hashed_mini_store_template(
    tmp_path_factory: pytest.TempPathFactory, embeddings_server: EmbeddingsStub
) -> Path:
    """The same, embedded by the loopback stand-in (its vectors do not depend on which worker's stand-in)."""
    env = embeddings_server.env()

    def build(path: Path) -> None:
        _ingest_mini(
            Settings(  # type: ignore[call-arg]
                _env_file=None,
                chroma_path=path,
                embedding_model=env["LITBOT_EMBEDDING_MODEL"],
                openai_base_url=env["OPENAI_BASE_URL"],
                openai_api_key=env["OPENAI_API_KEY"],
            )
        )

    return built_once(tmp_path_factory, "mini-store-hashed", build)


LARGE_ARTICLES = 1200  # ~1,300 chunks: past the 1,000 at which Chroma persists its vector index files


def synthetic_corpus(path: Path, count: int = LARGE_ARTICLES, prefix: str = "syn", seed: int = 7) -> Path:
    """``count`` articles of four to six real sentences each, drawn (seeded) from the fixtures' abstracts: a
    store large enough for Chroma to write its vector index files, without a large fixture."""
    import json
    import random
    import re

    sources = [MINI_CORPUS / "pubmedqa-mini.jsonl", FIXTURES / "beir-scifact-mini" / "corpus.jsonl"]
    records = [json.loads(line) for source in sources for line in source.read_text().splitlines() if line]
    sentences = [
        s
        for r in records
        for s in re.split(r"(?<=[.!?])\s+", r.get("abstract") or r.get("text") or "")
        if len(s) > 40
    ]
    titles = [r["title"] for r in records if r.get("title")]
    rng = random.Random(seed)
    rows = [
        {
            "id": f"{prefix}{n}",
            "title": f"{rng.choice(titles)} ({n})",
            "abstract": " ".join(rng.sample(sentences, rng.randint(4, 6))),
        }
        for n in range(count)
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="session")
def hashed_large_store_template(
    tmp_path_factory: pytest.TempPathFactory,
    hashed_mini_store_template: Path,
    embeddings_server: EmbeddingsStub,
) -> Path:
    """The hashed mini store plus LARGE_ARTICLES synthetic articles (``synthetic.jsonl`` beside it), ingested
    once per run: its vector index files exist, with vectors both in them and still in Chroma's log."""
    import shutil

    env = embeddings_server.env()

    def build(path: Path) -> None:
        from ingest.pipeline import build_ingestor, ingest_inputs

        shutil.copytree(hashed_mini_store_template, path)
        corpus = synthetic_corpus(path.parent / "synthetic.jsonl")
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            chroma_path=path,
            embedding_model=env["LITBOT_EMBEDDING_MODEL"],
            openai_base_url=env["OPENAI_BASE_URL"],
            openai_api_key=env["OPENAI_API_KEY"],
        )
        report = ingest_inputs([str(corpus)], build_ingestor(settings))
        assert report.new == LARGE_ARTICLES and not report.failed_inputs, report

    return built_once(tmp_path_factory, "large-store-hashed", build)


@pytest.fixture(scope="session")
def hashed_larger_store_template(
    tmp_path_factory: pytest.TempPathFactory,
    hashed_large_store_template: Path,
    embeddings_server: EmbeddingsStub,
) -> Path:
    """The large store plus LARGE_ARTICLES more synthetic articles (``more.jsonl`` beside it), ingested after
    it: what an ingest of ``more.jsonl`` into a copy of the large store must leave, whoever reads meanwhile."""
    import shutil

    env = embeddings_server.env()

    def build(path: Path) -> None:
        from ingest.pipeline import build_ingestor, ingest_inputs

        shutil.copytree(hashed_large_store_template, path)
        corpus = synthetic_corpus(path.parent / "more.jsonl", prefix="more", seed=11)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            chroma_path=path,
            embedding_model=env["LITBOT_EMBEDDING_MODEL"],
            openai_base_url=env["OPENAI_BASE_URL"],
            openai_api_key=env["OPENAI_API_KEY"],
        )
        report = ingest_inputs([str(corpus)], build_ingestor(settings))
        assert report.new == LARGE_ARTICLES and not report.failed_inputs, report

    return built_once(tmp_path_factory, "larger-store-hashed", build)


@pytest.fixture
def hashed_large_settings(
    hashed_large_store_template: Path,
    hashed_embeddings: EmbeddingsStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """A private copy of the large store, embedded by the stand-in (which this test's processes use)."""
    return private_copy(hashed_large_store_template, tmp_path, monkeypatch)


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    from filelock import FileLock

    # One folder per run shared by its xdist workers (pytest-N/popen-gwX's parent); without xdist, the run's
    # own folder: the parent there holds every earlier run, whose store other code may have written.
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    path = shared / name / "chroma"
    with FileLock(str(shared / f"{name}.lock")):
        if not (path.parent / "done").exists():
            build(path)
            (path.parent / "done").write_text("ok")
    return path


def _ingest_mini(mini: Settings) -> None:
    from ingest.pipeline import build_ingestor, ingest_inputs

    report = ingest_inputs([str(MINI_CORPUS)], build_ingestor(mini))
    assert report.new == 64 and not report.failed_inputs, report


def private_copy(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    import shutil

    path = tmp_path / "chroma"
    if path.exists():
        shutil.rmtree(path)
    shutil.copytree(template, path)
    monkeypatch.setenv("LITBOT_CHROMA_PATH", str(path))
    return Settings(_env_file=None, chroma_path=path, data_dir=tmp_path / "data")  # type: ignore[call-arg]


@pytest.fixture
def mini_settings(mini_store_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose embedded store is a private copy of the ingested mini corpus (also set in the env)."""
    return private_copy(mini_store_template, tmp_path, monkeypatch)


@pytest.fixture
def hashed_mini_settings(
    hashed_mini_store_template: Path,
    hashed_embeddings: EmbeddingsStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    """A private copy of the mini corpus embedded by the stand-in, which this test's processes embed with."""
    return private_copy(hashed_mini_store_template, tmp_path, monkeypatch)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests (processes, servers, timers) first, each file's order kept: the xdist workers then end
    on short tests, together, rather than one waiting for the other's last long test. The very first is one
    that needs the mini store, then those that need no ingested store: one worker builds the store while the
    other gets on with them, instead of both waiting for it."""

    def slow(item: pytest.Item) -> bool:
        return bool(item.get_closest_marker("slow") or item.get_closest_marker("server"))

    def needs_store(item: pytest.Item) -> bool:
        return any(name.endswith("store_template") for name in getattr(item, "fixturenames", ()))

    first = next((item for item in items if slow(item) and needs_store(item)), None)
    items.sort(key=lambda item: (item is not first, not slow(item), needs_store(item)))
