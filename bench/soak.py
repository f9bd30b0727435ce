"""Soak: the reliability checks of tests/test_reliability_*.py at full size, on loopback only, bounded in time.

    .venv/bin/python bench/soak.py                                  # the full soak (defaults below)
    .venv/bin/python bench/soak.py --examples 1000 --kills 5        # a smaller run on a busy machine
    .venv/bin/python bench/soak.py --only fuzz,kill --json

Parts (``--only`` picks some):
  fuzz      every bad-input property of tests/test_reliability_inputs.py with ``--examples`` cases each
            (random bytes, truncated real files, cp1252, ragged CSV, bad JSONL lines), via pytest + hypothesis;
  kill      ``--kills`` runs of `litbot ingest` on ``--corpus`` (LITBOT_INGEST_GROUP_SIZE=4), each SIGKILLed at a
            random moment after its first write, then rerun; the store's ids, texts and hashes must equal a
            clean run's and no article may have missing or extra chunks;
  embedded  questions asked in this process while `litbot ingest` (another process) writes to the same store;
  server    the same against `chroma run` on 127.0.0.1, plus two ingests into the server at once.
Every part stops starting new rounds after ``--max-minutes``. Prints one line per part and a JSON summary;
exit status 1 if anything did not hold.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from bot.chat import ChatHandler  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from tests.test_reliability_concurrency import SCIFACT, asks_while  # noqa: E402
from tests.test_reliability_crash import clean_run, ingest, kill_and_rerun, orphans, snapshot  # noqa: E402
from tests.test_reliability_faults import ChromaServer  # noqa: E402

MINI = ROOT / "tests" / "fixtures" / "corpus-mini"
PROPERTIES = 5  # hypothesis properties in tests/test_reliability_inputs.py


def fuzz(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    env = {**os.environ, "RELIABILITY_FUZZ_EXAMPLES": str(args.examples)}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/test_reliability_inputs.py",
    ]
    start = time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=args.max_minutes * 60
    )
    summary = (result.stdout.strip().splitlines() or [""])[-1]
    return {
        "held": result.returncode == 0,
        "cases": f"{args.examples} per property x {PROPERTIES} properties + fixed cases",
        "pytest": summary,
        "seconds": round(time.monotonic() - start),
        "failures": [line for line in result.stdout.splitlines() if line.startswith("FAILED")][:5],
    }


def kills(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    start = time.monotonic()
    reference = clean_run(args.corpus, work / "clean")
    clean_seconds = time.monotonic() - start
    problems = orphans(work / "clean")
    rounds = []
    max_extra = clean_seconds / 2  # the kill lands up to this long after the first write; halved after a miss
    for number in range(args.kills):
        if time.monotonic() - start > args.max_minutes * 60:
            break
        result = kill_and_rerun(args.corpus, work / f"killed-{number}", reference, rng, max_extra=max_extra)
        max_extra = max_extra if result.killed else max_extra / 2
        rounds.append(result)
        print(f"  kill {number + 1}: killed={result.killed} at {result.killed_after:.1f}s "
              f"chunks={result.chunks_at_kill} equal={result.equal} orphans={len(result.orphans)}", file=sys.stderr)  # fmt: skip
    return {
        "held": not problems and all(r.equal and not r.orphans for r in rounds),
        "runs": len(rounds),
        "killed_mid_run": sum(r.killed for r in rounds),
        "equal_to_clean": sum(r.equal for r in rounds),
        "with_orphans": sum(bool(r.orphans) for r in rounds),
        "articles": len({cid.split("#")[0] for cid in reference}),
        "chunks": len(reference),
        "clean_run_s": round(clean_seconds, 1),
        "seconds": round(time.monotonic() - start),
    }


def _asks_during_ingest(settings: Settings, env: dict[str, str], work: Path) -> dict[str, Any]:
    handler = ChatHandler.from_settings(settings)
    proc = ingest(SCIFACT, work / "unused", extra_env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    right, problems = asks_while(handler, proc)
    proc.communicate(timeout=600)
    late = [
        c.id
        for c in handler.new_session()
        .ask("How does white matter develop in newborns on diffusion MRI?")
        .citations
    ]
    return {
        "held": proc.returncode == 0 and not problems and not orphans(settings) and "src:4983" in late,
        "asked_during_ingest": right + len(problems),
        "answered_right": right,
        "problems": len(problems),
        "first_problem": problems[0] if problems else None,
        "new_articles_seen_after": "src:4983" in late,
        "ingest_exit": proc.returncode,
        "orphans": len(orphans(settings)),
    }


def _seed(settings: Settings) -> None:
    from ingest.embeddings import make_embedder
    from ingest.pipeline import Ingestor, ingest_inputs
    from ingest.store import open_store

    embedder = make_embedder(settings)
    ingest_inputs([str(MINI)], Ingestor(open_store(settings, embedder.name), embedder, settings))


def embedded(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    start = time.monotonic()
    settings = Settings(_env_file=None, chroma_path=work / "embedded", llm_enabled=False)  # type: ignore[call-arg]
    _seed(settings)
    env = {"LITBOT_CHROMA_PATH": str(settings.chroma_path), "LITBOT_INGEST_GROUP_SIZE": "4"}
    return {**_asks_during_ingest(settings, env, work), "seconds": round(time.monotonic() - start)}


def server(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    start = time.monotonic()
    chroma = ChromaServer(work / "server-data", work / "chroma.log")
    chroma.start()
    try:
        settings = chroma.settings(work / "data").model_copy(update={"llm_enabled": False})
        _seed(settings)
        env = {
            "LITBOT_CHROMA_HOST": "127.0.0.1",
            "LITBOT_CHROMA_PORT": str(chroma.port),
            "LITBOT_INGEST_GROUP_SIZE": "4",
        }
        asks = _asks_during_ingest(settings, env, work)
        # Two ingests into the server at once (no file lock in server mode): both finish, nothing is torn.
        both_env = {**env, "LITBOT_COLLECTION": "twice"}
        corpus = MINI / "pubmedqa-mini.jsonl"
        procs = [ingest(path, work / "unused", extra_env=both_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for path in (corpus, SCIFACT)]  # fmt: skip
        codes = [p.wait(timeout=900) for p in procs]
        twice = settings.model_copy(update={"collection": "twice"})
        count = len({cid.split("#")[0] for cid in snapshot(twice)})
        two = {
            "held": codes == [0, 0] and count == 103 and not orphans(twice),
            "exits": codes,
            "articles": count,
        }
    finally:
        chroma.stop()
    return {
        **asks,
        "held": asks["held"] and two["held"],
        "two_ingests": two,
        "seconds": round(time.monotonic() - start),
    }


PARTS: dict[str, Callable[[argparse.Namespace, Path], dict[str, Any]]] = {
    "fuzz": fuzz,
    "kill": kills,
    "embedded": embedded,
    "server": server,
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=3000, help="hypothesis cases per bad-input property")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILL rounds")
    parser.add_argument("--corpus", type=Path, default=MINI, help="what the kill rounds ingest")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--max-minutes", type=float, default=60.0, help="per part: start no round after this")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts of: {', '.join(PARTS)}"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, Any] = {"command": " ".join(sys.argv), "date": time.strftime("%Y-%m-%d %H:%M")}
    with tempfile.TemporaryDirectory(prefix="litbot-soak-") as tmp:
        for name in args.only.split(","):
            print(f"{name}...", file=sys.stderr)
            folder = Path(tmp) / name
            folder.mkdir()
            results[name] = PARTS[name](args, folder)
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    print(json.dumps(results) if args.json else json.dumps(results, indent=2))
    return 0 if all(results[name]["held"] for name in args.only.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
