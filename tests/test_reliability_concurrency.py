"""Concurrency on one embedded store: questions answered while another process ingests into it, and two ingests
started together (the second must wait for the first: ingest.pipeline.writer_lock), never a corrupt store.

The server-mode version (a `chroma run` on 127.0.0.1) is in bench/soak.py, which shares these helpers.
"""

from __future__ import annotations

import json
import logging
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bot.chat import ChatHandler
from ingest import hnsw_files
from ingest.errors import LitbotError
from ingest.index_guard import vector_index_problem
from ingest.settings import Settings
from ingest.store import index_problem_in_turn
from ingest.store_health import check_store
from ingest.store_lock import store_lock

from .conftest import FIXTURES, MINI_CORPUS
from .embeddings_stub import EmbeddingsStub
from .store_snapshots import tear_vector_index
from .test_reliability_crash import ingest, open_existing, orphans, small_corpus, snapshot
from .test_store_repair import vector_segment

QUESTIONS = [json.loads(line) for line in (MINI_CORPUS / "questions.jsonl").read_text().splitlines()]
# Questions whose own article is the first source in the mini store (checked below before the ingest starts).
KNOWN = [q for q in QUESTIONS if q["pmid"] in {"11867487", "1571683", "8422202"}]
SCIFACT = FIXTURES / "beir-scifact-mini" / "corpus.jsonl"
NEWBORN = "How does cerebral white matter develop in newborn infants on diffusion MRI?"  # SciFact doc 4983


def asks_while(handler: ChatHandler, proc: subprocess.Popen[str], minimum: int = 3) -> tuple[int, list[str]]:
    """Ask the known questions round-robin until ``proc`` ends: (answers citing their PMID, problems)."""
    right, problems = 0, list[str]()
    while proc.poll() is None or right + len(problems) < minimum:
        question = KNOWN[(right + len(problems)) % len(KNOWN)]
        try:
            cited = [c.pmid for c in handler.new_session().ask(question["question"]).citations]
        except LitbotError as error:
            problems.append(f"{type(error).__name__}: {error.user_message}")
            continue
        if question["pmid"] in cited:
            right += 1
        else:
            problems.append(f"{question['pmid']} not cited: {cited}")
    return right, problems


@pytest.mark.slow
def test_questions_are_answered_while_another_process_ingests(
    hashed_mini_settings: Settings, hashed_embeddings: EmbeddingsStub
) -> None:
    mini_settings = hashed_mini_settings
    handler = ChatHandler.from_settings(mini_settings)
    for question in KNOWN:
        assert question["pmid"] in [c.pmid for c in handler.new_session().ask(question["question"]).citations]
    before = open_existing(mini_settings).count_articles()

    hashed_embeddings.delay = (
        0.1  # ten groups: the ingest lasts a second or more, for questions to overlap it
    )
    proc = ingest(SCIFACT, mini_settings.chroma_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    right, problems = asks_while(handler, proc)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert json.loads(out)["new"] == 40
    assert open_existing(mini_settings).count_articles() == before + 40
    assert not orphans(mini_settings.chroma_path)  # the writer's side holds (it does today)

    late = [
        c.id for c in handler.new_session().ask(NEWBORN).citations
    ]  # the same handler sees the new articles
    assert not problems, f"{right} right, {len(problems)} problems, first: {problems[0]}"
    assert "src:4983" in late


@pytest.mark.slow
def test_two_ingests_at_once_serialise_and_leave_a_sound_store(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    store = tmp_path / "chroma"
    first_corpus, second_corpus = small_corpus(tmp_path, 16), SCIFACT
    hashed_embeddings.hold_from(2)  # the first ingest stays mid-run, holding the store, until released
    first = ingest(first_corpus, store, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert hashed_embeddings.wait_for(2), "the first ingest never asked for its second group's vectors"
    second = ingest(second_corpus, store, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert second.stderr is not None
    waiting = ""
    while "waiting" not in waiting and (line := second.stderr.readline()):
        waiting += line  # the second says it waits, then waits: now let the first go on
    hashed_embeddings.release()
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, (err1, waiting + err2)
    assert "another ingest is writing to this store; waiting" in waiting
    assert (json.loads(out1)["new"], json.loads(out2)["new"]) == (16, 40)
    assert open_existing(store).count_articles() == 56
    assert not orphans(store)


def test_an_index_header_another_process_is_rewriting_is_not_taken_for_damage(
    hashed_large_settings: Settings,
) -> None:
    """At the end of an ingest the vector index files are checked. A question answered meanwhile may have its
    Chroma persist the index during its turn at the store (truncating header.bin, then writing it): read
    outside a turn, the header looks empty and the ingest ended saying the store was damaged. Read in a turn,
    it waits for the other to finish and finds the index sound."""
    settings = hashed_large_settings
    folder = vector_segment(settings)
    header = (folder / hnsw_files.HEADER).read_bytes()
    rewriting = threading.Event()

    def persist() -> None:  # what Chroma does with the files during another turn at the store
        with store_lock(settings.chroma_path).turn():
            (folder / hnsw_files.HEADER).write_bytes(b"")
            rewriting.set()
            time.sleep(0.5)
            (folder / hnsw_files.HEADER).write_bytes(header)

    other = threading.Thread(target=persist)
    other.start()
    try:
        assert rewriting.wait(10)
        assert vector_index_problem(settings) == "header.bin has 0 bytes, not 100"  # read outside a turn
        assert index_problem_in_turn(settings) is None
    finally:
        other.join()


def test_a_store_a_killed_ingest_left_torn_is_repaired_and_the_bot_answers_on(
    hashed_mini_settings: Settings, hashed_embeddings: EmbeddingsStub, caplog: pytest.LogCaptureFixture
) -> None:
    """An ingest killed while Chroma rewrote the index files, with a bot answering from the same store: the
    bot's next question repairs the store (as `litbot repair` would) and is answered, instead of every asker
    being told to run the repair."""
    handler = ChatHandler.from_settings(hashed_mini_settings)
    for question in KNOWN:
        assert question["pmid"] in [c.pmid for c in handler.new_session().ask(question["question"]).citations]
    before = snapshot(hashed_mini_settings.chroma_path)

    tear_vector_index(hashed_mini_settings.chroma_path, died_during_its_turn=True)
    caplog.set_level(logging.WARNING)
    for question in KNOWN:
        assert question["pmid"] in [c.pmid for c in handler.new_session().ask(question["question"]).citations]
    assert caplog.text.count("repairing it as `litbot repair` would") == 1
    assert "0 chunks re-embedded" in caplog.text  # every vector salvaged from the files
    assert check_store(hashed_mini_settings).ok
    assert snapshot(hashed_mini_settings.chroma_path) == before
