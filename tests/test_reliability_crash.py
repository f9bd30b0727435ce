"""Crash safety: `litbot ingest` killed with SIGKILL at a random moment, then rerun, equals a clean run.

The helpers here (:func:`snapshot`, :func:`orphans`, :func:`kill_and_rerun`) are also what bench/soak.py runs
twenty times; the suite runs one kill on a dozen abstracts (tests/test_ingest_cli.py has another on the whole
mini corpus). The store's chunk 0 is each article's commit marker, so the check is strict: the ids, texts and
content hashes must equal a clean run's, and every article present must have chunk 0 and exactly ``n_chunks``
chunks numbered 0..n-1.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ingest.settings import Settings
from ingest.store import ArticleStore, open_store

from .cli_runner import run_litbot
from .conftest import MINI_CORPUS
from .embeddings_stub import EmbeddingsStub
from .store_snapshots import tear_vector_index

LITBOT = str(Path(sys.executable).parent / "litbot")
Snapshot = dict[str, tuple[str, object]]


def store_settings(path: Path | Settings) -> Settings:
    """An embedded store's folder, or ready-made settings (a Chroma server)."""
    return path if isinstance(path, Settings) else Settings(_env_file=None, chroma_path=path)  # type: ignore[call-arg]


def open_existing(path: Path | Settings) -> ArticleStore:
    """The store, opened with the embedding model the settings (or the environment) name."""
    settings = store_settings(path)
    return open_store(settings, settings.embedding_model, create=False)


def snapshot(path: Path | Settings) -> Snapshot:
    """chunk id -> (text, content hash) for every chunk in the store."""
    store = open_existing(path)
    return {cid: (text, meta.get("hash")) for cid, text, meta in store.iter_chunks()}


def orphans(path: Path | Settings) -> list[str]:
    """Articles whose chunks do not form one complete set 0..n_chunks-1 (empty when the store is sound)."""
    store = open_existing(path)
    chunks: dict[str, list[Mapping[str, object]]] = defaultdict(list)
    for cid, _, meta in store.iter_chunks():
        chunks[str(meta["article_id"])].append(meta)
        assert cid == f"{meta['article_id']}#{meta['chunk']}", cid
    problems = []
    for article, metas in chunks.items():
        numbers = sorted(int(str(m["chunk"])) for m in metas)
        counts = {int(str(m["n_chunks"])) for m in metas}
        hashes = {m.get("hash") for m in metas}
        if numbers[0] != 0 or len(counts) != 1 or numbers != list(range(counts.pop())) or len(hashes) != 1:
            problems.append(f"{article}: chunks {numbers}, n_chunks {sorted(counts)}, hashes {len(hashes)}")
    return problems


def ingest(
    corpus: Path, store: Path, group_size: int = 4, extra_env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[str]:
    """`litbot ingest CORPUS --json` in its own process, into the embedded store ``store`` unless
    ``extra_env`` points elsewhere (LITBOT_CHROMA_HOST/PORT for a server)."""
    env = {**os.environ, "LITBOT_CHROMA_PATH": str(store), "LITBOT_INGEST_GROUP_SIZE": str(group_size)}
    if "LITBOT_CHROMA_HOST" not in (extra_env or {}):
        env.pop("LITBOT_CHROMA_HOST", None)
    env.update(extra_env or {})
    return subprocess.Popen(  # type: ignore[call-overload]
        [LITBOT, "ingest", str(corpus), "--json"], env=env, text=True, **popen
    )


def clean_run(corpus: Path, store: Path) -> Snapshot:
    proc = ingest(corpus, store, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return snapshot(store)


@dataclass
class KillResult:
    killed: bool  # False when the ingest finished before the chosen moment
    killed_after: float  # seconds after start
    chunks_at_kill: int
    equal: bool
    orphans: list[str]
    rerun_report: str


def kill_and_rerun(
    corpus: Path, store: Path, reference: Snapshot, rng: random.Random, max_extra: float = 3.0
) -> KillResult:
    """Start an ingest, SIGKILL it once it has written something plus a random extra delay, rerun, compare."""
    proc = ingest(corpus, store, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.monotonic()
    probe = store_settings(store)
    extra = rng.uniform(0.0, max_extra)  # beyond the first write: anywhere inside the run
    chunks = 0
    first_write: float | None = None
    while proc.poll() is None and time.monotonic() - start < 600:
        time.sleep(0.05)
        if first_write is None:
            try:
                chunks = open_existing(probe).count_chunks()
            except Exception:  # not created yet, or mid-creation
                continue
            if chunks > 0:
                first_write = time.monotonic()
        elif time.monotonic() - first_write >= extra:
            break
    killed_after = time.monotonic() - start
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rerun = ingest(corpus, store, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    return KillResult(killed, killed_after, chunks, snapshot(store) == reference, orphans(store), out.strip())


def lexical_snapshot(path: Path) -> list[object]:
    """The lexical index the store's ingests left beside it (not caught up here): every article as indexed
    (its write time aside) and the articles each of a few queries finds."""
    from bot.retrieval.lexical import LexicalSearch
    from ingest.lexical import LexicalIndex, index_folder

    index = LexicalIndex.open(index_folder(store_settings(path).store_cache_dir))
    articles = sorted(
        (a.article_id, {k: v for k, v in a.metadata.items() if k != "written"}, a.chunk_ids, a.texts, a.terms)
        for a in index.all_articles()
    )
    view = LexicalSearch(index, "")
    found = []
    for query in ("vaccine storage", "pregnancy", "children", "treatment outcome"):
        hits = view.search(query, 10)
        rows = view.articles(list(hits))
        found.append(sorted(rows[s].article_id for s in hits))
    return [articles, index.chunk_count, found]


def small_corpus(folder: Path, count: int = 12) -> Path:
    lines = (MINI_CORPUS / "pubmedqa-mini.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    path = folder / f"corpus-{count}.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_rerun_equals_a_clean_run(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    corpus = small_corpus(tmp_path)
    clean = {"LITBOT_CHROMA_PATH": str(tmp_path / "clean"), "LITBOT_INGEST_GROUP_SIZE": "4"}
    assert run_litbot("ingest", str(corpus), env=clean).returncode == 0  # the reference, in this process
    reference = snapshot(tmp_path / "clean")
    assert len({cid.split("#")[0] for cid in reference}) == 12 and not orphans(tmp_path / "clean")
    # each group's vectors take 0.5 s to come: the run lasts about a second past its first write, and the
    # kill lands within 0.3 s of that write, while the next group is embedded or its own is being written
    hashed_embeddings.delay = 0.5
    result = kill_and_rerun(corpus, tmp_path / "killed", reference, random.Random(7), max_extra=0.3)
    assert result.killed, "the ingest finished before it could be killed"
    assert '"unchanged": 0' not in result.rerun_report  # the rerun resumed: what was committed stayed
    assert result.equal and not result.orphans, result
    assert lexical_snapshot(tmp_path / "killed") == lexical_snapshot(tmp_path / "clean")


@pytest.mark.slow
def test_an_index_torn_by_a_killed_process_is_repaired_by_the_next_ingest(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """A kill can land while Chroma rewrites its index files (the random-kill test above once did): the next
    ingest repairs the store first, as `litbot repair` would, and then equals a clean run."""
    corpus, store = small_corpus(tmp_path), tmp_path / "store"
    env = {"LITBOT_CHROMA_PATH": str(store), "LITBOT_INGEST_GROUP_SIZE": "4"}
    assert run_litbot("ingest", str(corpus), env=env).returncode == 0
    reference, lexical = snapshot(store), lexical_snapshot(store)

    tear_vector_index(store, died_during_its_turn=True)
    rerun = run_litbot("ingest", str(corpus), "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["unchanged"] == 12 and report["chunks"] == 0  # nothing written twice
    repaired = report["repaired"]
    assert repaired["quarantined"] and repaired["after"]["ok"]
    assert repaired["reembedded_chunks"] == 0 and repaired["salvaged_vectors"] == len(reference)
    assert snapshot(store) == reference and not orphans(store)
    assert lexical_snapshot(store) == lexical
    assert run_litbot("check", env=env).returncode == 0

    # said on stderr in text mode
    tear_vector_index(store, died_during_its_turn=True)
    said = run_litbot("ingest", str(corpus), env=env)
    assert said.returncode == 0, said.stderr
    assert "stopped while writing it; repairing it first" in said.stderr and "repaired in" in said.stderr
    assert "12 unchanged" in said.stdout

    # a question in a fresh process is answered too, the store repaired first (bot.chat)
    tear_vector_index(store, died_during_its_turn=True)
    asked = run_litbot("ask", "Are vaccines kept at safe temperatures in the community?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    assert "repairing it as `litbot repair` would" in asked.stderr
    assert "pmid:1571683" in [c["id"] for c in json.loads(asked.stdout)["citations"]]
    assert snapshot(store) == reference and run_litbot("check", env=env).returncode == 0


def test_damage_no_crash_explains_is_reported_not_repaired_by_ingest(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """Damage no dead litbot process explains (the disk, another program) is the user's to look at: ingest says
    so in one line and changes nothing."""
    corpus, store = small_corpus(tmp_path), tmp_path / "store"
    env = {"LITBOT_CHROMA_PATH": str(store), "LITBOT_INGEST_GROUP_SIZE": "4"}
    assert run_litbot("ingest", str(corpus), env=env).returncode == 0
    tear_vector_index(store, died_during_its_turn=False)
    rerun = run_litbot("ingest", str(corpus), env=env)
    errors = [line for line in rerun.stderr.splitlines() if line.startswith("error:")]
    assert rerun.returncode == 1 and len(errors) == 1, rerun.stderr
    assert "damaged" in errors[0] and "litbot repair" in errors[0] and "repairing" not in rerun.stderr
    assert not (store / ".litbot" / "quarantine").exists()
