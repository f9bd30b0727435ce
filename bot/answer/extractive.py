"""Extractive mode, the default without an LLM: a short digest of the findings that answer the question.

It works on the gate's verdict (:mod:`bot.answer.gate`): only articles that cover the question's concepts are quoted,
and only those whose best sentence is close to the best article's. Each contributes its **finding** first —
a results or conclusion sentence — and at most one more; aims, hypotheses, background and methods are never
quoted (a hypothesis a paper refutes must not read as its answer). A null result is a finding like any other:
it is not outscored by a sentence that merely restates the question. One to five sentences, about 120 words at
most, and no sentence added only to fill a quota.

A partial answer opens with one plain sentence saying what the indexed abstracts cover and which concept none
of them addresses, then quotes the closest findings.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.answer.abstracts import AbstractSentence, Role, reads_as_agenda, reads_as_method
from bot.answer.citations import Composed, citations_for
from bot.answer.concepts import Concept, groups, name, phrase_name, zipf
from bot.answer.evidence import ArticleEvidence, Words
from bot.answer.gate import Coverage, Verdict, lexically_held, phrase_held, synonym_held
from bot.answer.lexicon import known as lexicon_known
from bot.retrieval.terms import tokenize
from bot.types import REFUSAL

_NO_LLM = "Extractive answer (no language model configured)"
HEADER = f"{_NO_LLM}: the most relevant sentences from the indexed abstracts."
PARTIAL_LEAD = "Closest findings in the indexed abstracts:"
MAX_SENTENCES = 5
MAX_WORDS = 120
MAX_ARTICLES = 3
PARTIAL_SENTENCES = 2  # of the article a partial answer is about; one of each neighbour
PARTIAL_ARTICLES = 3
MAX_NAMED = 3  # covered phrases a partial answer names (the most specific ones)

#: What a sentence's role adds to its relevance; roles absent here are never quoted.
ROLE_BONUS: dict[Role, float] = {"conclusions": 0.10, "results": 0.06, "statement": 0.0}
_NULL_RESULT = re.compile(
    r"\b(?:no|not|neither|nor|without|failed\s+to|did\s+not|does\s+not|do\s+not|was\s+not|were\s+not|"
    r"is\s+not|are\s+not|cannot|could\s+not|unable|ineffective|insignificant|non-?significant|"
    r"no\s+(?:significant\s+)?(?:difference|association|effect|benefit|evidence|improvement|change))\b",
    re.IGNORECASE,
)


#: Wording that interprets a finding rather than states it: quoted after the finding it interprets.
_INTERPRETIVE = re.compile(
    r"\b(?:may|might|could|suggests?|possibly|probably|potentially|perhaps|warrants?|further\s+(?:studies|"
    r"research|trials)|should|recommend\w*|we\s+believe|appears?\s+to|seems?\s+to|implications?)\b",
    re.IGNORECASE,
)


def interpretive(text: str) -> bool:
    """Whether a sentence interprets (hedges, recommends) rather than reports what was found."""
    return _INTERPRETIVE.search(text) is not None


def quotable(sentence: AbstractSentence) -> bool:
    """A finding: a results, conclusion or plain sentence that does not describe what was done or what future
    research should do. Aims, background and methods are never quoted, whatever their label says (a results
    section's "Ninety patients were enrolled" is method; a conclusion's "Further studies are needed" is none)."""
    return (
        sentence.role in ROLE_BONUS
        and not reads_as_method(sentence.text)
        and not reads_as_agenda(sentence.text)
    )


@dataclass(frozen=True)
class DigestParams:
    """Chosen on the tuning halves of the question sets (bench/answer_tune.py); see BENCHMARKS.md."""

    term_weight: float = 0.35  # relevance = cosine + term_weight * share of the question's terms present
    null_bonus: float = 0.05  # a null/negative finding is not outscored by one restating the question
    article_margin: float = 0.10  # articles whose best relevance is this far below the best are left out
    second_margin: float = 0.05  # an article's second sentence must be this close to its finding
    long_words: int = 55  # sentences longer than this read badly: a small penalty
    long_penalty: float = 0.05


DEFAULT_DIGEST = DigestParams()


@dataclass(frozen=True)
class _Scored:
    evidence: ArticleEvidence
    index: int  # sentence index within the article
    relevance: float  # meaning + terms
    score: float  # relevance + role preferences

    @property
    def text(self) -> str:
        return self.evidence.sentences[self.index].text


def _normal(text: str) -> str:
    return " ".join(re.findall(r"[0-9a-z]+", text.lower()))


def _cited(text: str, n: int) -> str:
    """``text`` with ``[n]`` before its final full stop."""
    text = text.rstrip()
    return f"{text[:-1]} [{n}]." if text.endswith(".") else f"{text} [{n}]"


class ExtractiveAnswerer:
    """Builds the extractive answer from a verdict; stateless, so it is safe across threads."""

    mode = "extractive"

    def __init__(self, params: DigestParams = DEFAULT_DIGEST) -> None:
        self.params = params

    def answer(self, question: str, verdict: Verdict, scope: str = "") -> Composed:
        """The digest for ``verdict``; ``scope`` names active filters for the partial answer's first line."""
        if verdict.outcome == "refuse" or not verdict.coverage:
            return Composed(REFUSAL, refused=True, missing=verdict.missing_text)
        q_terms = set(tokenize(question))
        chosen = self._choose(q_terms, [c.evidence for c in verdict.coverage], verdict.outcome == "partial")
        if not chosen:
            return Composed(REFUSAL, refused=True, missing=verdict.missing_text)
        order = list(dict.fromkeys(s.evidence.rank for s in chosen))
        number = {rank: n for n, rank in enumerate(order, start=1)}
        lines = [f"- {_cited(s.text, number[s.evidence.rank])}" for s in chosen]
        by_rank = {c.evidence.rank: c.evidence for c in verdict.coverage}
        articles = [by_rank[r].article for r in order]
        used = {i: [s.text for s in chosen if s.evidence.rank == r] for i, r in enumerate(order, start=1)}
        findings = {i: used[i][0] for i in used}
        citations = citations_for(range(1, len(order) + 1), articles, used, findings)
        if verdict.outcome == "partial":
            shown = quoted(verdict, number.keys())
            gap = gap_sentence(shown, number, scope)
            text = f"{HEADER}\n\n{gap}\n\n{PARTIAL_LEAD}\n" + "\n".join(lines)
            return Composed(text, citations, missing=shown.missing_text)
        return Composed(HEADER + "\n\n" + "\n".join(lines), citations)

    def _choose(self, q_terms: set[str], evidence: Sequence[ArticleEvidence], partial: bool) -> list[_Scored]:
        """The findings to quote, grouped by article (strongest article first), finding first. A partial
        answer quotes the gate's best partial article first, then one finding of each neighbour it names."""
        per_article = [self._scored(q_terms, e) for e in evidence]
        per_article = [s for s in per_article if s]
        if not per_article:
            return []
        strength = [max(x.relevance for x in s) for s in per_article]
        best = max(strength)
        ranked = sorted(zip(strength, per_article, strict=True), key=lambda pair: -pair[0])
        strong = [s for value, s in ranked if value >= best - self.params.article_margin]
        if partial:  # the article the note is about leads, however its sentences score
            lead = per_article[0]
            strong = [lead, *(s for s in strong if s is not lead)][:PARTIAL_ARTICLES]
        limit = PARTIAL_SENTENCES + len(strong) - 1 if partial else MAX_SENTENCES
        picked: list[_Scored] = []
        seen: set[str] = set()
        words = 0
        for n, sentences in enumerate(strong[:MAX_ARTICLES]):
            # the same sentence is never quoted twice (two records of one abstract, a repeated sentence)
            sentences = [s for s in sentences if _normal(s.text) not in seen]
            if not sentences:
                continue
            finding = sentences[0]
            seconds = sentences[1:2] if not (partial and n) else []
            group = [finding] + [
                s for s in seconds if s.relevance >= finding.relevance - self.params.second_margin
            ]
            # what was found, then what the authors make of it
            group.sort(key=lambda s: interpretive(s.text))
            for sentence in group:
                length = len(sentence.text.split())
                if len(picked) >= limit or (picked and words + length > MAX_WORDS):
                    break
                picked.append(sentence)
                seen.add(_normal(sentence.text))
                words += length
        return picked

    def _scored(self, q_terms: set[str], evidence: ArticleEvidence) -> list[_Scored]:
        """The article's quotable sentences, best first (its finding leads)."""
        out: list[_Scored] = []
        for i, sentence in enumerate(evidence.sentences):
            bonus = ROLE_BONUS.get(sentence.role)
            if bonus is None or not quotable(sentence):
                continue
            terms = set(tokenize(sentence.text))
            overlap = len(q_terms & terms) / len(q_terms) if q_terms else 0.0
            relevance = float(evidence.cosines[i]) + self.params.term_weight * overlap
            if sentence.role in ("results", "conclusions") and _NULL_RESULT.search(sentence.text):
                bonus += self.params.null_bonus
            if len(sentence.text.split()) > self.params.long_words:
                bonus -= self.params.long_penalty
            out.append(_Scored(evidence, i, relevance, relevance + bonus))
        out.sort(key=lambda s: -s.score)
        return out


#: A missing concept is said to be absent from the quoted abstracts only when none of them comes this close to
#: it (the gate's z-score of its nearest sentence): closer, a sentence may state it in other words.
ABSENT_BELOW_Z = 0.5
#: A word rarer than this in everyday English (wordfreq Zipf; 0 = never seen) that no stored article uses is a
#: coined technical name ("lecanemab" 0, "tofacitinib" 1.2), not an everyday one ("puffers" 1.7, "whipple" 2.7).
COINED_BELOW_ZIPF = 1.5


def quoted(verdict: Verdict, ranks: Collection[int]) -> Verdict:
    """A partial ``verdict`` as far as the articles retrieval ranked ``ranks`` go (those an answer quotes):
    missing is what none of them covers."""
    coverage = [c for c in verdict.coverage if c.evidence.rank in ranks]
    hard = [*verdict.covered, *verdict.missing]
    missing = sorted(
        (c for c in hard if not any(c.text in cover.how for cover in coverage)),
        key=lambda c: (c.run, c.position),
    )
    return replace(verdict, coverage=coverage, missing=missing, covered=[c for c in hard if c not in missing])


def _needed(run: Sequence[Concept], verdict: Verdict) -> list[Concept]:
    """The covered concepts of ``run`` a citation must hold: its non-soft ones, else all."""
    return [c for c in run if c in verdict.covered and not c.soft] or [c for c in run if c in verdict.covered]


def _in_words(cover: Coverage, concepts: Sequence[Concept]) -> bool:
    """Whether ``cover``'s abstract holds every one of ``concepts`` in words (not only by closeness)."""
    return all(cover.how.get(c.text) == "lexical" for c in concepts)


def _said(run: Sequence[Concept], verdict: Verdict, numbers: Mapping[int, int]) -> bool:
    """Whether the quoted abstracts hold each covered word of ``run`` in words (one or another of them)."""
    shown = [cover for cover in verdict.coverage if cover.evidence.rank in numbers]
    return all(any(_in_words(cover, [c]) for cover in shown) for c in _needed(run, verdict))


def _citing(run: Sequence[Concept], verdict: Verdict, numbers: Mapping[int, int]) -> str:
    """The citations of the quoted articles that hold ``run`` in words ("[1][3]")."""
    need = _needed(run, verdict)
    cites = sorted(
        numbers[cover.evidence.rank]
        for cover in verdict.coverage
        if cover.evidence.rank in numbers and _in_words(cover, need)
    )
    return "".join(f"[{n}]" for n in cites)


def gap_sentence(verdict: Verdict, numbers: Mapping[int, int], scope: str = "") -> str:
    """ "The indexed abstracts discuss A [1], but none of them mentions B." — what a partial answer lacks,
    said only as surely as the evidence allows. Nothing a quoted abstract holds in words (though not where it
    says what it is about: "… discuss laparoscopy [1] and mention pregnancy."), comes close to, or holds a
    longer form of is declared absent: a sentence there may say it otherwise. Else "none of them mentions B"
    is said of a technical term no stored article holds; "none of them in connection with B" of a population,
    a lettered name ("vitamin D") or a technical term WordNet does not know. A term WordNet knows ("fibroids") has other names, which an
    abstract may use ("myomas"), and anything else — above all an everyday word ("bile sac", "tablets"),
    which an abstract may well say differently — is never declared absent: "I could not match “bile sac” to
    a term in these abstracts"."""
    every = verdict.concepts
    covered_runs = [
        [c for c in every if c.run == run]
        for run in dict.fromkeys(c.run for c in verdict.covered)
        if all(c in verdict.covered for c in every if c.run == run and not c.soft)
    ]
    # what a quoted abstract holds in words, not what one only comes close to ("spread", "bones" above a study
    # of localized prostate cancer): that is no topic it discusses
    covered_runs = [r for r in covered_runs if _said(r, verdict, numbers)]
    named = [r for r in covered_runs if not all(c.soft for c in r)] or covered_runs
    # who the question is about is named last: what they have or get is the subject
    named = sorted(named, key=lambda r: (all(c.population for c in r), -max(c.weight for c in r)))[:MAX_NAMED]
    named = sorted(named, key=lambda r: r[0].run)
    every_number = "".join(f"[{n}]" for n in sorted(numbers.values()))
    # a phrase whose words the quoted abstracts cover between them, none whole: each cites them all
    cited = [_citing(r, verdict, numbers) or every_number for r in named]
    if len(set(cited)) > 1:  # the quoted articles cover different parts: each part with its own
        covered = _and([f"{_covered_name(r, verdict)} {c}" for r, c in zip(named, cited, strict=True)])
        cites = ""
    else:
        covered = _and([_covered_name(r, verdict) for r in named]) or "related topics"
        cites = cited[0] if cited else every_number
    absent: list[str] = []
    unmatched: list[str] = []
    unknown: list[str] = []
    passing: list[str] = []
    for group in groups(verdict.missing):
        phrase = phrase_name(group[0], every)
        if phrase in absent + unmatched + unknown + passing:
            continue
        if _in_passing(group, verdict):  # held in words, though not where the abstract says what it is about
            passing.append(phrase)
        elif _coined(group) and not _clipped(group, verdict):  # a name no stored article uses
            # unless it is one word of a description whose others are found ("prostate rebore"): an everyday
            # word English rarely writes, which an abstract may say otherwise ("transurethral resection")
            (unmatched if _describes(group, verdict) else unknown).append(phrase)
        elif _resembled(group, verdict):  # a quoted abstract may say it otherwise: never declared absent
            unmatched.append(phrase)
        elif all(c.domain and not c.known and not lexicon_known(c.text) for c in group):
            unknown.append(phrase)
        elif _surely_absent(group, verdict):
            absent.append(phrase)
        else:
            unmatched.append(phrase)
    clauses = []
    if unknown:
        clauses.append(f"mentions {_and(unknown)}")
    if absent:
        clauses.append(f"in connection with {_and(absent)}")
    where = f"indexed abstracts ({scope})" if scope else "indexed abstracts"
    text = f"The {where} discuss {covered}" + (f" {cites}" if cites else "")
    if passing:  # said as plainly as the words are there: whether they are the finding is for the reader
        text += f" and mention {_and(passing)}"
    text += f", but none of them {', and none '.join(clauses)}." if clauses else "."
    if unmatched:
        text += f" I could not match {_or([f'“{w}”' for w in unmatched])} to a term in these abstracts."
    return text


def _covered_name(run: Sequence[Concept], verdict: Verdict) -> str:
    """The phrase as the question writes it when a quoted abstract holds it: every word of it ("travel
    sickness" is not discussed by an abstract on the "sick" euthyroid syndrome), and a name litbot knows side by
    side or by another name ("period pain" is not discussed by an audit period of labour analgesia), else just
    the concepts it covers."""
    words = [c for c in run if not c.modifier]
    if any(_holds_phrase(words, cover.evidence.words) for cover in verdict.coverage):
        return phrase_name(run[0], verdict.concepts)
    return name([c for c in run if c in verdict.covered])


def _holds_phrase(words: Sequence[Concept], held: Words) -> bool:
    if not all(lexically_held(c, held) for c in words):
        return False
    if len(words) < 2 or not lexicon_known(name(words)):  # a description: its words ("head playing sport")
        return True
    return phrase_held(words, held) or any(synonym_held(c, held) for c in words)


def _surely_absent(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether the quoted abstracts can be said to lack ``group`` (which none of them resembles): words-only
    concepts (a population, a lettered name, what a follow-up adds), or technical terms WordNet does not
    know (it would know other names for them)."""
    if any(c.population or c.pattern or c.strict for c in group):
        return True
    return all(c.domain and not lexicon_known(c.text) for c in group)


def _coined(group: Sequence[Concept]) -> bool:
    """Whether ``group`` is a technical name no stored article uses and everyday English does not know
    ("lecanemab", "tofacitinib"): an abstract close to it is no sign that it says the same otherwise (the
    embedding model reads such a name as pieces, and finds them anywhere)."""
    return all(
        c.domain and not c.known and not lexicon_known(c.text) and zipf(c.text) < COINED_BELOW_ZIPF
        for c in group
    )


def _describes(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether ``group`` stands in a phrase of the question with a word the quoted abstracts hold, and that
    names something rather than only describes it: "rebore" in "prostate rebore"."""
    run = {c.run for c in group}
    return any(c.run in run and not (c.soft or c.modifier) for c in verdict.covered if c not in group)


def _resembled(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether a quoted abstract may hold ``group`` in other words, so that saying "none of them …" could
    deny what a sentence below says: one comes close to it (a sentence there stands out towards it: "asthma
    puffers" and metered-dose inhalers; not for who the question is about or a lettered name, which only
    words tell apart), holds a longer word it may be short for ("strep": streptococcus), a word of the same
    root ("Aboriginal": Aborigines), or speaks of birth when babies or pregnancy are asked about."""
    # similarity cannot tell children from adults, nor vitamin D from vitamin E
    words_only = any(c.population or c.pattern or c.strict for c in group)
    return (
        (not words_only and not _far(group, verdict))
        or _clipped(group, verdict)
        or _same_root(group, verdict)
        or _born(group, verdict)
    )


#: Abstracts about births are about babies being born and pregnancies ending ("birth-weights for Aborigines", "the
#: time of delivery", "head circumference at birth", "adverse perinatal outcomes following IVF/ICSI", "IVF/ICSI
#: pregnancies").
_BIRTH = re.compile(
    r"\b(?:births?|born|birth-?weights?|deliver(?:y|ies|ed)|perinatal|neonat\w*|newborns?|pregnanc(?:y|ies)|"
    r"conceptions?)\b"
)


def _born(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether ``group`` names babies or pregnancy and a quoted abstract speaks of birth."""
    return any({"infant", "pregnant"} & set(c.population) for c in group) and any(
        _BIRTH.search(cover.evidence.words.text) is not None for cover in verdict.coverage
    )


def _in_passing(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether a quoted abstract holds ``group`` in words, though not where it says what it is about ("a
    second baby" in a study of first pregnancies), or among the ages it enrolled (MeSH "Adolescent" in a study
    of all ages): too little to count as covered, too much to deny. Every word of it, in one abstract: "social"
    in a study of social anxiety is no mention of social media."""
    return any(
        all(
            lexically_held(c, cover.evidence.words) or lexically_held(c, cover.evidence.enrolled)
            for c in group
        )
        for cover in verdict.coverage
    )


def _same_root(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether a quoted abstract holds a word beginning as a long concept word does, but for its last three
    letters ("aboriginal": aborigines, "arthritic": arthritis)."""
    return any(
        re.search(rf"\b{re.escape(c.text[: len(c.text) - 3])}", cover.evidence.words.text) is not None
        for cover in verdict.coverage
        for c in group
        if len(c.text) >= 9 and c.text.isalpha()
    )


def _clipped(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether a quoted abstract holds a longer word the concept may be short for ("strep": streptococcus)."""
    return any(
        re.search(rf"\b{re.escape(c.text)}[a-z]{{2,}}", cover.evidence.words.text) is not None
        for cover in verdict.coverage
        for c in group
        if len(c.text) >= 4 and c.text.isalpha()
    )


def _far(group: Sequence[Concept], verdict: Verdict) -> bool:
    """Whether no quoted abstract comes close to ``group`` (a sentence there may name it otherwise)."""
    return all(cover.closeness.get(c.text, 0.0) < ABSENT_BELOW_Z for cover in verdict.coverage for c in group)


def _or(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
