"""One store, many processes: questions answered while other processes ingest into the same store.

    .venv/bin/python bench/store_race.py --embedder stub --rounds 20                # loopback embeddings stand-in
    .venv/bin/python bench/store_race.py --embedder minilm --rounds 20              # the bundled model
    .venv/bin/python bench/store_race.py --embedder stub --reader discord --rounds 5
    .venv/bin/python bench/store_race.py --embedder stub --writers 2 --readers 2 --rounds 5
    .venv/bin/python bench/store_race.py --embedder stub --server --rounds 3        # the same on `chroma run`

Each round copies a store that holds the bundled sample (1,001 articles), starts ``--writers`` `litbot ingest`
processes of ``--articles`` SciFact abstracts (each writer its own slice), and ``--delay`` seconds later
``--readers`` readers that answer ``--questions`` PubMedQA questions each against the same store: `litbot chat
--json` with the questions piped (``--reader chat``) or a process that asks them through the Discord bot's own
/ask over the same handler (``--reader discord``, discord.py objects driven without a gateway). Then:

- every process's exit status (139 = SIGSEGV), the answers that failed (``error`` lines), per reader;
- the store, opened afresh: `litbot check --json` must find nothing wrong, and the store must equal one built
  without readers (``reference``: same articles and content hashes, same chunk ids and texts, vectors equal to
  1e-4, the lexical index holding the same articles with the same hashes);
- the latency of each answer (its own `timings.total`), split into those asked while an ingest ran and those
  after; and, once before the rounds, each question's latency on a copy of the template with nothing else
  running (the quiet baseline): the target is p95 during an ingest ≤ one write batch + 1 s above it.

Prints one line per round and a summary (``--json`` for one JSON object); exit status 1 if anything failed.
Needs ../shared/data (SciFact, PubMedQA questions) or ``--scifact``/``--questions-file``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SHARED = ROOT.parent / "shared" / "data"
LITBOT = str(Path(sys.executable).parent / "litbot")


@dataclass
class Round:
    number: int
    seconds: float = 0.0
    writers_rc: list[int] = field(default_factory=list)
    readers_rc: list[int] = field(default_factory=list)
    answers: int = 0
    failed_answers: int = 0
    first_failures: list[str] = field(default_factory=list)
    check_ok: bool = False
    check_problems: list[str] = field(default_factory=list)
    equal_to_reference: bool = False
    differences: list[str] = field(default_factory=list)
    busy_latencies: list[float] = field(default_factory=list)
    quiet_latencies: list[float] = field(default_factory=list)
    write_batch_seconds: list[float] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        return any(rc < 0 or rc >= 128 for rc in self.writers_rc + self.readers_rc)

    @property
    def held(self) -> bool:
        return (
            not self.crashed
            and all(rc == 0 for rc in self.writers_rc + self.readers_rc)
            and self.failed_answers == 0
            and self.check_ok
            and self.equal_to_reference
        )


def write_corpus(scifact: Path, articles: int, writers: int, folder: Path) -> list[Path]:
    """The first ``articles`` SciFact abstracts as JSONL, one slice per writer."""
    lines = []
    with scifact.open() as source:
        for line in source:
            if len(lines) == articles:
                break
            record = json.loads(line)
            if record.get("text"):
                lines.append(
                    json.dumps(
                        {"id": f"sf{record['_id']}", "title": record["title"], "abstract": record["text"]}
                    )
                )
    paths = []
    for n in range(writers):
        path = folder / f"scifact-{n}.jsonl"
        path.write_text("\n".join(lines[n::writers]) + "\n")
        paths.append(path)
    return paths


def questions(path: Path, count: int) -> list[str]:
    found = []
    with path.open() as source:
        for line in source:
            found.append(" ".join(json.loads(line)["text"].split()))
            if len(found) == count:
                break
    return found


def run(args: Sequence[str], env: dict[str, str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LITBOT, *args], env=env, text=True, capture_output=True, **kwargs)


def store_env(base: dict[str, str], store: Path, data: Path) -> dict[str, str]:
    env = {**base, "LITBOT_CHROMA_PATH": str(store), "LITBOT_DATA_DIR": str(data)}
    return env


def build(env: dict[str, str], inputs: Sequence[str]) -> None:
    done = run(["ingest", *inputs, "--json"], env)
    if done.returncode != 0:
        raise SystemExit(f"ingest {inputs} failed: {done.stderr[-2000:]}")


def store_contents(env: dict[str, str]) -> dict[str, Any]:
    """Articles, chunks, vectors and the lexical index of the store ``env`` names, read in a fresh process."""
    code = r"""
import json, sys
import numpy as np
from ingest.settings import load_settings
from ingest.store import open_store
from ingest.lexical import LexicalIndex, index_folder
settings = load_settings()
store = open_store(settings, settings.embedding_model, create=False)
chunks = {}
for cid, text, meta in store.iter_chunks():
    chunks[cid] = [text, str(meta.get("hash", ""))]
vectors = {}
ids = sorted(chunks)
for start in range(0, len(ids), 500):
    for cid, vec in store.chunk_vectors(ids[start:start + 500]).items():
        vectors[cid] = np.round(np.asarray(vec, dtype=np.float64), 5).tolist()
index = LexicalIndex.open(index_folder(settings.store_cache_dir))
index.reload()
lexical = {a.article_id: str(a.metadata.get("hash", "")) for a in index.all_articles()}
print(json.dumps({"chunks": chunks, "vectors": vectors, "lexical": lexical,
                  "tantivy_docs": index.searcher().num_docs}))
"""
    done = subprocess.run([sys.executable, "-c", code], env=env, text=True, capture_output=True, cwd=ROOT)
    if done.returncode != 0:
        return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout)


def compare(found: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    if "error" in found:
        return [f"the store could not be read: {found['error']}"]
    problems = []
    if found["chunks"] != reference["chunks"]:
        missing = set(reference["chunks"]) - set(found["chunks"])
        extra = set(found["chunks"]) - set(reference["chunks"])
        changed = [
            c
            for c in set(found["chunks"]) & set(reference["chunks"])
            if found["chunks"][c] != reference["chunks"][c]
        ]
        problems.append(f"chunks differ: {len(missing)} missing, {len(extra)} extra, {len(changed)} changed")
    if set(found["vectors"]) != set(reference["chunks"]):
        problems.append(f"{len(set(reference['chunks']) - set(found['vectors']))} chunks without a vector")
    off = [
        c
        for c, v in found["vectors"].items()
        if c in reference["vectors"]
        and max(abs(a - b) for a, b in zip(v, reference["vectors"][c], strict=True)) > 1e-4
    ]
    if off:
        problems.append(f"{len(off)} vectors differ from the reference (first {off[0]})")
    if found["lexical"] != reference["lexical"]:
        problems.append(
            f"lexical index differs: {len(found['lexical'])} articles against {len(reference['lexical'])}"
        )
    if found["tantivy_docs"] != len(found["lexical"]):
        problems.append(
            f"tantivy holds {found['tantivy_docs']} documents for {len(found['lexical'])} articles"
        )
    return problems


def check(env: dict[str, str]) -> tuple[bool, list[str]]:
    done = run(["check", "--json"], env, timeout=1800)
    if done.returncode not in (0, 1):
        return False, [f"litbot check exited {done.returncode}: {done.stderr.strip()[-300:]}"]
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        return False, [f"litbot check printed no JSON: {done.stderr.strip()[-300:]}"]
    return bool(report.get("ok")), [str(p) for p in report.get("problems", [])][:5]


DISCORD_READER = r"""
import asyncio, json, sys, time
from bot.chat import ChatHandler
from ingest.settings import load_settings
from tests.discord_fakes import run_with_bot

questions = [line.rstrip("\n") for line in sys.stdin if line.strip()]

async def scenario(world):
    for question in questions:
        started = time.monotonic()
        before = len(world.recorder.sent)
        await world.ask(question)
        sent = world.recorder.sent[before:]
        texts = " ".join(s.content or "" for s in sent)
        answered = any(s.kind == "followup" and ("Extractive answer" in (s.content or "")
                                                 or "couldn't find" in (s.content or "")) for s in sent)
        failed = not answered or any(sign in texts for sign in ("Something went wrong", "the store at", "Chroma error"))
        print(json.dumps({"question": question, "seconds": time.monotonic() - started,
                          **({"error": texts[:300]} if failed else {})}), flush=True)

run_with_bot(load_settings(), scenario)
"""


def start_reader(kind: str, env: dict[str, str], asked: Sequence[str]) -> subprocess.Popen[str]:
    command = [LITBOT, "chat", "--json"] if kind == "chat" else [sys.executable, "-c", DISCORD_READER]
    proc = subprocess.Popen(
        command,
        env=env,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    return proc


def race_round(
    number: int,
    template: Path,
    corpora: Sequence[Path],
    asked: Sequence[str],
    reference: dict[str, Any],
    base_env: dict[str, str],
    options: argparse.Namespace,
    work: Path,
) -> Round:
    result = Round(number)
    store, data = work / f"round{number}" / "chroma", work / f"round{number}" / "data"
    shutil.rmtree(store.parent, ignore_errors=True)
    shutil.copytree(template, store.parent)
    env = store_env(base_env, store, data)
    with ExitStack() as stack:
        if options.server:
            host, port = stack.enter_context(chroma_server(store))
            env |= {"LITBOT_CHROMA_HOST": host, "LITBOT_CHROMA_PORT": str(port)}
        return _race(number, result, env, corpora, asked, reference, options, store)


def _race(
    number: int,
    result: Round,
    env: dict[str, str],
    corpora: Sequence[Path],
    asked: Sequence[str],
    reference: dict[str, Any],
    options: argparse.Namespace,
    store: Path,
) -> Round:
    started = time.monotonic()
    writers = [
        subprocess.Popen(
            [LITBOT, "--debug", "ingest", str(corpus), "--json"],  # --debug: each write's time is logged
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for corpus in corpora
    ]
    time.sleep(options.delay)
    readers = [start_reader(options.reader, env, asked) for _ in range(options.readers)]
    outputs: list[tuple[str, str]] = []
    writers_done_at: list[float] = []
    # Questions are written one at a time, so that each is timed from when it is sent; the reader reads its
    # stdin line by line.
    import threading

    def feed(proc: subprocess.Popen[str]) -> None:
        assert proc.stdin is not None
        try:
            for question in asked:
                proc.stdin.write(question + "\n")
                proc.stdin.flush()
            proc.stdin.close()
        except BrokenPipeError:
            pass

    feeders = [threading.Thread(target=feed, args=(r,), daemon=True) for r in readers]
    for feeder in feeders:
        feeder.start()
    reader_lines: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in readers]

    def collect(index: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                reader_lines[index].append((time.monotonic(), json.loads(line)))
            except json.JSONDecodeError:
                reader_lines[index].append((time.monotonic(), {"error": f"not JSON: {line[:200]}"}))

    collectors = [threading.Thread(target=collect, args=(i, r), daemon=True) for i, r in enumerate(readers)]
    for collector in collectors:
        collector.start()
    for writer in writers:
        out, err = writer.communicate(timeout=3600)
        writers_done_at.append(time.monotonic())
        result.writers_rc.append(writer.returncode)
        outputs.append((out, err))
    for reader in readers:
        reader.wait(timeout=3600)
        result.readers_rc.append(reader.returncode)
    for collector in collectors:
        collector.join(timeout=60)
    last_write = max(writers_done_at)
    for index, (reader, lines) in enumerate(zip(readers, reader_lines, strict=True)):
        err = reader.stderr.read() if reader.stderr else ""
        previous = None
        for at, line in lines:
            result.answers += 1
            if "error" in line:
                result.failed_answers += 1
                if len(result.first_failures) < 3:
                    result.first_failures.append(f"reader {index}: {line['error'][:200]}")
            seconds = line.get("seconds")
            if seconds is None:
                seconds = (line.get("timings") or {}).get("total")
            if seconds is None and previous is not None:
                seconds = at - previous
            previous = at
            if seconds is not None:
                (result.busy_latencies if at <= last_write else result.quiet_latencies).append(float(seconds))
        if reader.returncode not in (0,) and len(result.first_failures) < 3:
            result.first_failures.append(f"reader {index} exit {reader.returncode}: {err.strip()[-300:]}")
    for (_out, err), rc in zip(outputs, result.writers_rc, strict=True):
        if rc != 0 and len(result.first_failures) < 3:
            result.first_failures.append(f"writer exit {rc}: {err.strip()[-300:]}")
        result.write_batch_seconds += [
            float(line.split("held the store for ")[1].split(" s")[0])
            for line in err.splitlines()
            if "held the store for " in line
        ]
    result.seconds = time.monotonic() - started
    result.check_ok, result.check_problems = check(env)
    result.differences = compare(store_contents(env), reference)
    result.equal_to_reference = not result.differences
    if result.held and not options.keep:
        shutil.rmtree(store.parent, ignore_errors=True)
    return result


@contextmanager
def chroma_server(folder: Path) -> Iterator[tuple[str, int]]:
    """`chroma run` on 127.0.0.1 over ``folder`` (a store folder, as the embedded store left it)."""
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log = (folder.parent / "chroma-run.log").open("w")
    command = [
        str(Path(sys.executable).parent / "chroma"),
        "run",
        "--path",
        str(folder),
        "--host",
        "127.0.0.1",
    ]
    proc = subprocess.Popen([*command, "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(
                    f"chroma run did not start: {(folder.parent / 'chroma-run.log').read_text()}"
                )
            time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def quiet_baseline(
    template: Path, asked: Sequence[str], base_env: dict[str, str], options: argparse.Namespace, work: Path
) -> list[float]:
    """Each question's time on a copy of the template with nothing else running: what "a quiet question"
    costs, for the latency target (a reader that outlasts the ingest measures quiet questions too)."""
    folder = work / "baseline"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    env = store_env(base_env, folder / "chroma", folder / "data")
    with ExitStack() as stack:
        if options.server:
            host, port = stack.enter_context(chroma_server(folder / "chroma"))
            env |= {"LITBOT_CHROMA_HOST": host, "LITBOT_CHROMA_PORT": str(port)}
        done = run(["chat", "--json"], env, input="\n".join(asked) + "\n", timeout=3600)
    times = [json.loads(line)["timings"]["total"] for line in done.stdout.splitlines() if '"timings"' in line]
    if len(times) != len(asked):
        raise SystemExit(f"the quiet baseline answered {len(times)} of {len(asked)}: {done.stderr[-500:]}")
    shutil.rmtree(folder, ignore_errors=True)
    return times


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--embedder", choices=("stub", "minilm"), default="stub")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--questions", type=int, default=265)
    parser.add_argument(
        "--delay", type=float, default=8.0, help="seconds between the ingest's start and the readers'"
    )
    parser.add_argument("--reader", choices=("chat", "discord"), default="chat")
    parser.add_argument("--readers", type=int, default=1)
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--scifact", type=Path, default=SHARED / "beir" / "scifact" / "corpus.jsonl")
    parser.add_argument("--questions-file", type=Path, default=SHARED / "beir" / "pubmedqa" / "queries.jsonl")
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the stores (default: a temp folder)"
    )
    parser.add_argument("--keep", action="store_true", help="keep every round's store")
    parser.add_argument("--server", action="store_true", help="serve each round's store with `chroma run`")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--rounds-file", type=Path, help="append each round's figures here (JSONL) as it ends"
    )
    options = parser.parse_args()

    from tests.embeddings_stub import EmbeddingsStub

    work = options.work or Path(tempfile.mkdtemp(prefix="litbot-race-"))
    work.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "OPENAI_"))}
        base_env |= {"LITBOT_LLM": "false", "PYTHONPATH": str(ROOT)}
        if options.embedder == "stub":
            stub = stack.enter_context(EmbeddingsStub())
            base_env |= stub.env()
        corpora = write_corpus(options.scifact, options.articles, options.writers, work)
        asked = questions(options.questions_file, options.questions)
        template = work / "template"
        if not template.exists():
            build(store_env(base_env, template / "chroma", template / "data"), ["--sample"])
        reference_dir = work / "reference"
        if not reference_dir.exists():
            shutil.copytree(template, reference_dir)
            for corpus in corpora:
                build(store_env(base_env, reference_dir / "chroma", reference_dir / "data"), [str(corpus)])
        reference = store_contents(store_env(base_env, reference_dir / "chroma", reference_dir / "data"))
        if "error" in reference:
            raise SystemExit(f"the reference store cannot be read: {reference['error']}")
        baseline = quiet_baseline(template, asked, base_env, options, work)
        print(
            f"quiet baseline (the template, nothing else running): median {statistics.median(baseline):.3f} s, "
            f"p95 {percentile(baseline, 0.95):.3f} s",
            file=sys.stderr if options.json else sys.stdout,
            flush=True,
        )
        rounds = []
        for number in range(1, options.rounds + 1):
            result = race_round(number, template, corpora, asked, reference, base_env, options, work)
            rounds.append(result)
            busy = percentile(result.busy_latencies, 0.95)
            quiet = statistics.median(result.quiet_latencies) if result.quiet_latencies else None
            print(
                f"round {number}: {'held' if result.held else 'FAILED'} in {result.seconds:.0f} s; "
                f"writers {result.writers_rc}, readers {result.readers_rc}; answers {result.answers}, "
                f"failed {result.failed_answers}; check {'ok' if result.check_ok else result.check_problems}; "
                f"{'equal to the reference' if result.equal_to_reference else result.differences}; "
                f"p95 during ingest {busy if busy is None else round(busy, 2)} s, quiet median "
                f"{quiet if quiet is None else round(quiet, 2)} s"
                + (f"; first failures: {result.first_failures}" if result.first_failures else ""),
                file=sys.stderr if options.json else sys.stdout,
                flush=True,
            )
            if options.rounds_file:  # each round as it ends: a long run cut short keeps what it measured
                with options.rounds_file.open("a", encoding="utf-8") as rounds_file:
                    rounds_file.write(json.dumps({"baseline": baseline, **asdict(result)}) + "\n")
    busy_all = [x for r in rounds for x in r.busy_latencies]
    quiet_all = [x for r in rounds for x in r.quiet_latencies]
    batches = [x for r in rounds for x in r.write_batch_seconds]
    summary = {
        "embedder": options.embedder,
        "reader": options.reader,
        "writers": options.writers,
        "readers": options.readers,
        "store": "chroma run" if options.server else "embedded",
        "rounds": len(rounds),
        "held": sum(r.held for r in rounds),
        "crashed": sum(r.crashed for r in rounds),
        "failed_answers": sum(r.failed_answers for r in rounds),
        "answers": sum(r.answers for r in rounds),
        "damaged_stores": sum(not r.check_ok or not r.equal_to_reference for r in rounds),
        "busy_p95_s": percentile(busy_all, 0.95),
        "busy_median_s": statistics.median(busy_all) if busy_all else None,
        "baseline_median_s": statistics.median(baseline),
        "baseline_p95_s": percentile(baseline, 0.95),
        "busy_p95_over_baseline_median_s": (percentile(busy_all, 0.95) or 0) - statistics.median(baseline),
        "quiet_median_s": statistics.median(quiet_all) if quiet_all else None,
        "quiet_p95_s": percentile(quiet_all, 0.95),
        "write_batch_p95_s": percentile(batches, 0.95),
        "write_batch_max_s": max(batches) if batches else None,
        "work": str(work),
    }
    if options.json:
        print(json.dumps({"summary": summary, "rounds": [asdict(r) for r in rounds]}))
    else:
        print(json.dumps(summary, indent=1))
    return 0 if summary["held"] == summary["rounds"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
