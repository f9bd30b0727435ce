"""Chat sessions: history, follow-ups made standalone (both modes), empty stores, stats, threads."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.answer.followups import TopicTracker, is_follow_up, merge
from bot.chat import EMPTY_STORE_HINT, ChatHandler
from bot.types import REFUSAL
from ingest.errors import LitbotError, StoreError
from ingest.settings import Settings
from tests.openai_stub import OpenAIStub, Reply

CORPUS = Path(__file__).parent / "fixtures" / "corpus-mini"
SEED_QUESTION = "How does the gut microbiota contribute to drug resistance in liver cancer?"
SEED_ID = "doi:10.1080/19490976.2025.2473504"
RUGBY = "Does rugby headgear prevent concussion?"


@pytest.fixture(scope="module")
def store_settings(mini_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("chat-store") / "chroma"
    shutil.copytree(mini_store_template, path)
    return Settings(  # type: ignore[call-arg]
        _env_file=None, chroma_path=path, data_dir=path.parent / "data", llm_enabled=False, prompts_dir=None
    )


@pytest.fixture(scope="module")
def handler(store_settings: Settings) -> ChatHandler:
    return ChatHandler.from_settings(store_settings)


@pytest.fixture
def stub() -> Iterator[OpenAIStub]:
    with OpenAIStub() as server:
        yield server


def test_follow_up_is_merged_with_the_topic_in_extractive_mode(handler: ChatHandler) -> None:
    session = handler.new_session()
    first = session.ask(SEED_QUESTION)
    follow = session.ask("and in mice?")

    assert first.standalone_question == SEED_QUESTION
    assert follow.question == "and in mice?"
    assert follow.standalone_question == SEED_QUESTION.rstrip("?") + " in mice?"
    assert not follow.refused and follow.citations[0].id == SEED_ID
    alone = handler.new_session().ask("and in mice?")  # without the conversation it means nothing here
    assert alone.refused and alone.standalone_question == "and in mice?"


def test_a_full_new_question_stands_alone_and_becomes_the_topic(handler: ChatHandler) -> None:
    session = handler.new_session()
    session.ask(SEED_QUESTION)
    rugby = session.ask(RUGBY)
    assert rugby.standalone_question == RUGBY
    assert rugby.citations[0].id == "pmid:11867487"
    assert (
        session.ask("what about coaches?").standalone_question
        == "Does rugby headgear prevent concussion — coaches?"
    )


def test_history_is_bounded_and_reset_forgets(handler: ChatHandler) -> None:
    session = handler.new_session(max_turns=2)
    questions = [SEED_QUESTION, RUGBY, "What is the capital of France?"]
    answers = [session.ask(q) for q in questions]
    assert [q for q, _ in session.history] == questions[1:]
    assert session.last_answer is answers[-1] and session.history[-1][1] is answers[-1]
    session.reset()
    assert session.history == [] and session.last_answer is None
    assert session.ask("and in mice?").standalone_question == "and in mice?"


def test_condense_prompt_rewrites_follow_ups_in_llm_mode(store_settings: Settings, stub: OpenAIStub) -> None:
    llm_settings = store_settings.model_copy(
        update={"llm_enabled": None, "openai_base_url": stub.url, "openai_api_key": SecretStr("sk-chat")}
    )
    handler = ChatHandler.from_settings(llm_settings, llm_backoff=0.01)
    stub.script(
        Reply("Most players think headgear prevents concussion [1].", usage=(100, 10)),
        Reply("Do rugby coaches believe headgear prevents concussion?", usage=(40, 8)),
        Reply("Coaches are less convinced than players [1].", usage=(100, 10)),
    )
    session = handler.new_session()
    session.ask(RUGBY)
    before = stub.side_tokens()
    follow = session.ask("and what do coaches think of it?")
    side = [a - b for a, b in zip(stub.side_tokens(), before, strict=True)]  # lay-term/coverage requests

    condense = stub.requests[1]
    assert condense.body["stream"] is True  # streamed: a slow local model would trip the per-read timeout
    prompt = condense.content("user")
    assert (
        f"User: {RUGBY}" in prompt and "Assistant: Most players think headgear prevents concussion." in prompt
    )
    assert "Last message: and what do coaches think of it?" in prompt
    assert follow.standalone_question == "Do rugby coaches believe headgear prevents concussion?"
    assert "Question: Do rugby coaches believe headgear prevents concussion?" in stub.requests[2].content(
        "user"
    )
    assert follow.text == "Coaches are less convinced than players [1]."
    assert follow.usage is not None and (follow.usage.prompt_tokens, follow.usage.completion_tokens) == (
        140 + side[0],
        18 + side[1],
    )
    stats = handler.stats()
    assert stats["mode"] == "llm" and stats["llm_model"] == "gpt-4o-mini"
    assert "sk-chat" not in repr(stats)


def test_missing_store_refuses_with_a_hint_then_answers_after_ingest(settings: Settings) -> None:
    handler = ChatHandler.from_settings(settings)
    answer = handler.new_session().ask(SEED_QUESTION)
    assert answer.refused and answer.text == REFUSAL
    assert handler.store_hint() == EMPTY_STORE_HINT
    assert handler.stats()["articles"] == 0

    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import open_store

    seed = str(CORPUS / "gut-microbiota-hcc-drug-resistance.txt")
    ingest_inputs([seed], Ingestor(open_store(settings, handler.embedder.name), handler.embedder, settings))
    answer = handler.new_session().ask(SEED_QUESTION)
    assert not answer.refused and answer.citations[0].id == SEED_ID
    assert handler.store_hint() is None and handler.stats()["articles"] == 1


def test_store_built_with_another_model_is_an_error(store_settings: Settings) -> None:
    other = store_settings.model_copy(update={"embedding_model": "openai:text-embedding-3-small"})
    with pytest.raises(StoreError, match="was built with embedding model"):
        ChatHandler.from_settings(other)


def test_stats_describe_the_setup(handler: ChatHandler, store_settings: Settings) -> None:
    stats = handler.stats()
    assert stats == {
        "articles": 64, "chunks": stats["chunks"], "embedding_model": "all-MiniLM-L6-v2",
        "store": store_settings.store_label, "mode": "extractive", "llm_model": "none (extractive answers)",
    }  # fmt: skip
    assert int(str(stats["chunks"])) >= 64


def test_sessions_answer_concurrently_on_one_handler(handler: ChatHandler) -> None:
    questions = {
        "pmid:11867487": RUGBY,
        "pmid:1571683": "How well are vaccines stored in the community?",
        SEED_ID: SEED_QUESTION,
    }
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(expected: str, question: str) -> None:
        try:
            results[expected] = handler.new_session().ask(question).citations[0].id
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in questions.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert results == {key: key for key in questions}


def test_empty_and_huge_questions_are_clear_errors(handler: ChatHandler) -> None:
    with pytest.raises(LitbotError, match="empty"):
        handler.new_session().ask("   ")
    with pytest.raises(LitbotError, match="too long"):
        handler.new_session().ask("why " * 1000)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("and in mice?", True),
        ("What about children?", True),
        ("How about in women?", True),
        ("Does it work in sorafenib-treated patients?", True),
        ("Concussion rates?", True),
        (RUGBY, False),
        (SEED_QUESTION, False),
        ("Is rugby headgear comfortable for players and coaches during matches?", False),
    ],
)
def test_follow_up_detection(question: str, expected: bool) -> None:
    assert is_follow_up(question) is expected


def test_merge_keeps_the_topic_and_adds_the_new_part() -> None:
    topic = "Does metformin reduce cancer risk?"
    assert merge(topic, "and in mice?") == "Does metformin reduce cancer risk in mice?"
    assert merge(topic, "what about children?") == "Does metformin reduce cancer risk — children?"
    assert merge(topic, "Does it work in smokers?") == "Does metformin reduce cancer risk in smokers?"
    assert merge(topic, "and?") == topic
    tracker = TopicTracker()
    assert tracker.standalone(topic) == topic
    assert tracker.standalone("and in mice?") == "Does metformin reduce cancer risk in mice?"
    assert (
        tracker.standalone("what about rats?") == "Does metformin reduce cancer risk — rats?"
    )  # not "mice rats"


def test_a_refusal_always_names_what_was_not_found(handler: ChatHandler) -> None:
    # nothing in the mini store comes near it: retrieval returns no article at all
    answer = handler.new_session().ask("What is the best sourdough pizza recipe?")
    assert answer.refused and answer.missing
