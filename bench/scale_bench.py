"""Scale: ingest rate, disk, question latency and memory on stores of growing size (issue 13).

    .venv/bin/python bench/scale_bench.py [--sizes 10000,50000] [--work /tmp/litbot-scale] [--questions 200]
    .venv/bin/python bench/scale_bench.py --keep --ingest-only --sizes 220000 --work COPY [--code CHECKOUT]

``--keep`` grows the store already in ``--work`` (its ``count`` file says how many articles it holds) to each
size; ``--ingest-only`` measures just the ingest steps, and ``--code`` runs ``litbot ingest`` from another
checkout's source (PYTHONPATH), so two versions can be timed on copies of one store in one sitting.

Articles are synthesised from real abstract sentences (SciFact and PubMedQA, ../shared/data): a title sentence,
four to eight abstract sentences, a year and a journal. They are embedded through a loopback stand-in for the
OpenAI embeddings API (384 dimensions, a hashed bag of words), so the model's cost is out of the picture and the
pipeline, the store and the indexes set the figures. One store grows through the sizes; at each size:

- ingest articles/s of the step (``litbot ingest`` in its own process, default group size);
- store and lexical index size on disk;
- ``litbot ask`` cold (first process after the ingest) and warm (the next one), wall time and peak RSS;
- lexical and hybrid ``Retriever.search`` p50/p95 over the SciFact claims, in one long-running process;
- the first hybrid search after another process adds 100 articles, against the same search warm.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BIN = Path(sys.executable).parent
DIM = 384
JOURNALS = [f"Journal of {w}" for w in ("Hepatology", "Oncology", "Pediatrics", "Cardiology", "Immunology")]
JOURNALS += ["Gut", "Lancet", "BMJ", "Nature Medicine", "PLoS One", "Clinical Infectious Diseases"]


# --- the embeddings stand-in -----------------------------------------------------------------------------------
def _vector(text: str) -> np.ndarray:
    vec = np.zeros(DIM, dtype=np.float32)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vec[zlib.crc32(word.encode()) % DIM] += 1.0
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm else vec + 1.0 / DIM**0.5


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm holds the body until the
    # client's delayed ACK (~40 ms on Linux), which would be charged to every query's embedding.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(inputs):
            vec = _vector(text)
            value: Any = base64.b64encode(vec.tobytes()).decode() if as_base64 else vec.tolist()
            data.append({"object": "embedding", "index": i, "embedding": value})
        payload = json.dumps({"object": "list", "data": data, "model": body["model"], "usage": {}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _serve(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- synthetic articles ----------------------------------------------------------------------------------------
def _sentences() -> list[str]:
    found: list[str] = []
    for line in (DATA / "beir" / "scifact" / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        found += re.split(r"(?<=[.!?])\s+(?=[A-Z])", json.loads(line)["text"])
    pqa = json.loads((DATA / "pubmedqa" / "ori_pqal.json").read_text(encoding="utf-8"))
    for record in pqa.values():
        for context in record["CONTEXTS"]:
            found += re.split(r"(?<=[.!?])\s+(?=[A-Z])", context)
    return [s.strip() for s in found if 40 <= len(s) <= 400]


def write_articles(path: Path, first: int, count: int, sentences: list[str]) -> None:
    rng = random.Random(first)
    with path.open("w", encoding="utf-8") as out:
        for n in range(first, first + count):
            title = " ".join(rng.choice(sentences).split()[:18]).rstrip(".")
            record = {
                "pmid": str(40_000_000 + n),
                "title": title,
                "abstract": " ".join(rng.choice(sentences) for _ in range(rng.randint(4, 8))),
                "journal": rng.choice(JOURNALS),
                "year": 1990 + n % 35,
            }
            out.write(json.dumps(record) + "\n")


def questions(limit: int) -> list[str]:
    lines = (DATA / "beir" / "scifact" / "queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines[:limit]]


# --- measuring -------------------------------------------------------------------------------------------------
def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(seconds, stdout) of one command."""
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started, done.stdout


def run_rss(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, stdout), the RSS from the kernel's accounting of that one child."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode})")
    return seconds, usage.ru_maxrss / 1024, out


def du(path: Path, skip: str | None = None) -> float:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not (skip and skip in p.parts):
            total += p.stat().st_size
    return total / 1024**2


def percentiles(values: list[float]) -> tuple[float, float]:
    return statistics.median(values) * 1000, float(np.percentile(values, 95)) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,50000")
    parser.add_argument("--work", default="/tmp/litbot-scale")
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="reuse the store already in --work")
    parser.add_argument("--ingest-only", action="store_true", help="measure the ingest steps only")
    parser.add_argument("--code", help="a litbot checkout whose source `litbot ingest` runs (PYTHONPATH)")
    args = parser.parse_args()
    work = Path(args.work)
    if work.exists() and not args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    server = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "OPENAI_"))}
    env.update(
        LITBOT_CHROMA_PATH=str(work / "chroma"),
        LITBOT_DATA_DIR=str(work / "data"),
        LITBOT_EMBEDDING_MODEL="openai:stand-in",
        OPENAI_BASE_URL=f"http://127.0.0.1:{port}/v1",
        OPENAI_API_KEY="sk-stand-in",
        LITBOT_LLM="false",  # the setting is LITBOT_LLM: LITBOT_LLM_ENABLED was ignored
    )
    os.environ.update(env)
    ingest_env = dict(env)
    if args.code:
        ingest_env["PYTHONPATH"] = str(Path(args.code).resolve())
    from bot.retrieval.retriever import Retriever
    from ingest.embeddings import make_embedder
    from ingest.settings import load_settings
    from ingest.store import open_store

    sentences = _sentences()
    asked = questions(args.questions)
    print(
        f"{len(sentences)} sentences, {len(asked)} questions, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    have = 0
    if args.keep and (work / "count").exists():
        have = int((work / "count").read_text())
    extra = 20_000_000 + (int(time.time()) % 100_000) * 1000  # new articles on every run, even with --keep
    for size in [int(s) for s in args.sizes.split(",")]:
        row: dict[str, object] = {"articles": size}
        if size > have:
            batch = work / "batch.jsonl"
            write_articles(batch, have, size - have, sentences)
            load = os.getloadavg()[0]
            seconds, out = run([str(BIN / "litbot"), "ingest", str(batch), "--json"], ingest_env)
            report = json.loads(out)
            row["ingest_articles_per_s"] = round((size - have) / seconds, 1)
            row["ingest_chunks"] = report["chunks"]
            have = size
            (work / "count").write_text(str(have))
            if args.ingest_only:
                row["load_average"] = f"{load:.1f}-{os.getloadavg()[0]:.1f}"  # before and after
                print(json.dumps(row), flush=True)
                continue
        row["store_mb"] = round(du(work / "chroma", skip=".litbot"), 1)
        row["lexical_mb"] = round(du(work / "chroma" / ".litbot"), 1)
        question = asked[0]
        cold = run_rss([str(BIN / "litbot"), "ask", question, "--json"], env)
        warm = run_rss([str(BIN / "litbot"), "ask", question, "--json"], env)
        row["ask_cold_s"], row["ask_warm_s"] = round(cold[0], 2), round(warm[0], 2)
        row["ask_peak_rss_mb"] = round(max(cold[1], warm[1]), 1)

        settings = load_settings()
        embedder = make_embedder(settings)
        retriever = Retriever(open_store(settings, embedder.name, create=False), embedder, settings)
        started = time.perf_counter()
        retriever.lexical_index()
        row["index_open_s"] = round(time.perf_counter() - started, 3)
        for q in asked[:5]:
            retriever.search(q, k=6)
        for mode in ("lexical", "hybrid"):
            times = []
            for q in asked:
                t = time.perf_counter()
                retriever.search(q, k=6, mode=mode)  # type: ignore[arg-type]
                times.append(time.perf_counter() - t)
            p50, p95 = percentiles(times)
            row[f"{mode}_p50_ms"], row[f"{mode}_p95_ms"] = round(p50, 1), round(p95, 1)
        more = work / "more.jsonl"
        write_articles(more, extra, 100, sentences)
        extra += 100
        run([str(BIN / "litbot"), "ingest", str(more), "--json"], env)
        t = time.perf_counter()
        retriever.store.revision()  # an embedded store written by another process is reopened here
        row["after_100_store_reopen_s"] = round(time.perf_counter() - t, 3)
        u = time.perf_counter()
        retriever.lexical_index()  # the catch-up: the 100 new articles, read from the store and indexed
        row["after_100_lexical_catch_up_s"] = round(time.perf_counter() - u, 3)
        retriever.search(question, k=6)
        first = time.perf_counter() - t
        t = time.perf_counter()
        retriever.search(question, k=6)
        again = time.perf_counter() - t
        row["first_after_100_s"], row["warm_s"] = round(first, 3), round(again, 3)
        row["first_after_100_extra_s"] = round(first - again, 3)
        row["load_average"] = round(os.getloadavg()[0], 1)
        print(json.dumps(row), flush=True)
    server.terminate()


if __name__ == "__main__":
    main()
