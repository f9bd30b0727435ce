"""Tune the answerability gate and the extractive digest on the bundled sample, and report held-out figures.

    .venv/bin/litbot ingest --sample          # the store the figures describe (LITBOT_CHROMA_PATH to pick one)
    .venv/bin/python bench/answer_tune.py [--pubmedqa N] [--grid]

Question sets, each split into a tuning half and a held-out half that tuning never reads:

* ``bench/data/answers/answerable.jsonl`` + ``bench/data/pubmedqa_paraphrases.jsonl``: plain-language
  questions, each answered by one abstract of the sample (gold PMID). Halves by sha256 of the question.
* ``bench/data/answers/unanswerable.jsonl``: questions of the field whose topic no abstract covers (checked by
  grep): ``absent`` subjects and ``pair`` questions whose concepts never meet in one abstract. Same halves.
* PubMedQA (``../shared/data/pubmedqa``): each question with its gold abstract present (answerable; its
  conclusion must be quoted) and left out (``leave-gold-out``: unanswerable on that store). PubMedQA's
  official test PMIDs are the held-out half, the other 500 tune.

Retrieval and sentence vectors are computed once per case; each gate setting then only re-judges. ``--grid``
searches the gate's parameters on the tuning halves (balanced accuracy over the four sets) and prints the
best settings; without it the current defaults are measured. Figures go to BENCHMARKS.md › Answers.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.answer import concepts
from bot.answer.bridging import search_terms
from bot.answer.concepts import Concept
from bot.answer.evidence import ArticleEvidence, read_articles
from bot.answer.extractive import DEFAULT_DIGEST, DigestParams, ExtractiveAnswerer
from bot.answer.gate import DEFAULT_GATE, Assessment, GateParams, assess, decide, judge
from bot.answer.naming import NAME_COSINE
from bot.chat import ChatHandler
from bot.eval.answers import AnswerCase, AnswerReport, load_cases, score_case
from bot.types import Answer, Filters
from ingest.settings import load_settings

DATA = Path(__file__).parent / "data"
# ../shared beside the checkout (a worktree under wt/ has it one level further up)
PUBMEDQA = next(
    (
        p / "shared" / "data" / "pubmedqa"
        for p in Path(__file__).resolve().parents[2:4]
        if (p / "shared").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "shared" / "data" / "pubmedqa",
)


def half(question: str) -> str:
    return "tune" if int(hashlib.sha256(question.encode()).hexdigest(), 16) % 2 == 0 else "held-out"


@dataclass
class Prepared:
    case: AnswerCase
    set_name: str
    split: str
    concepts: list[Concept]
    evidence: list[ArticleEvidence]
    retrieve_s: float


Assessed = tuple[list[Concept], list[Assessment]]


class MemoEmbed:
    """Embeds each distinct text once, however many settings re-judge it."""

    def __init__(self, embedder: object) -> None:
        self.embedder = embedder
        self.memo: dict[str, np.ndarray] = {}

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            vectors = self.embedder.embed_documents(todo)  # type: ignore[attr-defined]
            self.memo.update(zip(todo, vectors, strict=True))
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self.memo[t] for t in texts])


def pubmedqa_cases(limit: int | None) -> tuple[list[AnswerCase], set[str]]:
    data = json.loads((PUBMEDQA / "ori_pqal.json").read_text(encoding="utf-8"))
    test = set(json.loads((PUBMEDQA / "test_ground_truth.json").read_text(encoding="utf-8")))
    pmids = sorted(data, key=int)
    if limit:
        pmids = [p for p in pmids if p in test][: limit // 2] + [p for p in pmids if p not in test][
            : limit // 2
        ]
    cases = [
        AnswerCase(data[p]["QUESTION"], frozenset({f"pmid:{p}"}), True, data[p].get("LONG_ANSWER", ""), p)
        for p in pmids
    ]
    return cases, test


def prepare(
    handler: ChatHandler, embed: MemoEmbed, limit: int | None, more_lay: Sequence[str] = ()
) -> list[Prepared]:
    """Retrieval and sentence vectors of every case, once; ``more_lay`` adds read lay sets (set "lay", split
    "read": bench/rejudge.py)."""
    retriever = handler.retriever()
    assert retriever is not None, "ingest the sample first: litbot ingest --sample"
    jobs: list[tuple[AnswerCase, str, str, Filters]] = []
    for path in (DATA / "answers" / "answerable.jsonl", DATA / "pubmedqa_paraphrases.jsonl"):
        for case in load_cases(path):
            jobs.append((case, "answerable", half(case.question), Filters()))
    for case in load_cases(DATA / "answers" / "unanswerable.jsonl"):
        jobs.append((case, "unanswerable", half(case.question), Filters()))
    lay = DATA / "answers" / "lay"  # issue 25's sets: a tuning file and a held-out file, not halves
    for file, set_name, split in (
        ("lay-tune", "lay", "tune"),
        ("lay-heldout", "lay", "held-out"),
        ("technical", "lay-technical", "held-out"),
        ("lay-not-in-store", "lay-not-in-store", "held-out"),
    ):
        jobs.extend((case, set_name, split, Filters()) for case in load_cases(lay / f"{file}.jsonl"))
    for file in more_lay:
        jobs.extend((case, "lay", "read", Filters()) for case in load_cases(lay / f"{file}.jsonl"))
    pubmed, test = pubmedqa_cases(limit)
    for case in pubmed:
        split = "held-out" if case.tag in test else "tune"
        jobs.append((case, "pubmedqa", split, Filters()))
        lgo = AnswerCase(case.question, case.gold, False, "", case.tag)
        jobs.append((lgo, "pubmedqa-lgo", split, Filters(exclude_ids=case.gold)))
    prepared = []
    for number, (case, set_name, split, filters) in enumerate(jobs, start=1):
        started = time.perf_counter()
        concepts = handler.concepts(case.question)
        expansion = search_terms(concepts) if handler.bridges.search else ""
        articles = retriever.search(
            case.question, k=handler.settings.top_k, filters=filters, expansion=expansion
        )
        vector = embed([case.question])[0]
        evidence = read_articles(articles, vector, handler._article_texts, embed)
        prepared.append(Prepared(case, set_name, split, concepts, evidence, time.perf_counter() - started))
        if number % 200 == 0:
            print(f"prepared {number}/{len(jobs)}", file=sys.stderr, flush=True)
    return prepared


def run(
    prepared: Sequence[Prepared], embed: MemoEmbed, gate: GateParams, digest: DigestParams
) -> dict[tuple[str, str], AnswerReport]:
    answerer = ExtractiveAnswerer(digest)
    reports: dict[tuple[str, str], AnswerReport] = {}
    for item in prepared:
        verdict = judge(item.case.question, item.concepts, item.evidence, embed, gate)
        composed = answerer.answer(item.case.question, verdict)
        answer = Answer(
            question=item.case.question, text=composed.text, mode="extractive", citations=composed.citations,
            refused=composed.refused, missing=composed.missing,
        )  # fmt: skip
        report = reports.setdefault((item.set_name, item.split), AnswerReport())
        report.results.append(score_case(item.case, answer, item.retrieve_s))
    return reports


def correct_rate(name: str, report: AnswerReport) -> float:
    """The share of cases each set wants: gold answered confidently, or not answered where none exists."""
    results = report.results
    if name in ("answerable", "pubmedqa", "lay", "lay-technical"):
        return sum(r.outcome == "answered" and r.gold_cited for r in results) / len(results)
    return sum(r.outcome != "answered" for r in results) / len(results)


def balanced(reports: dict[tuple[str, str], AnswerReport], split: str) -> float:
    rates = [correct_rate(name, rep) for (name, s), rep in reports.items() if s == split]
    return statistics.fmean(rates) if rates else 0.0


def gate_grid() -> list[GateParams]:
    return [
        replace(
            DEFAULT_GATE,
            known_relevance=kr,
            known_z=kz,
            unknown_relevance=ur,
            literature_z=lz,
            strong_relevance=sr,
            strong_z=sz,
        )
        for kr, kz, ur, lz, sr, sz in itertools.product(
            (0.55, 0.6, 0.65),
            (0.0, 0.5, 1.0),
            (0.5, 0.55, 0.6),
            (1.0, 1.5, 2.0),
            (0.45, 0.5, 0.55, 9.0),
            (1.5, 2.0, 2.5),
        )
    ]


#: Honesty first: a setting must keep these rates on the tuning halves; among those, the one answering
#: the most plain-language questions (with their gold article) wins.
FLOORS = {"unanswerable": 0.90, "pubmedqa-lgo": 0.85, "pubmedqa": 0.95}
#: The plain-language sets whose confident answers citing gold are maximised (their mean).
PLAIN = ("answerable", "lay")


def verdict_rates(
    prepared: Sequence[Prepared], assessed: Sequence[Assessed], gate: GateParams, split: str
) -> dict[str, float]:
    """Per set, the share of verdicts that are right (fast, for the grid): an answerable case when the
    verdict answers and its gold article carries the answer; another when it does not answer."""
    right: dict[str, list[bool]] = {}
    for item, (hard, assessments) in zip(prepared, assessed, strict=True):
        if item.split != split:
            continue
        verdict = decide(item.concepts, hard, assessments, gate)
        if item.case.answerable:
            ids = {c.evidence.article.article_id for c in verdict.coverage}
            ok = verdict.outcome == "answer" and bool(ids & item.case.gold)
        else:
            ok = verdict.outcome != "answer"
        right.setdefault(item.set_name, []).append(ok)
    return {name: statistics.fmean(v) for name, v in right.items()}


def choose(scored: list[tuple[dict[str, float], GateParams]]) -> list[tuple[dict[str, float], GateParams]]:
    """Settings that keep the honesty floors, most plain-language answers first (then balanced accuracy)."""
    kept = [(r, p) for r, p in scored if all(r.get(k, 1.0) >= v for k, v in FLOORS.items())]
    return sorted(
        kept,
        key=lambda rp: (
            -statistics.fmean(rp[0].get(k, 0.0) for k in PLAIN),
            -statistics.fmean(rp[0].values()),
        ),
    )


def followups(handler: ChatHandler) -> dict[str, float]:
    """Two-turn conversations (bench/data/answers/followups.jsonl) through real sessions: a follow-up whose
    new concept the evidence covers should be answered, one whose concept it lacks partial or refused."""
    rows = [
        json.loads(line) for line in (DATA / "answers" / "followups.jsonl").read_text().splitlines() if line
    ]
    right: dict[str, list[bool]] = {"covered": [], "not covered": []}
    for row in rows:
        session = handler.new_session()
        session.ask(row["first"])
        answer = session.ask(row["followup"])
        covered = bool(row["followup_covered"])
        answered = not answer.refused and not answer.missing
        right["covered" if covered else "not covered"].append(answered if covered else not answered)
    return {k: round(statistics.fmean(v), 3) for k, v in right.items() if v}


def signals(prepared: Sequence[Prepared]) -> dict[str, object]:
    """How separable the evidence is, on the tuning halves: where retrieval ranks each plain-language
    question's gold abstract, and the ROC AUC of an article's retrieval relevance for "the gold abstract of a
    plain-language question" against "a top-3 article of a question the store cannot answer"."""
    tune = [p for p in prepared if p.split == "tune"]
    ranks = [
        next((e.rank for e in p.evidence if e.article.article_id in p.case.gold), None)
        for p in tune
        if p.set_name == "answerable"
    ]
    gold = [e.article.relevance for p in tune if p.set_name == "answerable" for e in p.evidence
            if e.article.article_id in p.case.gold]  # fmt: skip

    def auc(others: list[float]) -> float:
        wins = sum((g > o) + 0.5 * (g == o) for g in gold for o in others)
        return round(wins / (len(gold) * len(others)), 3) if gold and others else 0.0

    def top3(name: str) -> list[float]:
        return [e.article.relevance for p in tune if p.set_name == name for e in p.evidence if e.rank <= 3]

    return {
        "gold rank (plain-language, tune)": {str(r): ranks.count(r) for r in sorted(set(ranks), key=str)},
        "relevance AUC vs not in the store": auc(top3("unanswerable")),
        "relevance AUC vs leave-gold-out": auc(top3("pubmedqa-lgo")),
    }


def print_reports(reports: dict[tuple[str, str], AnswerReport]) -> None:
    for (name, split), report in sorted(reports.items()):
        summary = report.summary()
        print(f"\n{name} [{split}] correct={correct_rate(name, report):.3f}")
        print(json.dumps({k: v for k, v in summary.items() if k != "latency_s"}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pubmedqa", type=int, default=None, help="PubMedQA questions (default all 1,000)")
    parser.add_argument(
        "--grid", action="store_true", help="search the gate's parameters on the tuning halves"
    )
    parser.add_argument("--dump", type=Path, help="write every case's answer here (JSONL)")
    parser.add_argument(
        "--everyday-zipf",
        type=float,
        help="override bot.answer.concepts.EVERYDAY_ZIPF (compare settings side by side)",
    )
    parser.add_argument(
        "--names",
        action="store_true",
        help="let an article that could answer name what it lacks in a phrase of its own (bot.answer.naming)",
    )
    args = parser.parse_args()
    if args.everyday_zipf is not None:
        concepts.EVERYDAY_ZIPF = args.everyday_zipf
    handler = ChatHandler.from_settings(load_settings())
    embed = MemoEmbed(handler.embedder)
    started = time.perf_counter()
    prepared = prepare(handler, embed, args.pubmedqa)
    print(f"prepared {len(prepared)} cases in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    gate = replace(DEFAULT_GATE, phrase_cosine=NAME_COSINE) if args.names else DEFAULT_GATE
    if args.grid:
        assessed = [assess(p.case.question, p.concepts, p.evidence, embed) for p in prepared]
        scored = [(verdict_rates(prepared, assessed, params, "tune"), params) for params in gate_grid()]
        ranked = choose(scored)
        for rates, params in ranked[:10]:
            print("tune", {k: round(v, 3) for k, v in sorted(rates.items())}, params)
        if not ranked:
            raise SystemExit("no setting keeps the honesty floors on the tuning halves")
        gate = ranked[0][1]
    reports = run(prepared, embed, gate, DEFAULT_DIGEST)
    print(f"\ngate {gate}\ndigest {DEFAULT_DIGEST}")
    print(
        f"balanced accuracy: tune {balanced(reports, 'tune'):.4f}  held-out {balanced(reports, 'held-out'):.4f}"
    )
    print_reports(reports)
    print(f"\nfollow-ups (answered when covered, partial/refused when not): {followups(handler)}")
    print(f"signals: {signals(prepared)}")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for (name, split), report in sorted(reports.items()):
                for result in report.results:
                    out.write(
                        json.dumps({"set": name, "split": split, **result.as_dict(), "answer": result.answer})
                        + "\n"
                    )


if __name__ == "__main__":
    main()
