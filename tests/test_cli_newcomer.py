"""What a newcomer meets first: help, progress, ingest summaries, JSON errors, a quiet Discord start."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.cli_runner import run_litbot
from tests.conftest import default_sigint

LITBOT = str(Path(sys.executable).with_name("litbot"))
CSV = "pmid,title,abstract\n1,A,A good first abstract about rugby headgear and concussion.\n2,B,\n3,C,A good third abstract about vaccines kept in fridges.\n"


@pytest.mark.parametrize(
    "command", [[], ["ask"], ["ingest"], ["chat"], ["watch", "run"], ["eval", "answers"]]
)
def test_help_takes_dash_h_shows_flags_as_flags_and_wraps_to_the_terminal(command: list[str]) -> None:
    done = run_litbot(*command, "-h", env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout
    options = done.stdout.split("Options", 1)[-1]  # a value is named (--since SINCE), not typed (<str>)
    assert not re.search(r"--[\w-]+ +<(str|int|path|list)", options), options
    assert "Usage: litbot" in done.stdout
    if command == ["ask"]:  # a docstring sentence that spans two source lines reads as one line
        assert "otherwise answers extractively with the most relevant sentences" in done.stdout


def test_a_missing_input_fails_in_one_line_before_any_store_exists(tmp_path: Path) -> None:
    done = run_litbot("ingest", str(tmp_path / "nope.txt"), env={"LITBOT_DATA_DIR": str(tmp_path / "data")})
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.txt'}: no such file or folder"
    assert not (tmp_path / "data").exists() and not Path(os.environ["LITBOT_CHROMA_PATH"]).exists()


@pytest.mark.slow
def test_each_skip_is_reported_once_and_the_counts_add_up(tmp_path: Path) -> None:
    data = tmp_path / "three.csv"
    data.write_text(CSV)
    done = run_litbot("ingest", str(data), str(tmp_path / "missing.csv"))
    assert done.returncode == 1  # an input failed
    assert done.stdout.startswith("read 3: 2 new, 0 updated, 0 unchanged, 1 skipped")
    assert done.stderr.count("line 3") == 1 and "WARNING" not in done.stderr
    assert "failed: " in done.stderr and "missing.csv" in done.stderr
    report = json.loads(run_litbot("ingest", str(data), "--json").stdout)
    assert report["read"] == report["new"] + report["updated"] + report["unchanged"] + report["skipped"] == 3
    assert report["input_errors"] == [] and len(report["problems"]) == 1


@pytest.mark.slow
def test_without_a_terminal_progress_is_a_plain_line(tmp_path: Path) -> None:
    data = tmp_path / "three.csv"
    data.write_text(CSV)
    done = run_litbot("ingest", str(data))
    assert "loading the embedding model" in done.stderr and "ingesting three.csv:" in done.stderr
    assert "\x1b[" not in done.stderr  # no escape codes in a log


@pytest.mark.slow
def test_on_a_terminal_progress_is_one_bar_with_a_sane_rate(tmp_path: Path) -> None:
    data = tmp_path / "three.csv"
    data.write_text(CSV)
    child = pexpect.spawn(
        LITBOT, ["ingest", str(data)], env={**os.environ, "COLUMNS": "120"}, encoding="utf-8", timeout=120,
        preexec_fn=default_sigint,
    )  # fmt: skip
    child.expect(pexpect.EOF)
    screen = child.before or ""
    assert "three.csv" in screen and "2 articles" in screen
    rates = [float(part.split("/s")[0].split()[-1]) for part in screen.split("·")[1:] if "/s" in part]
    assert rates and all(rate < 1000 for rate in rates)  # not "43994417.6 articles/s"
    assert "read 3: 2 new" in screen


@pytest.mark.slow
def test_json_errors_are_json_on_stdout() -> None:
    empty = run_litbot("ask", "", "--json")
    assert empty.returncode != 0 and json.loads(empty.stdout)["error"].startswith("the question is empty")
    long = run_litbot("ask", "why " * 700, "--json")
    assert "too long" in json.loads(long.stdout)["error"]
    bad = run_litbot("stats", "--json", env={"LITBOT_CHROMA_PORT": "abc"})
    assert bad.returncode == 2 and "LITBOT_CHROMA_PORT='abc'" in json.loads(bad.stdout)["error"]


def test_discord_start_is_quiet_about_voice_packages(
    caplog: pytest.LogCaptureFixture, mini_settings: object
) -> None:
    import discord

    from bot.chat import ChatHandler
    from bot.discord.client import LitbotBot

    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = True  # as in a fresh process
    with caplog.at_level(logging.WARNING):
        LitbotBot(mini_settings, ChatHandler.from_settings(mini_settings))  # type: ignore[arg-type]
    assert not [r for r in caplog.records if "not installed" in r.getMessage()]


def test_help_loads_no_store_model_or_parser() -> None:
    """`litbot --help` (and the start of every command) imports only the command line: the store, the model,
    numpy, the XML parser and discord.py load when a command needs them (~0.4 s to start instead of ~0.9 s)."""
    heavy = ["chromadb", "discord", "langchain_core", "lxml", "numpy", "onnxruntime", "pydantic", "rich"]
    code = f"import sys, bot.cli.app; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
