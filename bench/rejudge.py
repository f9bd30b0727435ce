"""Re-judge every question set with the code checked out now, retrieval held fixed: what a change to concepts,
vocabulary or the gate does, step by step (BENCHMARKS.md › Answers, round 10).

    .venv/bin/litbot ingest --sample
    .venv/bin/python bench/rejudge.py prepare /tmp/cases.pkl          # retrieval once (~8 min)
    .venv/bin/python bench/rejudge.py judge /tmp/cases.pkl /tmp/a.json   # at one commit (~1.5 min)
    .venv/bin/python bench/rejudge.py judge /tmp/cases.pkl /tmp/b.json   # at the next
    .venv/bin/python bench/rejudge.py compare /tmp/a.json /tmp/b.json

The cases are answer_tune's (answerable, unanswerable, lay tune/held-out, technical, not-in-store, PubMedQA and
its leave-gold-out twin) plus the read lay sets (held-out 3–12, notes); the clean set (lay-heldout13) is left
out. ``judge`` recomputes each question's concepts and its verdict; the retrieved articles stay those of
``prepare`` (a vocabulary change also widens the lexical search, which only the whole path — bench/lay_bench.py
— measures). ``compare`` prints each case whose outcome, gold citation or missing concepts changed, and per set
the questions answered from their gold (sets that have one) or answered at all (sets that should not be).
"""

from __future__ import annotations

import argparse
import collections
import json
import pickle
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import answer_tune

from bot.answer.gate import judge
from bot.chat import ChatHandler
from ingest.settings import load_settings

READ_LAY = [f"lay-heldout{n}" for n in range(3, 13)] + ["lay-notes"]
#: Sets whose questions have a gold article to answer from; the others should be refused or partial
GOLD_SETS = ("answerable", "pubmedqa", "lay", "lay-technical")


def prepare(path: Path) -> None:
    handler = ChatHandler.from_settings(load_settings())
    embed = answer_tune.MemoEmbed(handler.embedder)
    cases = answer_tune.prepare(handler, embed, None, more_lay=READ_LAY)
    with path.open("wb") as out:
        pickle.dump((cases, embed.memo), out)
    print(f"{len(cases)} cases -> {path}")


def rejudge(path: Path, out: Path) -> None:
    with path.open("rb") as f:
        cases, memo = pickle.load(f)
    handler = ChatHandler.from_settings(load_settings())
    embed = answer_tune.MemoEmbed(handler.embedder)
    embed.memo.update(memo)
    rows = []
    for case in cases:
        verdict = judge(case.case.question, handler.concepts(case.case.question), case.evidence, embed)
        cited = {str(c.evidence.article.article_id) for c in verdict.coverage}
        rows.append(
            {
                "set": case.set_name,
                "split": case.split,
                "question": case.case.question,
                "outcome": verdict.outcome,
                "gold_cited": bool(cited & set(case.case.gold)),
                "missing": verdict.missing_text,
            }
        )
    out.write_text(json.dumps(rows, indent=0), encoding="utf-8")
    print(f"{len(rows)} verdicts -> {out}")


def compare(before_path: Path, after_path: Path) -> None:
    before = json.loads(before_path.read_text(encoding="utf-8"))
    after = json.loads(after_path.read_text(encoding="utf-8"))
    totals: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0, 0])
    for a, b in zip(before, after, strict=True):
        if (a["outcome"], a["gold_cited"], a["missing"]) != (b["outcome"], b["gold_cited"], b["missing"]):
            print(f"[{a['set']}/{a['split']}] {a['question'][:110]}")
            print(
                f"    {a['outcome']} gold={a['gold_cited']} {a['missing']} -> {b['outcome']} gold={b['gold_cited']} {b['missing']}"
            )
        counted = totals[a["set"]]
        counted[0] += 1
        for i, row in ((1, a), (2, b)):
            answered = row["outcome"] == "answer"
            counted[i] += answered and (row["gold_cited"] or a["set"] not in GOLD_SETS)
    print("\n| set | cases | before | after | counts |")
    print("|---|---|---|---|---|")
    for name, (n, x, y) in sorted(totals.items()):
        what = "answered from the gold" if name in GOLD_SETS else "answered (should not be)"
        print(f"| {name} | {n} | {x} | {y} | {what} |")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("prepare", help="retrieve every case once").add_argument("cases", type=Path)
    judged = sub.add_parser("judge", help="verdicts with the code checked out now")
    judged.add_argument("cases", type=Path)
    judged.add_argument("out", type=Path)
    compared = sub.add_parser("compare", help="what changed between two judge runs")
    compared.add_argument("before", type=Path)
    compared.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.cases)
    elif args.command == "judge":
        rejudge(args.cases, args.out)
    else:
        compare(args.before, args.after)


if __name__ == "__main__":
    main()
