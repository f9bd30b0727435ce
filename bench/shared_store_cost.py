"""What taking turns at an embedded store costs when nobody else uses it: this checkout against another, in turn.

    .venv/bin/python bench/shared_store_cost.py /tmp/old-checkout --rounds 3 [--embedder stub|minilm]

Each round, for each checkout: a copy of a store holding the bundled sample, `litbot ingest` of ``--articles``
SciFact abstracts into it (wall time), then `litbot chat --json` answering ``--questions`` PubMedQA questions
(median and p95 of each answer's own time). The other checkout runs with its own code (PYTHONPATH) and this
virtualenv. Prints one row per run and the medians with their ratios.
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
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from store_race import SHARED, questions, write_corpus  # noqa: E402

LITBOT = str(Path(sys.executable).parent / "litbot")


def run_once(
    code: Path, template: Path, corpus: Path, asked: list[str], env: dict[str, str], work: Path
) -> dict[str, float]:
    folder = work / "run"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(template, folder)
    env = {
        **env,
        "PYTHONPATH": str(code),
        "LITBOT_CHROMA_PATH": str(folder / "chroma"),
        "LITBOT_DATA_DIR": str(folder / "data"),
    }
    started = time.monotonic()
    done = subprocess.run([LITBOT, "ingest", str(corpus), "--json"], env=env, capture_output=True, text=True)
    ingest = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest failed with {code}: {done.stderr[-1000:]}")
    chat = subprocess.run(
        [LITBOT, "chat", "--json"], env=env, input="\n".join(asked) + "\n", capture_output=True, text=True
    )
    times = [json.loads(line)["timings"]["total"] for line in chat.stdout.splitlines() if '"timings"' in line]
    if len(times) != len(asked):
        raise SystemExit(f"chat answered {len(times)} of {len(asked)} with {code}: {chat.stderr[-1000:]}")
    ordered = sorted(times)
    return {
        "ingest_s": round(ingest, 2),
        "answer_median_s": round(statistics.median(times), 4),
        "answer_p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "other", type=Path, help="another checkout (e.g. a git worktree at the commit before)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--embedder", choices=("stub", "minilm"), default="stub")
    parser.add_argument("--scifact", type=Path, default=SHARED / "beir" / "scifact" / "corpus.jsonl")
    parser.add_argument("--questions-file", type=Path, default=SHARED / "beir" / "pubmedqa" / "queries.jsonl")
    options = parser.parse_args()

    from tests.embeddings_stub import EmbeddingsStub

    work = Path(tempfile.mkdtemp(prefix="litbot-shared-cost-"))
    with ExitStack() as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LITBOT_", "OPENAI_"))} | {
            "LITBOT_LLM": "false"
        }
        if options.embedder == "stub":
            env |= stack.enter_context(EmbeddingsStub()).env()
        corpus = write_corpus(options.scifact, options.articles, 1, work)[0]
        asked = questions(options.questions_file, options.questions)
        template = work / "template"
        built = subprocess.run(
            [LITBOT, "ingest", "--sample", "--json"],
            env={**env, "PYTHONPATH": str(ROOT), "LITBOT_CHROMA_PATH": str(template / "chroma"), "LITBOT_DATA_DIR": str(template / "data")},
            capture_output=True, text=True,
        )  # fmt: skip
        if built.returncode != 0:
            raise SystemExit(built.stderr[-1000:])
        rows: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
        for number in range(1, options.rounds + 1):
            for name, code in (("this", ROOT), ("other", options.other.resolve())):
                row = run_once(code, template, corpus, asked, env, work)
                rows[name].append(row)
                print(f"round {number} {name}: {row}", flush=True)
    summary = {}
    for key in ("ingest_s", "answer_median_s", "answer_p95_s"):
        this = statistics.median(r[key] for r in rows["this"])
        other = statistics.median(r[key] for r in rows["other"])
        summary[key] = {"this": this, "other": other, "ratio": round(this / other, 3) if other else None}
    print(json.dumps(summary, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
