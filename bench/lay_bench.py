"""Plain-language questions side by side: which lay-to-technical bridges pay (BENCHMARKS.md › Answers).

    .venv/bin/litbot ingest --sample
    .venv/bin/python bench/lay_bench.py [--sets lay-tune technical lay-not-in-store] [--variants all]
    .venv/bin/python bench/lay_bench.py --sets lay-heldout --variants shipped --notes /tmp/notes.txt

Every case runs through the real handler (``ChatSession.ask``: retrieval, gate, extractive answer), once per
variant, each variant over every set before the next. Variants switch the bridges of
:mod:`bot.answer.bridging` and the MeSH headings the gate reads (``bot.answer.evidence.INDEXING``):

* ``none``: no other names; the question's own words only (the concepts are still noun phrases)
* ``wordnet``, ``abbreviations``: one source; ``wordnet+abbreviations``: both
* ``shipped``: what litbot uses (WordNet and litbot's everyday vocabulary, by retrieval and the gate)
* ``gate-only``: the other names used by the gate but not by retrieval
* ``dense-too``: shipped, and the dense search embeds the question with the other names
* ``names``: shipped, and an article that could answer may name what it lacks in a phrase of its own
  (``Bridges(names=True)``, :mod:`bot.answer.naming`; off by default)
* ``no-mesh``: shipped, without the MeSH headings in the gate's words
* ``no-everyday``: shipped, without litbot's vocabulary of everyday names (``bot.answer.lexicon.EVERYDAY``)

Sets are files of ``bench/data/answers/lay/`` (see its README: ``lay-heldout`` is never tuned on). ``--notes``
writes every partial answer's first lines, the quoted sentences and the gold abstract's title, for reading.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer import evidence, lexicon
from bot.answer.bridging import DEFAULT_BRIDGES
from bot.chat import ChatHandler
from bot.eval.answers import load_cases, run_cases
from bot.types import Filters
from ingest.settings import load_settings

SETS = Path(__file__).parent / "data" / "answers" / "lay"
VARIANTS = {
    # variant: (bridges, MeSH headings in the gate's words, the everyday vocabulary beside WordNet); the source
    # comparisons (none … wordnet+abbreviations) leave the vocabulary out, the rest are shipped but for one switch
    "none": (replace(DEFAULT_BRIDGES, wordnet=False, abbreviations=False), True, False),
    "wordnet": (replace(DEFAULT_BRIDGES, abbreviations=False), True, False),
    "abbreviations": (replace(DEFAULT_BRIDGES, wordnet=False, abbreviations=True), True, False),
    "wordnet+abbreviations": (replace(DEFAULT_BRIDGES, abbreviations=True), True, False),
    "gate-only": (replace(DEFAULT_BRIDGES, search=False), True, True),  # other names in the gate only
    "shipped": (DEFAULT_BRIDGES, True, True),
    "no-everyday": (DEFAULT_BRIDGES, True, False),
    "dense-too": (replace(DEFAULT_BRIDGES, dense=True), True, True),
    "names": (replace(DEFAULT_BRIDGES, names=True), True, True),
    "no-mesh": (DEFAULT_BRIDGES, False, True),
}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=["lay-tune", "technical", "lay-not-in-store"])
    parser.add_argument("--variants", nargs="+", default=["all"])
    parser.add_argument("--notes", type=Path, help="write the partial answers here, for reading")
    parser.add_argument("--json", type=Path, help="write every case's result here (JSONL)")
    args = parser.parse_args()
    variants = list(VARIANTS) if args.variants == ["all"] else args.variants
    handler = ChatHandler.from_settings(load_settings())
    cases = {name: load_cases(SETS / f"{name}.jsonl") for name in args.sets}
    rows = []
    notes: list[str] = []
    dump = args.json.open("w", encoding="utf-8") if args.json else None
    for variant in variants:
        handler.bridges, mesh, lexicon.EVERYDAY = VARIANTS[variant]
        evidence.INDEXING = ("title", "mesh") if mesh else ("title",)

        def ask(question: str, filters: Filters) -> object:
            return handler.new_session().ask(question, filters)

        for name, set_cases in cases.items():
            started = time.perf_counter()
            report = run_cases(set_cases, ask)  # type: ignore[arg-type]
            summary = report.summary()
            figures = summary.get("answerable") or summary.get("unanswerable")
            rows.append((variant, name, figures, time.perf_counter() - started))
            print(variant, name, json.dumps(figures), flush=True)
            for result in report.results:
                if dump:
                    dump.write(json.dumps({"variant": variant, "set": name, **result.as_dict(),
                                           "answer": result.answer}) + "\n")  # fmt: skip
                if args.notes and result.outcome == "partial":
                    notes.append(f"[{variant} {name}] {result.case.question}\n  gold={sorted(result.case.gold)}"
                                 f" cited={result.cited}\n  {result.answer}\n")  # fmt: skip
    print("\n| variant | set | gold cited | answered citing gold | refused | refused or partial |")
    print("|---|---|---|---|---|---|")
    for variant, name, f, _ in rows:
        if "gold_cited" in f:
            print(f"| {variant} | {name} | {f['gold_cited']:.1%} | {f['answered_citing_gold']:.1%} "
                  f"| {f['refused']:.1%} | |")  # fmt: skip
        else:
            print(f"| {variant} | {name} | | | {f['refused']:.1%} | {f['refused_or_partial']:.1%} |")
    if args.notes:
        args.notes.write_text("\n".join(notes), encoding="utf-8")


if __name__ == "__main__":
    main()
