"""One embedded store, several processes (ingest.store_lock): a reader beside an ingest never fails and leaves
the store as an ingest alone would; a call waits for another process's turn and then sees its write; a process
killed during its turn makes the next one read the vector index whole before Chroma loads it.

bench/store_race.py runs the race at full size (3,000 articles, 265 questions, 20 rounds) and with two writers
and two readers, where the code before the lock crashed in some rounds (it has no deterministic trigger: the
crash needs a load to meet a write of the index files); here it runs once, on a store whose index files exist,
with 600 more articles (a thousand more vectors applied: the writer rewrites the files while the reader reads).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.settings import Settings

from .cli_runner import run_litbot
from .conftest import MINI_CORPUS, MORE_ARTICLES
from .store_snapshots import differences, read_store, read_template

LITBOT = str(Path(sys.executable).parent / "litbot")
QUESTIONS = [json.loads(line) for line in (MINI_CORPUS / "questions.jsonl").read_text().splitlines()]
KNOWN = [q for q in QUESTIONS if q["pmid"] in {"11867487", "1571683", "8422202"}]


@pytest.mark.slow
def test_a_reader_beside_an_ingest_never_fails_and_the_store_equals_one_built_alone(
    hashed_large_settings: Settings, hashed_larger_store_template: Path
) -> None:
    env = {**os.environ, "LITBOT_INGEST_GROUP_SIZE": "16"}  # many write batches, for the reader to meet
    corpus = hashed_larger_store_template.parent / "more.jsonl"
    writer = subprocess.Popen(
        [LITBOT, "ingest", str(corpus), "--json"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(3)  # the reader opens the store while the ingest writes, as a bot started meanwhile would
    reader = subprocess.Popen(
        [LITBOT, "chat", "--json"], env=env, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    asked: list[dict[str, str]] = []

    def ask_until_the_ingest_ends() -> None:
        assert reader.stdin is not None
        while writer.poll() is None or len(asked) < 20:
            question = KNOWN[len(asked) % len(KNOWN)]
            asked.append(question)
            reader.stdin.write(question["question"] + "\n")
            reader.stdin.flush()
            time.sleep(0.05)
        reader.stdin.close()

    lines: list[str] = []
    collector = threading.Thread(target=lambda: lines.extend(reader.stdout or []))
    feeder = threading.Thread(target=ask_until_the_ingest_ends)
    collector.start()
    feeder.start()
    written, werr = writer.communicate(timeout=600)
    feeder.join(timeout=600)
    reader.wait(timeout=600)
    collector.join(timeout=60)
    out, err = "".join(lines), reader.stderr.read() if reader.stderr else ""
    assert writer.returncode == 0, werr[-2000:]
    assert json.loads(written)["new"] == MORE_ARTICLES
    assert reader.returncode == 0, err[-2000:]
    answers = [json.loads(line) for line in out.splitlines()]
    assert len(answers) == len(asked) and not [a for a in answers if "error" in a], err[-2000:]
    wrong = [
        q["pmid"]
        for q, a in zip(asked, answers, strict=True)
        if q["pmid"] not in [c["pmid"] for c in a["citations"]]
    ]
    assert not wrong, f"{len(wrong)} of {len(asked)} answers did not cite their article"
    check = run_litbot("check", "--json")
    assert check.returncode == 0 and json.loads(check.stdout)["ok"], check.stdout
    found = read_store(hashed_large_settings.chroma_path)
    expected = read_template(hashed_larger_store_template, hashed_large_settings.chroma_path.parent)
    assert not differences(found, expected)


_HOLD = r"""
import sys
from ingest.settings import load_settings
from ingest.store import open_store, store_turn
settings = load_settings()
store = open_store(settings, settings.embedding_model, create=False)
exec(sys.argv[1])
with store_turn(settings, writes=True):
    exec(sys.argv[2])
    print("holding", flush=True)
    sys.stdin.readline()
"""


def hold_the_store(settings: Settings, before: str = "", during: str = "") -> subprocess.Popen[str]:
    """Another process that runs ``before``, then takes a turn at the store, runs ``during`` in it, and keeps
    the turn until told."""
    env = {**os.environ, "LITBOT_CHROMA_PATH": str(settings.chroma_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, before, during], env=env, text=True, cwd=Path(__file__).parents[1],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline() == "holding\n", proc.communicate()[1]
    return proc


WRITE_ONE = """
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.embeddings import make_embedder
late = settings.chroma_path.parent / "late.jsonl"
late.write_text('{"pmid": "777001", "title": "Zorbulin in rugby", "abstract": "Zorbulin halved concussion in rugby players."}\\n')
print(ingest_inputs([str(late)], Ingestor(store, make_embedder(settings), settings)).new, file=sys.stderr)
"""


@pytest.mark.slow
def test_a_call_waits_for_another_process_turn_then_sees_its_write(hashed_mini_settings: Settings) -> None:
    from bot.chat import ChatHandler

    handler = ChatHandler.from_settings(hashed_mini_settings)
    assert handler.new_session().ask(KNOWN[0]["question"]).citations  # this process has the store open
    holder = hold_the_store(hashed_mini_settings, before=WRITE_ONE)
    answers = []
    asking = threading.Thread(
        target=lambda: answers.append(handler.new_session().ask("Does zorbulin prevent concussion?"))
    )
    asking.start()
    asking.join(timeout=3)
    assert asking.is_alive() and not answers, "the question did not wait for the other process's turn"
    holder.communicate("go\n", timeout=60)
    asking.join(timeout=120)
    assert answers and "pmid:777001" in [c.id for c in answers[0].citations], answers


def test_a_process_killed_during_its_turn_has_the_next_one_read_the_index_whole(
    hashed_large_settings: Settings,
) -> None:
    """A write cut short (here: neighbour lists overwritten, then SIGKILL) is caught before Chroma loads the
    files, never a crash: the next process reads them whole, finds the damage, repairs it as `litbot repair`
    would (the vectors salvaged, none re-embedded) and answers."""
    segment = next(p for p in hashed_large_settings.chroma_path.iterdir() if (p / "link_lists.bin").exists())
    tear = f"open({str(segment / 'link_lists.bin')!r}, 'r+b').write(bytes(range(256)) * 64)"
    holder = hold_the_store(hashed_large_settings, during=tear)
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=60)
    done = run_litbot("ask", KNOWN[0]["question"], "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "link_lists.bin" in done.stderr and "repairing it as `litbot repair` would" in done.stderr
    assert " 0 chunks re-embedded" in done.stderr
    assert KNOWN[0]["pmid"] in [c["pmid"] for c in json.loads(done.stdout)["citations"]]
    assert run_litbot("check").returncode == 0


@pytest.mark.parametrize("lost", ["tantivy", "tantivy/meta.json"])
def test_a_lost_lexical_index_is_rebuilt_not_silently_empty(
    hashed_mini_settings: Settings, lost: str
) -> None:
    import shutil

    from bot.retrieval.retriever import Retriever
    from ingest.embeddings import make_embedder
    from ingest.lexical import index_folder
    from ingest.store import open_store

    path = index_folder(hashed_mini_settings.store_cache_dir) / lost
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert run_litbot("check").returncode != 0  # seen as damage before anything rebuilt it
    embedder = make_embedder(hashed_mini_settings)
    retriever = Retriever(
        open_store(hashed_mini_settings, embedder.name, create=False), embedder, hashed_mini_settings
    )
    found = retriever.search(KNOWN[0]["question"], k=3, mode="lexical")
    assert found and found[0].metadata.get("pmid") == KNOWN[0]["pmid"]
    assert run_litbot("check").returncode == 0
