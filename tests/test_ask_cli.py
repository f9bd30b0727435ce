"""`litbot ask` through the real Typer app: text and the --json contract, filters, errors as one line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.types import REFUSAL
from ingest.settings import Settings
from tests.openai_stub import OpenAIStub, Reply

SEED_QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"
SEED_URL = "https://doi.org/10.1080/19490976.2025.2473504"
RUGBY = "Does rugby headgear prevent concussion?"
CITATION_KEYS = {"n", "id", "title", "journal", "year", "pmid", "doi", "url"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["ask", *args])
    return result.exit_code, result.stdout, result.stderr


def check_contract(payload: dict[str, object]) -> None:
    """Every [n] in the answer is a citation, every citation is used, numbered 1..n in order of first use."""
    text = str(payload["answer"])
    citations = payload["citations"]
    assert isinstance(citations, list)
    used = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", text)))
    assert used == [c["n"] for c in citations] == list(range(1, len(citations) + 1))
    for citation in citations:
        assert set(citation) >= CITATION_KEYS


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server


def test_json_answer_follows_the_contract(mini_settings: Settings) -> None:
    code, out, _ = run("--json", SEED_QUESTION)
    assert code == 0
    payload = json.loads(out)
    assert payload["mode"] == "extractive" and payload["refused"] is False
    assert payload["question"] == SEED_QUESTION
    check_contract(payload)
    assert payload["citations"][0]["url"] == SEED_URL
    assert payload["citations"][0]["doi"] == "10.1080/19490976.2025.2473504"
    assert "passages" not in payload["citations"][0]


def test_text_answer_lists_numbered_sources_with_links(mini_settings: Settings) -> None:
    code, out, _ = run(SEED_QUESTION)
    assert code == 0
    assert out.startswith("Extractive answer")
    assert "\nSources:\n[1] The gut microbiota: an emerging modulator of drug resistance in hepatocellular " \
           f"carcinoma. Gut Microbes, 2025. {SEED_URL}\n" in out  # fmt: skip
    assert "extractive mode" in out


def test_refusal_is_an_answer_not_an_error(mini_settings: Settings) -> None:
    code, out, _ = run("--json", "What is the capital of France?")
    assert code == 0
    payload = json.loads(out)
    assert payload["refused"] is True and payload["answer"] == REFUSAL and payload["citations"] == []


def test_filters_and_k_reach_retrieval(mini_settings: Settings) -> None:
    code, out, _ = run("--json", "--year-to", "2001", "--k", "2", RUGBY)
    assert code == 0
    payload = json.loads(out)
    assert payload["filters"] == {"year_to": 2001}
    assert all(c["id"] != "pmid:11867487" for c in payload["citations"])
    assert len(payload["citations"]) <= 2
    code, out, _ = run("--json", "--journal", "Gut Microbes", "--year-from", "2024", SEED_QUESTION)
    assert json.loads(out)["citations"][0]["url"] == SEED_URL


def test_bad_options_exit_2_with_one_line(mini_settings: Settings) -> None:
    code, _, err = run("--year-from", "2020", "--year-to", "2010", RUGBY)
    assert code == 2 and err.strip() == "error: --year-from 2020 is after --year-to 2010"
    code, _, _ = run("--k", "0", RUGBY)
    assert code == 2


def test_empty_store_refuses_and_says_how_to_fill_it(settings: Settings) -> None:
    code, out, err = run(RUGBY)
    assert code == 0 and out.startswith(REFUSAL)
    assert "litbot ingest --sample" in err


@pytest.mark.slow
def test_llm_mode_json_and_errors(
    mini_settings: Settings, stub: OpenAIStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", stub.url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-cli-secret")
    monkeypatch.setenv("LITBOT_LLM_MAX_RETRIES", "0")
    stub.script(Reply("Few players wear it [1][4]. Coaches doubt it [1]."))
    code, out, _ = run("--json", RUGBY)
    assert code == 0
    payload = json.loads(out)
    assert payload["mode"] == "llm" and payload["answer"] == "Few players wear it [1]. Coaches doubt it [1]."
    check_contract(payload)
    assert (
        payload["usage"]["prompt_tokens"] == 120 + stub.side_tokens()[0] and payload["usage"]["cost_usd"] > 0
    )

    stub.script(Reply(status=500))
    code, out, err = run(RUGBY)
    assert code == 1 and out == ""
    assert (
        err.startswith("error: the LLM server") and "HTTP 500" in err and len(err.strip().splitlines()) == 1
    )
    assert "sk-cli-secret" not in err


@pytest.mark.slow
def test_extractive_mode_never_imports_langchain(settings: Settings) -> None:
    """LangChain and the OpenAI client take seconds to import; `litbot ask` without an LLM must not pay that."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from bot.cli.app import app\n"
        "result = CliRunner().invoke(app, ['ask', '--json', 'Does rugby headgear prevent concussion?'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langchain_core', 'langchain_openai', 'openai'}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
