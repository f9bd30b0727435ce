"""Extractive answers over the mini corpus (63 real PubMedQA abstracts + the seed article), offline."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.chat import ChatHandler
from bot.citations import check_consistent
from bot.extractive import HEADER, MAX_WORDS, ExtractiveAnswerer, article_sentences
from bot.types import REFUSAL, Answer, Filters
from ingest.embeddings import make_embedder
from ingest.settings import Settings

CORPUS = Path(__file__).parent / "fixtures" / "corpus-mini"
SEED_QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"
SEED_DOI = "10.1080/19490976.2025.2473504"
ABSTRACTS = {
    f"pmid:{r['pmid']}": r["abstract"]
    for r in map(json.loads, (CORPUS / "pubmedqa-mini.jsonl").read_text().splitlines())
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


def test_seed_question_gets_a_short_cited_extract_of_the_seed(handler: ChatHandler) -> None:
    answer = ask(handler, SEED_QUESTION)

    assert not answer.refused and answer.mode == "extractive"
    assert answer.text.startswith(HEADER + "\n\n")
    assert answer.citations[0].doi == SEED_DOI
    assert answer.citations[0].url == f"https://doi.org/{SEED_DOI}"
    assert answer.citations[0].title.startswith(
        "The gut microbiota: an emerging modulator of drug resistance"
    )
    assert check_consistent(answer.text, answer.citations)
    sentences = bullets(answer)
    seed_text = (CORPUS / "gut-microbiota-hcc-drug-resistance.txt").read_text()
    assert 2 <= len(sentences) <= 5
    assert all(s.rstrip(".") in seed_text for s in sentences)  # quoted, not paraphrased
    assert sum(len(s.split()) for s in sentences) <= MAX_WORDS
    assert any("drug resistance" in s for s in sentences)


def test_answers_pick_sentences_not_whole_abstracts_in_reading_order(handler: ChatHandler) -> None:
    answer = ask(handler, "How are vaccines stored in general practices, and at what temperatures?")
    abstract = ABSTRACTS["pmid:1571683"]

    assert answer.citations[0].id == "pmid:1571683"
    own = [s for s in bullets(answer) if s.rstrip(".") in abstract]
    assert len(own) >= 2
    assert sum(len(s) for s in own) < 0.7 * len(abstract)
    positions = [abstract.index(s.rstrip(".")) for s in own]
    assert positions == sorted(positions)
    assert not any(s.startswith("To assess") for s in own)  # the aim is not an answer


@pytest.mark.parametrize("question", [q["question"] for q in QUESTIONS[::9]])
def test_corpus_questions_cite_their_own_abstract_first(handler: ChatHandler, question: str) -> None:
    pmid = next(q["pmid"] for q in QUESTIONS if q["question"] == question)
    answer = ask(handler, question)
    assert not answer.refused
    assert answer.citations[0].id == f"pmid:{pmid}"
    assert answer.citations[0].url == f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
    assert check_consistent(answer.text, answer.citations)
    for citation in answer.citations:
        assert citation.passages and all(p.rstrip(".") in answer.text for p in citation.passages)


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of France?",
        "How do I bake sourdough bread at home?",
        "Who won the 1998 World Cup?",
    ],
)
def test_off_topic_questions_are_refused(handler: ChatHandler, question: str) -> None:
    answer = ask(handler, question)
    assert answer.refused and answer.text == REFUSAL and answer.citations == []


def test_filters_limit_what_can_be_cited(handler: ChatHandler) -> None:
    rugby = "Does rugby headgear prevent concussion?"  # pmid:11867487, 2002, no journal in PubMedQA
    assert ask(handler, rugby, year_from=2000).citations[0].id == "pmid:11867487"
    assert all(c.id != "pmid:11867487" for c in ask(handler, rugby, year_to=2001).citations)
    assert ask(handler, rugby, journal="gut microbes").refused
    seed = ask(handler, SEED_QUESTION, journal="gut microbes")
    assert [c.doi for c in seed.citations] == [SEED_DOI]
    assert seed.filters.journal == "gut microbes"
    assert all(c.doi != SEED_DOI for c in ask(handler, SEED_QUESTION, year_to=2020).citations)


@dataclass
class Art:
    article_id: str
    passages: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    relevance: float = 0.6


def test_sections_carry_over_chunks_and_overlap_is_kept_once() -> None:
    chunks = [
        "OBJECTIVE: To test whether drug X lowers blood pressure in adults. METHODS: We enrolled 200 adults "
        "with hypertension.",
        "We enrolled 200 adults with hypertension. Blood pressure fell by 12 mmHg with drug X compared "
        "with placebo. CONCLUSIONS: Drug X lowers blood pressure.",
    ]
    sentences = article_sentences(1, chunks)
    assert [(s.label, s.text[:20]) for s in sentences] == [
        ("OBJECTIVE", "To test whether drug"),
        ("METHODS", "We enrolled 200 adul"),
        ("METHODS", "Blood pressure fell "),
        ("CONCLUSIONS", "Drug X lowers blood "),
    ]


def test_without_the_store_the_matched_passages_are_used(settings: Settings) -> None:
    answerer = ExtractiveAnswerer(make_embedder(settings))
    text = (
        "RESULTS: Drug X lowered systolic blood pressure by 12 mmHg in adults with hypertension. "
        "The weather was sunny during most study visits in the spring."
    )
    article = Art("pmid:1", [text])
    composed = answerer.answer("Does drug X lower blood pressure?", [article])
    assert "lowered systolic blood pressure by 12 mmHg" in composed.text
    assert "weather" not in composed.text
    assert [c.id for c in composed.citations] == ["pmid:1"]


def test_square_brackets_in_abstracts_cannot_pose_as_citations() -> None:
    sentences = article_sentences(1, ["Age predicted perforation [odds ratio 3.6] as shown before [12]."])
    assert sentences[0].text == "Age predicted perforation (odds ratio 3.6) as shown before (12)."
