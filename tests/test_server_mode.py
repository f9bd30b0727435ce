"""Server mode: the same ingest and stats against a real `chroma run` on 127.0.0.1, started and stopped here."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.embeddings import make_embedder
from ingest.errors import StoreUnavailable
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.store import open_store

from .cli_runner import run_litbot
from .conftest import MINI_CORPUS
from .embeddings_stub import EmbeddingsStub

pytestmark = pytest.mark.server
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    log = (tmp_path / "chroma.log").open("w")
    proc = subprocess.Popen(
        [
            str(BIN / "chroma"),
            "run",
            "--path",
            str(tmp_path / "server-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {(tmp_path / 'chroma.log').read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_ingest_and_stats_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """Server mode, not the model: the mini corpus is embedded by the stand-in."""
    settings = Settings(_env_file=None, chroma_host="127.0.0.1", chroma_port=chroma_server)  # type: ignore[call-arg]
    embedder = make_embedder(settings)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    corpus = [
        str(MINI_CORPUS / "gut-microbiota-hcc-drug-resistance.txt"),
        str(MINI_CORPUS / "pubmedqa-mini.jsonl"),
    ]
    first = ingest_inputs(corpus, ingestor)
    assert first.new == 64 and not first.failed_inputs
    again = ingest_inputs(corpus, ingestor)
    assert (again.new, again.updated, again.unchanged) == (0, 0, 64)
    assert not (tmp_path / "chroma").exists()  # nothing went to the embedded store

    env = {"LITBOT_CHROMA_HOST": "127.0.0.1", "LITBOT_CHROMA_PORT": str(chroma_server)}
    stats = run_litbot("stats", "--json", env=env)
    assert stats.returncode == 0, stats.stderr
    info = json.loads(stats.stdout)
    assert info["articles"] == 64 and info["store_type"] == "server"
    assert info["store"] == f"http://127.0.0.1:{chroma_server} [litbot]"


def test_server_down_is_a_clear_retryable_error() -> None:
    settings = Settings(_env_file=None, chroma_host="127.0.0.1", chroma_port=_free_port())  # type: ignore[call-arg]
    with pytest.raises(StoreUnavailable, match="Chroma server") as info:
        open_store(settings, "all-MiniLM-L6-v2")
    assert info.value.retryable


def test_two_processes_share_a_server_and_each_index_follows_the_other(
    chroma_server: int, tmp_path: Path
) -> None:
    """Process A ingests; process B (here, with its own data folder and so its own lexical index) finds the
    article on its next question by catching up from the commit markers, without rebuilding its index."""
    from bot.retrieval.retriever import Retriever

    server = {"chroma_host": "127.0.0.1", "chroma_port": chroma_server}
    mine = Settings(_env_file=None, data_dir=tmp_path / "b", **server)  # type: ignore[call-arg]
    embedder = make_embedder(mine)
    seed = str(MINI_CORPUS / "gut-microbiota-hcc-drug-resistance.txt")
    assert ingest_inputs([seed], Ingestor(open_store(mine, embedder.name), embedder, mine)).new == 1
    retriever = Retriever(open_store(mine, embedder.name, create=False), embedder, mine)
    before = retriever.lexical_index()
    built = before.index.built
    assert len(before) == 1 and built
    assert retriever.search("zorbulin toxicity in axolotls", mode="lexical") == []

    new = tmp_path / "new.jsonl"
    record = {"pmid": "99999999", "title": "Zorbulin toxicity in axolotl limb regeneration", "year": 2024,
              "abstract": "Axolotls exposed to zorbulin regrew limbs more slowly than unexposed animals."}  # fmt: skip
    new.write_text(json.dumps(record) + "\n", encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("LITBOT_") or k == "LITBOT_MODEL_CACHE_DIR"
    }
    env.update(
        LITBOT_CHROMA_HOST="127.0.0.1",
        LITBOT_CHROMA_PORT=str(chroma_server),
        LITBOT_DATA_DIR=str(tmp_path / "a"),
    )
    done = subprocess.run(
        [str(BIN / "litbot"), "ingest", str(new), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a" / "servers").is_dir()  # process A keeps an index of its own

    found = retriever.search("zorbulin toxicity in axolotls", k=3)
    assert [r.metadata.get("pmid") for r in found][:1] == ["99999999"]
    after = retriever.lexical_index()
    assert len(after) == 2 and after.index.built == built  # caught up, not rebuilt
