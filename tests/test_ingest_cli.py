"""`litbot ingest` and `litbot stats` as a user runs them: real processes, real store, exit codes, JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.pipeline import build_ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.store import open_store

from .cli_runner import run_litbot
from .conftest import MINI_CORPUS, default_sigint
from .embeddings_stub import EmbeddingsStub

LITBOT = [str(Path(sys.executable).parent / "litbot")]


def _ingest_stopped_mid_run(
    corpus: str, env: dict[str, str], stub: EmbeddingsStub, **popen: Any
) -> subprocess.Popen[str]:
    """Start `litbot ingest corpus` (groups of 8) embedding with ``stub`` and return it, still running, with
    the first group stored: the stand-in holds the third group's embedding request, and a group is only
    embedded once the group before the last has landed (one write in flight at a time)."""
    stub.hold_from(3)
    proc = subprocess.Popen([*LITBOT, "ingest", corpus], env={**os.environ, **env}, text=True, **popen)
    if not stub.wait_for(3):
        proc.kill()
        pytest.fail("the ingest never asked for its third group's vectors")
    assert proc.poll() is None, "the ingest ended while its third group waited"
    probe = Settings(_env_file=None, chroma_path=Path(env["LITBOT_CHROMA_PATH"]))  # type: ignore[call-arg]
    assert open_store(probe, probe.embedding_model, create=False).count_articles() >= 8
    return proc


def test_help_explains_every_command() -> None:
    top = run_litbot("--help")
    assert top.returncode == 0 and "ingest" in top.stdout and "stats" in top.stdout
    sub = run_litbot("ingest", "--help")
    assert sub.returncode == 0 and "--json" in sub.stdout and "MEDLINE" in sub.stdout


@pytest.mark.slow
def test_ingest_json_then_stats_json(tmp_path: Path) -> None:
    done = run_litbot("ingest", str(MINI_CORPUS / "gut-microbiota-hcc-drug-resistance.txt"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for key in ("read", "new", "updated", "unchanged", "skipped", "chunks", "seconds"):
        assert key in report
    assert (report["read"], report["new"], report["skipped"]) == (1, 1, 0)

    stats = run_litbot("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    info = json.loads(stats.stdout)
    assert info["articles"] == 1 and info["chunks"] >= 1
    assert info["embedding_model"] == "all-MiniLM-L6-v2"
    assert str(tmp_path / "chroma") in info["store"]


@pytest.mark.slow
def test_stdin_input_and_strict_exit_status(tmp_path: Path) -> None:
    lines = json.dumps({"pmid": "11", "abstract": "Vitamin D did not prevent fractures."}) + "\n{broken\n"
    ok = run_litbot("ingest", "-", "--json", input=lines)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["skipped"] == 1
    strict = run_litbot("ingest", "-", "--json", "--strict", input=lines)
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["unchanged"] == 1


@pytest.mark.slow
def test_input_with_nothing_ingestable_fails_with_its_name(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run_litbot("ingest", str(empty))
    assert result.returncode == 1
    assert "empty.txt" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run_litbot("ingest", str(tmp_path / "nope.xml"))
    assert missing.returncode == 1 and "nope.xml" in missing.stderr


def test_stats_without_a_store_says_what_to_do() -> None:
    result = run_litbot("stats")
    assert result.returncode == 1
    assert "litbot ingest" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_killed_ingest_rerun_equals_a_clean_run(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    """SIGKILL in the middle of an ingest, rerun: the same chunks and hashes as an uninterrupted run."""
    corpus = str(MINI_CORPUS / "pubmedqa-mini.jsonl")
    killed_env = {"LITBOT_CHROMA_PATH": str(tmp_path / "killed"), "LITBOT_INGEST_GROUP_SIZE": "8"}
    proc = _ingest_stopped_mid_run(
        corpus, killed_env, hashed_embeddings, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    hashed_embeddings.release()

    rerun = run_litbot("ingest", corpus, "--json", env=killed_env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["unchanged"] > 0 and report["new"] > 0  # it resumed rather than redid everything

    clean = Settings(_env_file=None, chroma_path=tmp_path / "clean")  # type: ignore[call-arg]
    assert ingest_inputs([corpus], build_ingestor(clean)).new == 63  # the reference, in this process

    def snapshot(path: Path) -> dict[str, tuple[str, object]]:
        settings = Settings(_env_file=None, chroma_path=path)  # type: ignore[call-arg]
        store = open_store(settings, settings.embedding_model)
        return {cid: (text, meta.get("hash")) for cid, text, meta in store.iter_chunks()}

    killed, fresh = snapshot(tmp_path / "killed"), snapshot(tmp_path / "clean")
    assert killed == fresh
    assert len({cid.split("#")[0] for cid in killed}) == 63


@pytest.mark.slow
def test_ctrl_c_lands_the_write_in_flight_and_a_rerun_finishes(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    """SIGINT mid-ingest: exit 130 with a hint, only whole groups stored, the rerun resumes and completes."""
    corpus = str(MINI_CORPUS / "pubmedqa-mini.jsonl")
    env = {"LITBOT_CHROMA_PATH": str(tmp_path / "store"), "LITBOT_INGEST_GROUP_SIZE": "8"}
    proc = _ingest_stopped_mid_run(
        corpus,
        env,
        hashed_embeddings,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    probe = Settings(_env_file=None, chroma_path=tmp_path / "store")  # type: ignore[call-arg]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    hashed_embeddings.release()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "rerun" in err and "Traceback" not in err

    stored = open_store(probe, probe.embedding_model, create=False).count_articles()
    assert 0 < stored < 63 and stored % 8 == 0  # every group that began writing landed whole

    rerun = run_litbot("ingest", corpus, "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert (report["unchanged"], report["new"]) == (stored, 63 - stored)
