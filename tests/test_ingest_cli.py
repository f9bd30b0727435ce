"""`litbot ingest` and `litbot stats` as a user runs them: real processes, real store, exit codes, JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ingest.settings import Settings
from ingest.store import open_store

from .conftest import MINI_CORPUS, default_sigint

LITBOT = [str(Path(sys.executable).parent / "litbot")]


def run(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LITBOT, *args],
        input=input.decode() if input else None,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def _ingest_until_some_are_stored(corpus: str, env: dict[str, str], **popen: Any) -> subprocess.Popen[str]:
    """Start `litbot ingest corpus` and return it (still running, unless it already ended) once its store,
    ``env``'s LITBOT_CHROMA_PATH, holds at least one article."""
    proc = subprocess.Popen([*LITBOT, "ingest", corpus], env={**os.environ, **env}, text=True, **popen)
    probe = Settings(_env_file=None, chroma_path=Path(env["LITBOT_CHROMA_PATH"]))  # type: ignore[call-arg]
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            if open_store(probe, "all-MiniLM-L6-v2", create=False).count_articles() > 0:
                break
        except Exception:
            continue
    return proc


def test_help_explains_every_command() -> None:
    top = run("--help")
    assert top.returncode == 0 and "ingest" in top.stdout and "stats" in top.stdout
    sub = run("ingest", "--help")
    assert sub.returncode == 0 and "--json" in sub.stdout and "MEDLINE" in sub.stdout


@pytest.mark.slow
def test_ingest_json_then_stats_json(tmp_path: Path) -> None:
    done = run("ingest", str(MINI_CORPUS / "gut-microbiota-hcc-drug-resistance.txt"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    for key in ("read", "new", "updated", "unchanged", "skipped", "chunks", "seconds"):
        assert key in report
    assert (report["read"], report["new"], report["skipped"]) == (1, 1, 0)

    stats = run("stats", "--json")
    assert stats.returncode == 0, stats.stderr
    info = json.loads(stats.stdout)
    assert info["articles"] == 1 and info["chunks"] >= 1
    assert info["embedding_model"] == "all-MiniLM-L6-v2"
    assert str(tmp_path / "chroma") in info["store"]


@pytest.mark.slow
def test_stdin_input_and_strict_exit_status(tmp_path: Path) -> None:
    lines = json.dumps({"pmid": "11", "abstract": "Vitamin D did not prevent fractures."}) + "\n{broken\n"
    ok = run("ingest", "-", "--json", input=lines.encode())
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["skipped"] == 1
    strict = run("ingest", "-", "--json", "--strict", input=lines.encode())
    assert strict.returncode == 1
    assert json.loads(strict.stdout)["unchanged"] == 1


@pytest.mark.slow
def test_input_with_nothing_ingestable_fails_with_its_name(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run("ingest", str(empty))
    assert result.returncode == 1
    assert "empty.txt" in result.stderr
    assert "Traceback" not in result.stderr
    missing = run("ingest", str(tmp_path / "nope.xml"))
    assert missing.returncode == 1 and "nope.xml" in missing.stderr


def test_stats_without_a_store_says_what_to_do() -> None:
    result = run("stats")
    assert result.returncode == 1
    assert "litbot ingest" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_killed_ingest_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    """SIGKILL in the middle of an ingest, rerun: the same chunks and hashes as an uninterrupted run."""
    corpus = str(MINI_CORPUS / "pubmedqa-mini.jsonl")
    killed_env = {"LITBOT_CHROMA_PATH": str(tmp_path / "killed"), "LITBOT_INGEST_GROUP_SIZE": "8"}
    proc = _ingest_until_some_are_stored(
        corpus, killed_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    assert proc.poll() is None, "ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = run("ingest", corpus, "--json", env=killed_env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["unchanged"] > 0 and report["new"] > 0  # it resumed rather than redid everything

    clean = run("ingest", corpus, "--json", env={"LITBOT_CHROMA_PATH": str(tmp_path / "clean")})
    assert clean.returncode == 0, clean.stderr

    def snapshot(path: Path) -> dict[str, tuple[str, object]]:
        store = open_store(Settings(_env_file=None, chroma_path=path), "all-MiniLM-L6-v2")  # type: ignore[call-arg]
        return {cid: (text, meta.get("hash")) for cid, text, meta in store.iter_chunks()}

    killed, fresh = snapshot(tmp_path / "killed"), snapshot(tmp_path / "clean")
    assert killed == fresh
    assert len({cid.split("#")[0] for cid in killed}) == 63


@pytest.mark.slow
def test_ctrl_c_lands_the_write_in_flight_and_a_rerun_finishes(tmp_path: Path) -> None:
    """SIGINT mid-ingest: exit 130 with a hint, only whole groups stored, the rerun resumes and completes."""
    corpus = str(MINI_CORPUS / "pubmedqa-mini.jsonl")
    env = {"LITBOT_CHROMA_PATH": str(tmp_path / "store"), "LITBOT_INGEST_GROUP_SIZE": "8"}
    proc = _ingest_until_some_are_stored(
        corpus, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint
    )
    probe = Settings(_env_file=None, chroma_path=tmp_path / "store")  # type: ignore[call-arg]
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "rerun" in err and "Traceback" not in err

    stored = open_store(probe, "all-MiniLM-L6-v2", create=False).count_articles()
    assert 0 < stored < 63 and stored % 8 == 0  # every group that began writing landed whole

    rerun = run("ingest", corpus, "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert (report["unchanged"], report["new"]) == (stored, 63 - stored)
