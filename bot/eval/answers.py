"""`litbot eval answers`: what users read, measured — answered / partial / refused, gold cited, padding.

A question set is JSONL, one case per line::

    {"question": "...", "pmid": "123"}                       # answerable: its gold article is the PMID
    {"question": "...", "gold": ["pmid:1", "src:42"]}          # several gold articles, by litbot id
    {"question": "...", "answerable": false}                   # nothing in the store answers it
    {"question": "...", "pmid": "123", "conclusion": "..."}    # the gold abstract's conclusion, to check
                                                                # that the answer quotes it

With ``leave_gold_out`` every case's gold articles are hidden from retrieval (``Filters.exclude_ids``), which
turns answerable questions into ones the store cannot answer: the answer should then be refused or partial.
Each case runs through a fresh :class:`~bot.chat.ChatSession` of the real handler, so the figures describe
what ``litbot ask`` prints.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.answer.citations import cited_numbers
from bot.eval.metrics import percentile
from bot.types import Answer, Filters
from ingest.articles import normalise_doi, normalise_pmid
from ingest.errors import InputError
from ingest.sentences import split_sentences

_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class AnswerCase:
    question: str
    gold: frozenset[str] = frozenset()  # litbot article ids
    answerable: bool = True
    conclusion: str = ""
    tag: str = ""  # free label carried to the per-case report (e.g. "absent", "pair")


@dataclass
class CaseResult:
    case: AnswerCase
    outcome: str  # "answered" | "partial" | "refused"
    cited: list[str]  # article ids in citation order
    sentences: int  # answer sentences that cite something
    off_topic: int  # of those, sentences citing no gold article
    conclusion_quoted: bool | None  # None when the case has no conclusion
    missing: list[str]
    seconds: float
    answer: str = ""

    @property
    def gold_cited(self) -> bool:
        return bool(self.case.gold & set(self.cited))

    @property
    def gold_first(self) -> bool:
        return bool(self.cited) and self.cited[0] in self.case.gold

    def as_dict(self) -> dict[str, object]:
        return {
            "question": self.case.question,
            "tag": self.case.tag,
            "answerable": self.case.answerable,
            "outcome": self.outcome,
            "gold_cited": self.gold_cited,
            "gold_first": self.gold_first,
            "off_topic_sentences": self.off_topic,
            "conclusion_quoted": self.conclusion_quoted,
            "missing": self.missing,
            "cited": self.cited,
            "seconds": round(self.seconds, 3),
        }


def load_cases(path: Path) -> list[AnswerCase]:
    """Cases of one JSONL file; a line that is not a case is an InputError naming the file and line."""
    cases: list[AnswerCase] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(str(path), f"cannot read it ({exc.strerror or exc})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            question = str(record["question"]).strip()
        except (ValueError, KeyError, TypeError):
            raise InputError(str(path), f"line {number}: not a JSON object with a question") from None
        gold = set(record.get("gold") or [])
        if pmid := normalise_pmid(record.get("pmid")):
            gold.add(f"pmid:{pmid}")
        if doi := normalise_doi(record.get("doi")):
            gold.add(f"doi:{doi}")
        answerable = bool(record.get("answerable", bool(gold)))
        tag = str(record.get("kind") or record.get("tag") or "")
        cases.append(
            AnswerCase(question, frozenset(gold), answerable, str(record.get("conclusion") or ""), tag)
        )
    return cases


def outcome_of(answer: Answer) -> str:
    if answer.refused:
        return "refused"
    return "partial" if answer.missing else "answered"


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def quotes(answer_text: str, conclusion: str) -> bool:
    """Whether some answer sentence is (nearly word for word) a sentence of ``conclusion``."""
    target = [set(_words(s)) for s in split_sentences(conclusion)]
    for sentence in _answer_sentences(answer_text):
        words = set(_words(re.sub(r"\[\d+\]", "", sentence)))
        if len(words) >= 4 and any(len(words & t) >= 0.8 * max(len(words), len(t)) for t in target if t):
            return True
    return False


def _answer_sentences(text: str) -> list[str]:
    lines = [line.removeprefix("- ").strip() for line in text.splitlines() if line.strip()]
    return [s for line in lines for s in split_sentences(line)]


def score_case(case: AnswerCase, answer: Answer, seconds: float) -> CaseResult:
    cited = [c.id for c in answer.citations]
    by_number = {c.n: c.id for c in answer.citations}
    citing = [s for s in _answer_sentences(answer.text) if cited_numbers(s)]
    off_topic = sum(1 for s in citing if not any(by_number.get(n) in case.gold for n in cited_numbers(s)))
    quoted = quotes(answer.text, case.conclusion) if case.conclusion and not answer.refused else None
    if case.conclusion and answer.refused:
        quoted = False
    return CaseResult(
        case, outcome_of(answer), cited, len(citing), off_topic, quoted, list(answer.missing), seconds,
        answer.text,
    )  # fmt: skip


@dataclass
class AnswerReport:
    results: list[CaseResult] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        answerable = [r for r in self.results if r.case.answerable]
        unanswerable = [r for r in self.results if not r.case.answerable]
        seconds = [r.seconds for r in self.results]
        out: dict[str, object] = {"cases": len(self.results)}
        if answerable:
            answered = [r for r in answerable if r.outcome == "answered"]
            quoted = [r.conclusion_quoted for r in answerable if r.conclusion_quoted is not None]
            off = [r.off_topic for r in answered]
            out["answerable"] = {
                "cases": len(answerable),
                "answered": _share(answered, answerable),
                "partial": _share([r for r in answerable if r.outcome == "partial"], answerable),
                "refused": _share([r for r in answerable if r.outcome == "refused"], answerable),
                "answered_citing_gold": _share([r for r in answered if r.gold_cited], answerable),
                "gold_cited": _share([r for r in answerable if r.gold_cited], answerable),
                "gold_cited_first": _share([r for r in answerable if r.gold_first], answerable),
                "off_topic_sentences_median": statistics.median(off) if off else 0,
                "off_topic_sentences_mean": round(statistics.fmean(off), 3) if off else 0.0,
                "answers_with_off_topic": _share([r for r in answered if r.off_topic], answered),
                "conclusion_quoted": round(sum(quoted) / len(quoted), 4) if quoted else None,
            }
        if unanswerable:
            out["unanswerable"] = {
                "cases": len(unanswerable),
                "refused": _share([r for r in unanswerable if r.outcome == "refused"], unanswerable),
                "partial": _share([r for r in unanswerable if r.outcome == "partial"], unanswerable),
                "refused_or_partial": _share(
                    [r for r in unanswerable if r.outcome != "answered"], unanswerable
                ),
                "answered": _share([r for r in unanswerable if r.outcome == "answered"], unanswerable),
            }
        out["latency_s"] = {
            "p50": round(percentile(seconds, 50), 3),
            "p95": round(percentile(seconds, 95), 3),
        }
        return out


def _share(part: Sequence[object], whole: Sequence[object]) -> float:
    return round(len(part) / len(whole), 4) if whole else 0.0


Ask = Callable[[str, Filters], Answer]


def run_cases(
    cases: Iterable[AnswerCase],
    ask: Ask,
    leave_gold_out: bool = False,
    progress: Callable[[int], None] | None = None,
) -> AnswerReport:
    """Ask every case (a fresh conversation each) and score what comes back."""
    report = AnswerReport()
    for number, case in enumerate(cases, start=1):
        if leave_gold_out:
            filters = Filters(exclude_ids=case.gold)
            case = AnswerCase(case.question, case.gold, False, case.conclusion, case.tag)
        else:
            filters = Filters()
        started = time.perf_counter()
        answer = ask(case.question, filters)
        report.results.append(score_case(case, answer, time.perf_counter() - started))
        if progress is not None:
            progress(number)
    return report
