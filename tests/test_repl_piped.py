"""`litbot chat` with stdin not a terminal: one question per line in, plain answers or JSON lines out."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from bot.types import REFUSAL
from ingest.settings import Settings
from tests.cli_runner import run_litbot
from tests.repl_screen import chat_env

QUESTION = "Does rugby headgear prevent concussion?"
FOLLOW_UP = "Did the coaches agree with the players?"
PMID = "11867487"
PUBMED = f"https://pubmed.ncbi.nlm.nih.gov/{PMID}/"

pytestmark = pytest.mark.slow


def _chat(lines: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return run_litbot(*args, input=lines, env=chat_env(**env), cwd=cwd)


def test_piped_plain_answers_with_full_links_and_follow_ups(mini_settings: Settings, tmp_path: Path) -> None:
    done = _chat(f"{QUESTION}\n\n{FOLLOW_UP}\n", "chat", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "\x1b" not in out and "litbot>" not in out  # no colour codes, no prompt, no spinner
    first, second = out.split(f"> {FOLLOW_UP}\n")  # each answer follows its question
    assert first.startswith(f"> {QUESTION}\n")
    for answer in (first, second):
        text, sources = answer.split("\nSources:\n")
        assert "[1]" in text and sources.startswith("[1] ")
        assert PUBMED in sources  # printed in full; the follow-up stays on the rugby article: context is kept


def test_piped_json_lines_follow_ups_and_filter_command(mini_settings: Settings, tmp_path: Path) -> None:
    lines = f"{QUESTION}\n{FOLLOW_UP}\n/filter year>=2020\n{QUESTION}\n"
    done = _chat(lines, "chat", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first, second, filtered = (json.loads(line) for line in done.stdout.splitlines())
    assert first["question"] == QUESTION and "[1]" in first["answer"]
    assert PMID in [c["pmid"] for c in first["citations"]]
    assert second["question"] == FOLLOW_UP and PMID in [c["pmid"] for c in second["citations"]]
    assert filtered["filters"] == {"year_from": 2020}
    assert PMID not in [c["pmid"] for c in filtered["citations"]]  # the filter changed what was found


def test_piped_missing_store_is_one_line_per_question_without_traceback(tmp_path: Path) -> None:
    done = _chat(
        f"{QUESTION}\n{FOLLOW_UP}\n", "chat", cwd=tmp_path, LITBOT_CHROMA_PATH=str(tmp_path / "none")
    )
    assert done.returncode == 1
    assert done.stdout.count(REFUSAL) == 2  # every question is still answered, honestly
    errors = _errors(done.stderr)
    assert len(errors) == 2 and all("litbot ingest" in line for line in errors), done.stderr
    assert "Traceback" not in done.stderr


def test_chroma_server_down_is_one_line_per_question(tmp_path: Path) -> None:
    done = _chat(f"{QUESTION}\n{QUESTION}\n", "chat", cwd=tmp_path, **_DEAD_CHROMA)
    assert done.returncode == 1 and done.stdout == ""
    errors = _errors(done.stderr)
    assert len(errors) == 2 and all("chroma run" in line for line in errors), done.stderr
    assert "Traceback" not in done.stderr


def test_unreachable_llm_is_one_line_and_the_session_continues(
    mini_settings: Settings, tmp_path: Path
) -> None:
    done = _chat(f"{QUESTION}\n/stats\n{QUESTION}\n", "chat", cwd=tmp_path, **_DEAD_LLM)
    assert done.returncode == 1
    errors = _errors(done.stderr)
    assert len(errors) == 2 and all("OPENAI_BASE_URL" in line for line in errors), done.stderr
    assert "Traceback" not in done.stderr
    assert "articles" in done.stdout  # /stats ran between the two failures


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = _chat(f"{QUESTION}\n", "--debug", "chat", cwd=tmp_path, **_DEAD_CHROMA)
    assert done.returncode == 1 and "Traceback" in done.stderr and _errors(done.stderr)


# The discard port on loopback: nothing listens there, so the connection is refused at once.
_DEAD_LLM = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "LITBOT_LLM_MAX_RETRIES": "0"}
_DEAD_CHROMA = {"LITBOT_CHROMA_HOST": "127.0.0.1", "LITBOT_CHROMA_PORT": "9"}


def _errors(stderr: str) -> list[str]:
    """The error lines the user reads (library log lines, if any, are not litbot's)."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]
