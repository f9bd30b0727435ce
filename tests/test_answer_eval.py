"""`litbot eval answers`: question sets in, answered/partial/refused, gold cited and padding out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.eval.answers import AnswerCase, AnswerReport, load_cases, quotes, score_case
from bot.types import Answer, Citation
from ingest.errors import InputError
from ingest.settings import Settings
from tests.cli_runner import run_litbot

RUGBY = "Does rugby headgear prevent concussion?"
RUGBY_CONCLUSION = (
    "Although most players in the study believe that rugby headgear may prevent concussion, only a minority "
    "reported wearing it. Coaches tended to be less convinced than the players that rugby headgear can prevent "
    "concussion."
)


def test_cases_take_gold_from_pmid_doi_or_ids_and_bad_lines_are_named(tmp_path: Path) -> None:
    good = tmp_path / "set.jsonl"
    good.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": "Q1", "pmid": "11867487", "conclusion": "C."},
                {"question": "Q2", "doi": "https://doi.org/10.1/ABC", "kind": "x"},
                {"question": "Q3", "gold": ["src:7"]},
                {"question": "Q4", "answerable": False},
            ]
        )
    )
    cases = load_cases(good)
    assert [c.gold for c in cases] == [
        frozenset({"pmid:11867487"}), frozenset({"doi:10.1/abc"}), frozenset({"src:7"}), frozenset()
    ]  # fmt: skip
    assert [c.answerable for c in cases] == [True, True, True, False]
    assert cases[0].conclusion == "C." and cases[1].tag == "x"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok"}\nnot json\n')
    with pytest.raises(InputError, match=r"bad\.jsonl: line 2"):
        load_cases(bad)


def citation(n: int, article_id: str) -> Citation:
    return Citation(n=n, id=article_id)


def test_answer_sentences_citing_only_other_articles_count_as_off_topic() -> None:
    case = AnswerCase(RUGBY, frozenset({"pmid:1"}), True, RUGBY_CONCLUSION)
    answer = Answer(
        question=RUGBY,
        mode="extractive",
        text="Header line.\n\n- Coaches tended to be less convinced than the players that rugby headgear can "
        "prevent concussion [1].\n- Helmets are hot [2].\n- Both agree [1][2].",
        citations=[citation(1, "pmid:1"), citation(2, "pmid:2")],
    )
    result = score_case(case, answer, 0.5)
    assert (result.outcome, result.sentences, result.off_topic) == ("answered", 3, 1)
    assert result.gold_cited and result.gold_first and result.conclusion_quoted is True
    refused = score_case(case, Answer(question=RUGBY, mode="extractive", text="No.", refused=True), 0.1)
    assert refused.outcome == "refused" and refused.conclusion_quoted is False and not refused.gold_cited
    partial = Answer(
        question=RUGBY,
        mode="extractive",
        text="x [1]",
        missing=["children"],
        citations=[citation(1, "pmid:9")],
    )
    assert score_case(case, partial, 0.1).outcome == "partial"


def test_quoting_needs_nearly_the_same_words() -> None:
    assert quotes(
        "- Coaches tended to be less convinced than the players that rugby headgear can prevent concussion [1].",
        RUGBY_CONCLUSION,
    )
    assert not quotes("- Coaches disagree with players about headgear [1].", RUGBY_CONCLUSION)


def test_summary_rates_add_up() -> None:
    report = AnswerReport()
    gold = frozenset({"pmid:1"})
    for text, refused, missing, cited in [
        ("a [1]", False, [], "pmid:1"),
        ("b [1]", False, ["x"], "pmid:1"),
        ("no", True, [], None),
        ("c [1]", False, [], "pmid:2"),
    ]:
        answer = Answer(question="q", mode="extractive", text=text, refused=refused, missing=missing,
                        citations=[citation(1, cited)] if cited else [])  # fmt: skip
        report.results.append(score_case(AnswerCase("q", gold), answer, 1.0))
    summary = report.summary()["answerable"]
    assert isinstance(summary, dict)
    assert (summary["answered"], summary["partial"], summary["refused"]) == (0.5, 0.25, 0.25)
    assert summary["answered_citing_gold"] == 0.25 and summary["gold_cited"] == 0.5


@pytest.mark.slow
def test_eval_answers_cli_on_the_mini_store(mini_settings: Settings, tmp_path: Path) -> None:
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"question": RUGBY, "pmid": "11867487", "conclusion": RUGBY_CONCLUSION},
                {"question": "How well are vaccines stored in general practices?", "pmid": "1571683"},
                {"question": "Does lecanemab slow memory loss in dementia?", "answerable": False},
            ]
        )
    )
    done = run_litbot("eval", "answers", str(questions), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["mode"] == "extractive" and report["cases"] == 3
    assert report["answerable"]["answered_citing_gold"] == 1.0
    assert report["answerable"]["conclusion_quoted"] == 1.0
    assert report["unanswerable"]["refused_or_partial"] == 1.0
    assert [r["outcome"] for r in report["results"]][:2] == ["answered", "answered"]

    hidden = run_litbot("eval", "answers", str(questions), "--leave-gold-out", "--json")
    left = json.loads(hidden.stdout)
    assert "answerable" not in left and left["unanswerable"]["cases"] == 3
    assert all(not r["gold_cited"] for r in left["results"])  # the gold articles were really hidden

    text = run_litbot("eval", "answers", str(questions))
    assert text.returncode == 0 and "answerable (2 questions): answered 100.0%" in text.stdout


@pytest.mark.slow
def test_eval_answers_runs_in_llm_mode_against_an_openai_compatible_server(
    mini_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.openai_stub import OpenAIStub, Reply

    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps({"question": RUGBY, "pmid": "11867487"}) + "\n")
    with OpenAIStub(default=Reply("Most players think headgear prevents concussion [1].")) as stub:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.url)
        done = run_litbot("eval", "answers", str(questions), "--mode", "llm", "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["mode"] == "llm" and report["answerable"]["answered_citing_gold"] == 1.0
        assert len(stub.requests) == 1
        forced = run_litbot("eval", "answers", str(questions), "--mode", "extractive", "--json")
        assert json.loads(forced.stdout)["mode"] == "extractive" and len(stub.requests) == 1
