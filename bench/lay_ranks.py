"""Where retrieval puts the gold abstract of each plain-language question (BENCHMARKS.md › Answers, round 7).

    .venv/bin/litbot ingest --sample
    .venv/bin/python bench/lay_ranks.py [--sets lay-heldout10 lay-heldout9 …] [--json ranks.jsonl]

Each question goes through what ``ChatSession.ask`` retrieves with (its concepts, their other names for the
lexical search), without the relevance floor and 100 deep. The gold's rank, bucketed per set, tells what
limits "gold cited": retrieval (the gold outside the 6 an answer reads) or the gate and the digest after it.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer.bridging import search_terms
from bot.chat import ChatHandler
from bot.eval.answers import load_cases
from ingest.settings import load_settings

SETS = Path(__file__).parent / "data" / "answers" / "lay"
BUCKETS = ("1", "2-6", "7-12", "13-30", "31-100", ">100")
DEPTH = 100


def bucket(rank: int | None) -> str:
    if rank is None:
        return ">100"
    return next(b for b, top in zip(BUCKETS, (1, 6, 12, 30, 100), strict=False) if rank <= top)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=["lay-tune", "lay-heldout"])
    parser.add_argument("--json", type=Path, help="write each question's gold rank here (JSONL)")
    args = parser.parse_args()
    handler = ChatHandler.from_settings(load_settings())
    retriever = handler.retriever()
    assert retriever is not None, "ingest the sample first: litbot ingest --sample"
    dump = args.json.open("w", encoding="utf-8") if args.json else None
    total: collections.Counter[str] = collections.Counter()
    print("| set | questions | " + " | ".join(f"gold at {b}" for b in BUCKETS) + " |")
    print("|---|---|" + "---|" * len(BUCKETS))
    for name in args.sets:
        counts: collections.Counter[str] = collections.Counter()
        cases = [c for c in load_cases(SETS / f"{name}.jsonl") if c.gold]
        for case in cases:
            concepts = handler.concepts(case.question)
            found = retriever.search(
                case.question, k=DEPTH, apply_floor=False, expansion=search_terms(concepts)
            )
            rank = next((i for i, a in enumerate(found, start=1) if a.article_id in case.gold), None)
            counts[bucket(rank)] += 1
            if dump:
                dump.write(json.dumps({"set": name, "question": case.question, "rank": rank}) + "\n")
        total.update(counts)
        print(f"| {name} | {len(cases)} | " + " | ".join(str(counts[b]) for b in BUCKETS) + " |", flush=True)
    n = sum(total.values())
    print(f"| all | {n} | " + " | ".join(f"{total[b]} ({total[b] / n:.1%})" for b in BUCKETS) + " |")


if __name__ == "__main__":
    main()
