"""The interactive `litbot chat` in a pseudo-terminal, over the real chat handler and the mini store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.types import REFUSAL
from ingest.settings import Settings
from tests.repl_llm_stub import StubLLM
from tests.repl_screen import WAIT, Screen, chat_env

QUESTION = "Does rugby headgear prevent concussion?"
PMID = "11867487"  # the mini-corpus abstract that answers QUESTION (2002)
PUBMED = f"https://pubmed.ncbi.nlm.nih.gov/{PMID}/"

pytestmark = pytest.mark.slow


def test_ask_follow_up_filter_sources_help_and_quit(mini_settings: Settings, tmp_path: Path) -> None:
    screen = Screen(env=chat_env(), cwd=tmp_path)
    try:
        banner = screen.prompt()
        assert "64 articles" in banner and "all-MiniLM-L6-v2" in banner and "extractive" in banner
        assert str(mini_settings.chroma_path) in banner

        screen.ask("Does rugby headgear \\")  # a trailing backslash continues the question on a new line
        screen.ask("prevent concussion?")
        shown = screen.prompt()
        assert "Searching the literature" in shown  # the spinner, drawn while retrieving
        assert "[1]" in shown and "Sources" in shown
        assert PUBMED in screen.links_since_mark()  # a clickable OSC-8 link to the source

        screen.ask(
            "Did the coaches agree with the players?"
        )  # only the conversation says what "agree" is about
        shown = screen.prompt()
        assert "[1]" in shown
        assert PUBMED in screen.links_since_mark()

        screen.ask("/sources")
        shown = screen.prompt()
        assert "Sources of: Did the coaches agree" in shown and "[1]" in shown
        assert "“" in shown  # the passages the answer used are quoted

        screen.ask("/filter year>=2020")
        screen.prompt("year>=2020")
        screen.ask(QUESTION)
        shown = screen.prompt("year>=2020")
        assert PUBMED not in screen.links_since_mark()  # the 2002 abstract is filtered out
        assert REFUSAL in shown or "Gut Microbes" in shown  # only the 2025 seed article is left

        screen.ask("/filter off")
        screen.prompt()
        screen.ask("/help")
        shown = screen.prompt()
        assert "/filter" in shown and "/sources" in shown and "Esc then Enter" in shown
        screen.ask("/sorces")
        assert "did you mean /sources?" in screen.prompt()

        screen.child.sendintr()  # Ctrl-C at an empty prompt does not leave
        screen.wait_for("Ctrl-D or /quit leaves")
        screen.prompt()
        screen.ask("/quit")
        assert screen.finish() == 0
    finally:
        screen.close()
    history = (mini_settings.data_dir / "chat_history").read_text()
    assert QUESTION in history and "/filter year>=2020" in history  # persistent line history


def test_ctrl_c_cancels_a_streaming_answer_and_the_chat_goes_on(
    mini_settings: Settings, tmp_path: Path
) -> None:
    with StubLLM(slow_delay=0.1) as llm:  # 400 words: 40 s to interrupt it in
        env = chat_env(
            OPENAI_BASE_URL=llm.base_url, LITBOT_LLM_MODEL="stub-model", LITBOT_LLM_MAX_RETRIES="0"
        )
        screen = Screen("--no-links", env=env, cwd=tmp_path)
        try:
            assert "LLM stub-model" in " ".join(screen.prompt().split())  # the banner may wrap
            screen.ask(f"SLOW {QUESTION}")
            screen.wait_for("Headgear did not")  # the answer streams in as it is written
            screen.child.sendintr()
            shown = screen.prompt()
            assert "cancelled" in shown and "Sources" not in shown
            _wait_until(lambda: llm.disconnects >= 1)  # the request really stopped, not just the display

            screen.ask(QUESTION)
            shown = screen.prompt()
            assert (
                "Headgear did not clearly prevent concussion" in shown
                and "[1]" in shown
                and "Sources" in shown
            )
            assert PUBMED in shown and not screen.links_since_mark()  # --no-links: the URL in full, as text
            screen.child.sendeof()
            assert screen.finish() == 0
        finally:
            screen.close()
        streamed = [r for r in llm.requests if r.get("stream")]
        assert QUESTION in json.dumps(streamed[-1]["messages"])


def test_missing_store_is_one_clear_line_and_the_prompt_stays(tmp_path: Path) -> None:
    screen = Screen(env=chat_env(LITBOT_CHROMA_PATH=str(tmp_path / "no-store")), cwd=tmp_path)
    try:
        shown = screen.prompt()
        assert "error:" in shown and "litbot ingest" in shown and "Traceback" not in shown
        screen.ask(QUESTION)
        shown = screen.prompt()
        assert shown.count("error:") == 1 and "Traceback" not in shown
        screen.ask("/quit")
        assert screen.finish() == 0
    finally:
        screen.close()


def _wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.2)
