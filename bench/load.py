"""Load: N questions from C concurrent clients (threads) against ONE ChatHandler in extractive mode.

    .venv/bin/python bench/load.py                      # 200 questions, 20 clients, mini corpus in a temp store
    .venv/bin/python bench/load.py --store PATH         # an existing embedded store, e.g. after `litbot ingest --sample`
    .venv/bin/python bench/load.py --questions 400 --clients 40 --json

Questions are the PubMedQA questions of tests/fixtures/corpus-mini/questions.jsonl, each asked in up to four
wordings ("Q", "Question: Q", ...) so the 200 are distinct strings (the handler memoises query vectors, so a
repeated string would be cheaper than a real one). Each client opens its own session, as a front end does per
conversation. Prints p50/p95/max latency, throughput, failures (any exception) and how often the question's own
PMID was among the citations. Exit status 1 if any question failed. Never a test: timings go here, not in tests/.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.chat import ChatHandler  # noqa: E402
from ingest.settings import Settings  # noqa: E402

MINI = ROOT / "tests" / "fixtures" / "corpus-mini"
WORDINGS = (
    "{q}",
    "Question: {q}",
    "Please answer from the literature: {q}",
    "{q} What does the evidence say?",
)


def questions(count: int) -> list[tuple[str, str]]:
    """``count`` distinct (question, expected PMID) pairs."""
    base = [json.loads(line) for line in (MINI / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
    pairs = [(w.format(q=item["question"]), item["pmid"]) for w in WORDINGS for item in base]
    return [pairs[i % len(pairs)] for i in range(count)]


def build_store(folder: Path) -> Path:
    """Ingest the mini corpus (63 PubMedQA abstracts + the seed page) into a fresh embedded store."""
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import open_store

    path = folder / "chroma"
    settings = Settings(_env_file=None, chroma_path=path)  # type: ignore[call-arg]
    embedder = make_embedder(settings)
    report = ingest_inputs([str(MINI)], Ingestor(open_store(settings, embedder.name), embedder, settings))
    print(f"ingested the mini corpus: {report.new} articles, {report.chunks} chunks", file=sys.stderr)
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def run(store: Path, count: int, clients: int) -> dict[str, object]:
    settings = Settings(_env_file=None, chroma_path=store, llm_enabled=False)  # type: ignore[call-arg]
    opened = time.perf_counter()
    handler = ChatHandler.from_settings(settings)
    handler.new_session().ask("Does rugby headgear prevent concussion?")  # warm-up, not counted
    warm = time.perf_counter() - opened
    assert handler.mode == "extractive"
    work = questions(count)
    latencies: list[float] = []
    failures: list[str] = []
    hits = 0
    lock = threading.Lock()

    def ask(item: tuple[str, str]) -> None:
        nonlocal hits
        question, pmid = item
        start = time.perf_counter()
        try:
            answer = handler.new_session().ask(question)
        except Exception as exc:  # every failure is counted and reported, never hidden
            with lock:
                failures.append(f"{type(exc).__name__}: {exc}")
            return
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            hits += pmid in [c.pmid for c in answer.citations]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(ask, work))
    wall = time.perf_counter() - start
    return {
        "questions": count,
        "clients": clients,
        "failures": len(failures),
        "first_failures": failures[:3],
        "p50_s": round(statistics.median(latencies), 3) if latencies else None,
        "p95_s": round(percentile(latencies, 0.95), 3) if latencies else None,
        "max_s": round(max(latencies), 3) if latencies else None,
        "wall_s": round(wall, 1),
        "questions_per_s": round(count / wall, 2),
        "own_pmid_cited": f"{hits}/{count}",
        "startup_and_warm_up_s": round(warm, 1),
        "store": str(store),
        "articles": handler.stats()["articles"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--store", type=Path, help="an existing embedded Chroma folder (default: a temp store)"
    )
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="litbot-load-") as tmp:
        store = args.store or build_store(Path(tmp))
        result = run(store, args.questions, args.clients)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>22}: {value}")
    return 1 if result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
