"""Secrets: with every key and token set to a known canary, run the commands a user runs (with and without
--debug, against loopback servers that fail) and scan everything they print and write for the canaries.

Covered: `stats` (embedded, and a Chroma server that is down, with a bearer token), `--debug ask` in LLM mode
against an OpenAI-protocol stub answering 401 and 500, `discord` with an unusable token (exit 2), and
`--debug ingest --pubmed` against an E-utilities stub answering 500 (the key is a form field NCBI requires).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.settings import Settings

from .cli_runner import run_litbot
from .eutils_stub import EutilsStub, Fault, running_stub
from .openai_stub import OpenAIStub, Reply

LITBOT = str(Path(sys.executable).parent / "litbot")
CANARIES = {
    "OPENAI_API_KEY": "sk-SECRET-canary-1",
    "LITBOT_DISCORD_TOKEN": "SECRET-canary-2",
    "NCBI_API_KEY": "SECRET-canary-3",
    "LITBOT_CHROMA_TOKEN": "SECRET-canary-4",
}


@pytest.fixture
def eutils() -> Iterator[EutilsStub]:
    yield from running_stub()


def litbot(*args: str, env: dict[str, str], data_dir: Path, own_process: bool = False) -> tuple[int, str]:
    """Run litbot with the canaries set (in this process, unless ``own_process``: then all a fresh process
    writes to its file descriptors is scanned); return its exit status and everything it printed or logged."""
    full = {**CANARIES, "LITBOT_LLM_MAX_RETRIES": "0", "LITBOT_DATA_DIR": str(data_dir), **env}
    if own_process:
        result = subprocess.run(
            [LITBOT, *args], env={**os.environ, **full}, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    else:
        result = run_litbot(*args, env=full)
    written = "".join(
        path.read_text(errors="replace") for path in data_dir.rglob("*") if path.is_file() and path.stat().st_size < 10**7
    ) if data_dir.exists() else ""  # fmt: skip
    return result.returncode, result.stdout + result.stderr + written


def assert_no_canary(output: str) -> None:
    for name, canary in CANARIES.items():
        assert canary not in output, f"{name} leaked"
        assert canary.split("-", 1)[1] not in output, f"part of {name} leaked"


@pytest.mark.slow
def test_stats_never_show_secrets(mini_settings: Settings, tmp_path: Path) -> None:
    for args in (["stats", "--json"], ["--debug", "stats"]):
        code, output = litbot(*args, env={}, data_dir=tmp_path / "data")
        assert code == 0 and "articles" in output, output
        assert_no_canary(output)


def test_chroma_token_is_not_shown_when_the_server_is_down(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {"LITBOT_CHROMA_HOST": "127.0.0.1", "LITBOT_CHROMA_PORT": str(port)}
    code, output = litbot("--debug", "stats", env=env, data_dir=tmp_path / "data")
    assert code == 1 and "Chroma server" in output
    assert_no_canary(output)


@pytest.mark.slow
@pytest.mark.parametrize("status", [401, 500])
def test_debug_ask_with_a_failing_llm_never_shows_the_key(
    mini_settings: Settings, tmp_path: Path, status: int
) -> None:
    with OpenAIStub(default=Reply(status=status)) as stub:
        env = {"OPENAI_BASE_URL": stub.url}
        code, output = litbot(
            "--debug", "ask", "Does rugby headgear prevent concussion?", env=env, data_dir=tmp_path / "d"
        )
    assert code == 1 and f"HTTP {status}" in output and "DEBUG" in output, output
    assert (
        stub.requests and stub.requests[0].headers["authorization"] == f"Bearer {CANARIES['OPENAI_API_KEY']}"
    )
    assert_no_canary(output)


def test_discord_with_an_unusable_token_exits_2_without_it(tmp_path: Path) -> None:
    for args in (["discord"], ["--debug", "discord"]):
        code, output = litbot(*args, env={}, data_dir=tmp_path / "data", own_process=True)
        assert code == 2, output
        assert_no_canary(output)


@pytest.mark.slow
def test_debug_pubmed_ingest_against_a_failing_eutils_never_shows_the_key(
    eutils: EutilsStub, tmp_path: Path
) -> None:
    eutils.faults.append(Fault("esearch", status=500, body=b"oops", headers={"Retry-After": "0"}, times=-1))
    env = {"LITBOT_EUTILS_URL": eutils.url}
    code, output = litbot("--debug", "ingest", "--pubmed", "x", env=env, data_dir=tmp_path / "data")
    assert code == 1 and "NCBI" in output and "DEBUG" in output, output
    assert eutils.requests("esearch")[0].params["api_key"] == CANARIES["NCBI_API_KEY"]
    assert_no_canary(output)
