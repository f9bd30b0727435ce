"""Extractive answers end to end over the mini corpus (63 real PubMedQA abstracts + the seed article), offline:
the three outcomes (answer, partial, refusal), findings before aims, filters and follow-ups honoured."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from bot.answer.citations import check_consistent
from bot.answer.extractive import HEADER, MAX_WORDS, PARTIAL_LEAD
from bot.chat import ChatHandler
from bot.types import REFUSAL, Answer, Filters
from ingest.settings import Settings

CORPUS = Path(__file__).parent / "fixtures" / "corpus-mini"
SEED_QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"
SEED_DOI = "10.1080/19490976.2025.2473504"
RUGBY = "Does rugby headgear prevent concussion?"
RECORDS = {
    f"pmid:{r['pmid']}": r for r in map(json.loads, (CORPUS / "pubmedqa-mini.jsonl").read_text().splitlines())
}
QUESTIONS = [json.loads(line) for line in (CORPUS / "questions.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def handler(mini_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> ChatHandler:
    """One extractive handler over a module-private copy of the mini store (these tests only read)."""
    path = tmp_path_factory.mktemp("extractive-store") / "chroma"
    shutil.copytree(mini_store_template, path)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, chroma_path=path, data_dir=path.parent / "data", llm_enabled=False, prompts_dir=None
    )
    built = ChatHandler.from_settings(settings)
    assert built.mode == "extractive"
    return built


def ask(handler: ChatHandler, question: str, **filters: Any) -> Answer:
    return handler.new_session().ask(question, filters=Filters(**filters))


def bullets(answer: Answer) -> list[str]:
    """The quoted sentences, without their citation marks."""
    lines = [line[2:] for line in answer.text.splitlines() if line.startswith("- ")]
    return [re.sub(r" \[\d+\](?=\.?$)", "", line) for line in lines]


def test_seed_question_is_answered_with_the_reviews_findings(handler: ChatHandler) -> None:
    answer = ask(handler, SEED_QUESTION)

    assert not answer.refused and answer.missing == [] and answer.mode == "extractive"
    assert answer.text.startswith(HEADER + "\n\n")
    assert answer.citations[0].doi == SEED_DOI and answer.citations[0].link == f"https://doi.org/{SEED_DOI}"
    assert check_consistent(answer.text, answer.citations)
    sentences = bullets(answer)
    seed_text = " ".join((CORPUS / "gut-microbiota-hcc-drug-resistance.txt").read_text().split())
    assert 1 <= len(sentences) <= 5 and sum(len(s.split()) for s in sentences) <= MAX_WORDS
    assert all(s.rstrip(".") in seed_text for s in sentences)  # quoted, not paraphrased
    assert any("drug resistance through" in s for s in sentences)  # the review's finding...
    assert not any("are lacking" in s or s.startswith("Herein") for s in sentences)  # ...not its gap or aim


def test_an_answer_quotes_the_conclusion_and_never_the_aim(handler: ChatHandler) -> None:
    answer = ask(handler, RUGBY)
    record = RECORDS["pmid:11867487"]
    conclusion = next(s["text"] for s in record["sections"] if s["label"] == "CONCLUSIONS")

    assert answer.citations[0].id == "pmid:11867487" and answer.missing == []
    assert answer.citations[0].title == record["title"]  # the sample carries its real titles
    sentences = bullets(answer)
    assert sentences and sentences[0].rstrip(".") in conclusion
    assert not any(s.startswith("To examine") for s in sentences)


@pytest.mark.parametrize("question", [q["question"] for q in QUESTIONS[::9]])
def test_corpus_questions_cite_their_own_abstract_first(handler: ChatHandler, question: str) -> None:
    pmid = next(q["pmid"] for q in QUESTIONS if q["question"] == question)
    answer = ask(handler, question)
    assert not answer.refused and answer.missing == []
    assert answer.citations[0].id == f"pmid:{pmid}"
    assert answer.citations[0].link == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    assert check_consistent(answer.text, answer.citations)
    for citation in answer.citations:
        assert citation.passages and all(p.rstrip(".") in answer.text for p in citation.passages)


def test_a_concept_no_article_covers_with_the_rest_gives_a_partial_answer(handler: ChatHandler) -> None:
    answer = ask(handler, "Is laparoscopy safe during pregnancy?")

    assert not answer.refused and answer.missing == ["pregnancy"]
    lines = answer.text.splitlines()
    assert lines[2] == (
        "The indexed abstracts discuss laparoscopy [1], but none of them in connection with pregnancy."
    )
    assert PARTIAL_LEAD in answer.text
    assert answer.citations[0].id == "pmid:12098035"  # the laparoscopy article, named and cited
    assert check_consistent(answer.text, answer.citations)


def test_a_drug_no_article_mentions_gives_a_partial_answer_that_says_so(handler: ChatHandler) -> None:
    answer = ask(handler, "Does semaglutide prevent concussion in rugby players?")
    assert answer.missing == ["semaglutide"] and not answer.refused
    assert "but none of them mentions semaglutide." in answer.text


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "How do I bake sourdough bread at home?",
        "Does lecanemab slow memory loss in Alzheimer's disease?",
    ],
)
def test_questions_nothing_covers_are_refused(handler: ChatHandler, question: str) -> None:
    answer = ask(handler, question)
    assert answer.refused and answer.text == REFUSAL and answer.citations == []


def test_filters_that_leave_nothing_relevant_refuse_and_say_they_are_active(handler: ChatHandler) -> None:
    assert ask(handler, RUGBY, year_from=2000).citations[0].id == "pmid:11867487"
    filtered = ask(handler, RUGBY, year_from=2010)  # the rugby article is from 2002
    assert filtered.refused or filtered.missing
    assert all(c.id != "pmid:11867487" for c in filtered.citations)
    from bot.render import answer_notes

    assert any("Filters are active (year>=2010)" in note for note in answer_notes(filtered))
    seed = ask(handler, SEED_QUESTION, journal="gut microbes")
    assert [c.doi for c in seed.citations] == [SEED_DOI] and seed.filters.journal == "gut microbes"
    assert ask(handler, RUGBY, journal="gut microbes").refused


def test_a_follow_up_whose_new_concept_is_not_covered_is_partial_not_a_repeat(handler: ChatHandler) -> None:
    session = handler.new_session()
    first = session.ask(RUGBY)
    follow = session.ask("and in children?")

    assert first.missing == [] and not first.refused
    assert follow.standalone_question == RUGBY.rstrip("?") + " in children?"
    assert follow.missing == ["children"]
    assert "none of them in connection with children" in follow.text
    assert follow.text != first.text
    # the rugby abstract's players range from high school to national teams, and its MeSH age tags from
    # Adolescent to Adult: no study of teenagers, and it is not declared to lack them either
    teenagers = session.ask("and what about teenagers?")
    assert teenagers.missing == ["teenagers"] and not teenagers.refused
    assert "and mention teenagers" in teenagers.text and "none of them" not in teenagers.text, teenagers.text


def test_untitled_records_are_named_by_their_finding_the_same_way_everywhere(
    settings: Settings, tmp_path: Path
) -> None:
    """A record with no title (and no link) still gets one consistent name in ask, chat and JSON."""
    from bot.render import source_line
    from bot.terminal.render import plain_answer
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import open_store

    record = RECORDS["pmid:11867487"]
    untitled = tmp_path / "untitled.jsonl"
    untitled.write_text(json.dumps({"id": "rugby-1", "abstract": record["abstract"]}) + "\n")
    embedder = make_embedder(settings)
    ingest_inputs([str(untitled)], Ingestor(open_store(settings, embedder.name), embedder, settings))
    answer = ChatHandler.from_settings(settings).new_session().ask(RUGBY)

    citation = answer.citations[0]
    assert citation.id == "src:rugby-1" and citation.title == "" and citation.link is None
    assert citation.label.startswith("Untitled: “") and citation.label[11:30] in answer.text
    assert source_line(citation).startswith(f"[1] {citation.label}")
    assert f"[1] {citation.label}" in plain_answer(answer)
    assert answer.to_json_dict()["citations"][0]["label"] == citation.label  # type: ignore[index]
