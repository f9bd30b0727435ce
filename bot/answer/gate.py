"""The answerability gate: does the retrieved evidence address what the question is about?

Retrieval always returns *something* close; closeness alone cannot tell "about laparoscopy in pregnancy" from
"about laparoscopy". So before an answer is composed, each retrieved article is checked for each of the
question's key concepts (:mod:`bot.answer.concepts`):

* **lexically**: the article (title, abstract, MeSH) holds the concept's terms, in any of their forms
  ("pregnant" for "pregnancy", "tumor" for "tumour", "second trimester" for "second-trimester"). An article
  that is not close to the question overall must hold it where it says what it is about (title, MeSH or
  findings): "diabetes" met only among a statin trial's baseline characteristics is a mention in passing;
* **semantically**, when the words differ ("windpipe" / "trachea"): the article is close to the question
  overall (its retrieval relevance) and one of its sentences stands out for the concept among all retrieved
  sentences (the z-score of its cosine to the concept's words), by thresholds that grow with how surely an
  article about it would use the word (:func:`semantically_held`);
* **by a phrase of its own** (:mod:`bot.answer.naming`; off by default, measured not to pay), for an everyday
  word an article that could answer lacks: one of its phrases is very close to the question's ("cigarette
  packages" for "cigarette packs"). Read only to answer: a partial verdict is decided without it.

The concepts must meet in one article. Three outcomes: **answer** (some articles cover every concept that
narrows the question, one of them ranked first or about as close as the closest: ``GateParams.answer_margin``;
or the article ranked first stands clear of the others and lacks only words that stand out in it:
``GateParams.lead_margin``),
**partial** (the best article covers the concepts that carry most of the question's
weight but not all; the answer says which are missing, and quotes the article retrieval ranks first among those
covering about as much: ``GateParams.partial_margin``, then its near neighbours covering part of it:
``GateParams.neighbours``), **refuse** (nothing covers enough).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from bot.answer.concepts import QUALIFIERS, Concept, groups, missing_names, name, phrase_name
from bot.answer.evidence import ArticleEvidence, Words
from bot.answer.lexicon import STATES
from bot.answer.naming import closest_names
from bot.answer.spelling import american
from bot.retrieval.terms import same_stem, tokenize

Outcome = Literal["answer", "partial", "refuse"]


@dataclass(frozen=True)
class GateParams:
    """Chosen on the tuning halves of the question sets (bench/answer_tune.py); see BENCHMARKS.md."""

    # A concept an article does not hold in words counts as covered when the article is this close to the
    # question overall (its retrieval relevance: the best cosine of its chunks, title included) and the
    # concept itself stands out among the retrieved sentences in that article by this z-score. Known = some
    # stored article holds it; unknown = an everyday word none does (a technical term no article holds is
    # never covered this way).
    known_relevance: float = 0.6
    known_z: float = 0.5
    unknown_relevance: float = 0.55
    unknown_z: float = -math.inf  # for a word no article uses, the article's closeness alone decides
    # A word the literature itself uses (Concept.literature) is covered by similarity only when it stands out
    # this far in the article: "radiation" in a radiotherapy abstract (z 1.9), not "fractures" in an
    # osteochondritis one (0.82)
    literature_z: float = 1.0
    # The rest of its phrase held in words, a part the literature names is covered by similarity only in an
    # article this close to the question (Gap.part)
    part_relevance: float = 0.7
    # Or, for an everyday word some stored article uses: the article is at least this close and the concept stands out
    # this far in it ("tablets" in a trial of oral agents added to insulin, z 2.7 at relevance 0.59). Never for
    # a word no stored article uses ("smartwatch" stands out at z 3.0 in an echocardiography abstract)
    strong_relevance: float = 0.5
    strong_z: float = 2.0
    partial_share: float = 0.15  # weight share of the concepts the best article must cover for a partial
    # A partial answer quotes the article retrieval ranks first among those within this share of the best
    # one: holding one more of the question's words is no sign of being about it
    partial_margin: float = 0.4
    # A partial answer also quotes the articles retrieval ranks among the first this many, as close to the
    # question as the closest but for this much, that cover some of it: which of near-equals is about the
    # question is what the gate could not tell ("spots in his bones": the bone-metastasis study ranked third,
    # 0.04 below a biopsy study holding "prostate cancer" and "scan")
    neighbours: int = 3
    neighbour_margin: float = 0.1
    # Below this retrieval relevance an article holds a concept in words only where it says what it is about
    # (title, MeSH, findings); elsewhere in its abstract the word may be in passing.
    focus_relevance: float = 0.6
    # The question is answered only if an article retrieval puts first, or one about as close to the question as
    # the closest retrieved one, holds every concept: holding the words far down the list ("emergency",
    # "operation", "belly", "aged" in a mass-casualty report at rank 4, 0.09 below an emergency-laparotomy
    # study) is no sign of being about them. Then every article holding them all may be quoted.
    answer_margin: float = 0.02
    # An article that could answer but for a few words names them in its own when one of its phrases is this
    # close to the question's (MiniLM cosine, phrase against phrase: bot.answer.naming): "asthma puffers" /
    # inhalers 0.76, "cigarette packs" / cigarette packages 0.85; "vaping" / smoking 0.61 is not a name.
    # Measured, it did not pay (BENCHMARKS.md › Answers, round 6): off unless Bridges(names=True) asks for it
    phrase_cosine: float = math.inf
    # Retrieval's clear first: the article ranked first, this far closer to the question than any other and at
    # least lead_relevance close, covering lead_share of it, answers though it lacks words, when each stands
    # out in it (lead_z) and none is one only words may cover (a population, a lettered name, a technical term
    # no article holds, part of a phrase another abstract holds): "well-off" (z 1.1) in a study of
    # socioeconomic differences in mortality after retirement at 0.62, 0.17 ahead of the next. Chosen on the
    # tuning halves with no leave-gold-out or unanswerable question answered more (BENCHMARKS.md › Answers,
    # round 7)
    lead_margin: float = 0.08
    lead_relevance: float = 0.6
    lead_z: float = 1.0
    lead_share: float = 0.3


DEFAULT_GATE = GateParams()


@dataclass
class Coverage:
    """Which concepts one article covers, and how."""

    evidence: ArticleEvidence
    how: dict[str, str] = field(default_factory=dict)  # concept text -> "lexical" | "semantic"
    missing: list[Concept] = field(default_factory=list)  # hard concepts it does not cover
    share: float = 0.0  # weight share of the hard concepts it covers
    #: for each missing concept, how far it stands out in the article's sentences (the gap's z-score): a
    #: concept the article may well state in other words must not be said to be absent from it
    closeness: dict[str, float] = field(default_factory=dict)
    #: missing concepts only words may cover here (a blocked gap, part of a phrase, a word renamed elsewhere)
    firm: set[str] = field(default_factory=set)


@dataclass
class Verdict:
    outcome: Outcome
    concepts: list[Concept]
    # articles carrying the answer (answer: complete; partial: the best partial, then its neighbours)
    coverage: list[Coverage]
    missing: list[Concept] = field(default_factory=list)  # concepts no carrying article covers
    covered: list[Concept] = field(default_factory=list)  # hard concepts the carrying articles do cover

    @property
    def missing_text(self) -> list[str]:
        """The missing concepts named as phrases ("heart attack")."""
        return missing_names(self.missing, self.concepts)


Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors


def lexically_held(concept: Concept, words: Words) -> bool:
    """Whether ``words`` hold the concept's term in some form ("pregnant" for "pregnancy", "tumor" for
    "tumour", "second trimester" for "second-trimester"), for a population any word of its group
    ("paediatric" for "children"), for a lettered name the name itself."""
    if concept.pattern:
        return re.search(concept.pattern, words.text) is not None
    terms = words.terms
    if concept.population and not terms.isdisjoint(concept.population):
        return True
    if "-" in concept.text and re.search(_compound(concept.text), words.text):
        return True
    return any(
        term in terms or any(same_stem(term, t) for t in terms if t[:3] == term[:3])
        for term in _spellings(concept)
    ) or synonym_held(concept, words)


def synonym_held(concept: Concept, words: Words) -> bool:
    """Whether ``words`` hold one of the concept's other names (:mod:`bot.answer.bridging`): "uterus" for
    "womb", "diuretic" for "water pills", "CXR" for "chest X-ray"."""
    return any(_name_held(name, words) for name in concept.synonyms)


@functools.lru_cache(maxsize=4096)
def _name_pattern(name: str) -> re.Pattern[str]:
    words = re.findall(r"[0-9a-z]+", american(name.lower()))
    return re.compile(r"(?<![\w-])" + r"[\s-]?".join(map(re.escape, words)) + r"(?:e?s)?(?![\w-])")


def _name_held(name: str, words: Words) -> bool:
    if " " in name or "-" in name or not name.isalpha():
        return _name_pattern(name).search(words.text) is not None
    term = tokenize(american(name.lower()))
    return bool(term) and (
        term[0] in words.terms or any(same_stem(term[0], t) for t in words.terms if t[:3] == term[0][:3])
    )


def question_phrases(concepts: Sequence[Concept]) -> list[list[Concept]]:
    """The question's phrases of two or more neighbouring concepts ("irritable bowel syndrome"). Who a
    question is about is no part of a phrase: "elderly women" are also "women over 75"."""
    return [group for group in groups([c for c in concepts if not c.population]) if len(group) > 1]


def described_populations(concepts: Sequence[Concept]) -> list[list[Concept]]:
    """Who a question is about, with the words before it that say which of them ("overweight mums"), when the
    question names other people too ("… feed their overweight children"): there the words must be said of
    these people, not only of the others."""
    people = [c for c in concepts if c.population]
    described = []
    for group in groups(concepts):
        for i, concept in enumerate(group):
            if concept.population and i and not group[i - 1].population:
                start = i
                while start and not group[start - 1].population:
                    start -= 1
                if any(other.population != concept.population for other in people):
                    described.append(group[start : i + 1])
    return described


def _said_of_others(
    described: Sequence[Concept], people: Sequence[Concept], held: Sequence[Concept], item: ArticleEvidence
) -> bool:
    """Whether the article holds the words that describe the question's people ("overweight mums") never
    with them in one sentence, but with others the question names ("many children underestimated their
    degree of overweight"): a study of overweight children that mentions mothers is no study of overweight
    mothers."""
    if not _apart(described, held, item):
        return False
    who = described[-1]
    words = [c for c in described if c is not who]
    others = [c for c in people if c.population != who.population]
    texts = [str(item.article.metadata.get("title") or ""), *(s.text for s in item.sentences)]
    return any(
        all(lexically_held(c, w) for c in words) and any(lexically_held(o, w) for o in others)
        for w in map(Words.of, texts)
    )


def phrase_held(phrase: Sequence[Concept], words: Words) -> bool:
    """Whether ``words`` hold the phrase's concepts as neighbours, in some form of each ("irritable bowel
    syndromes"). When one retrieved abstract does, an abstract holding only some of the words elsewhere
    does not hold the phrase: the evidence shows the words name one thing together."""
    sequence = words.sequence
    size = len(phrase)
    return any(
        all(_same_word(c, sequence[start + i]) for i, c in enumerate(phrase))
        for start in range(len(sequence) - size + 1)
        if _same_word(phrase[0], sequence[start])
    )


def _same_word(concept: Concept, stem: str) -> bool:
    return any(
        stem == term or (stem[:3] == term[:3] and same_stem(term, stem)) for term in _spellings(concept)
    )


def _compound(text: str) -> str:
    """A hyphenated word written with a hyphen, a space or as one word."""
    return r"(?<![\w-])" + r"[\s-]?".join(map(re.escape, text.split("-"))) + r"(?![\w-])"


@functools.lru_cache(maxsize=1024)
def _spellings(concept: Concept) -> frozenset[str]:
    """The concept's index term as written and in American spelling (asked once per word of every phrase
    scan, so remembered)."""
    us = tokenize(american(concept.text))
    return frozenset({concept.term, us[0]} if us else {concept.term})


@dataclass(frozen=True)
class Gap:
    """A run of the question's concepts one article does not hold in words, and how close it comes."""

    concepts: tuple[Concept, ...]
    known: bool  # every concept of it is held by some stored article
    # Only words count for: a technical term no stored article holds, a population, a lettered name ("vitamin
    # D": C is close but not it), what a follow-up adds, a phrase another retrieved abstract holds as a phrase.
    blocked: bool
    z: float  # how far the concept stands out in the article's sentences (z over all retrieved sentences)
    #: the rest of a phrase the article holds in words, the literature's word for this part not: "monitors"
    #: where a diabetes study says "glucose" (no study of continuous glucose monitors) — covered only by an
    #: article very close to the question ("rhythm" in the oxybutynin study of cardiac arrhythmia)
    part: bool = False
    #: a word no stored article uses whose other name another retrieved abstract holds ("adrenaline":
    #: epinephrine): the evidence names it, so an abstract that does not must stand out strongly for it (an
    #: audit of epidurals in labour, close to the question, at z 1.3 does not; a gynaecological-cancer study
    #: for "womb", at z 2.7, does)
    renamed: bool = False
    #: the article's phrase closest to this one's (bot.answer.naming), read only for articles that could answer
    name: str = ""
    name_cosine: float = 0.0


@dataclass
class Assessment:
    """One article measured against the question: what it holds in words, what it does not."""

    evidence: ArticleEvidence
    lexical: list[Concept]
    gaps: list[Gap]
    passing: list[Concept] = field(default_factory=list)  # of ``lexical``: not where it says what it is about


def narrowing(concepts: Sequence[Concept]) -> list[Concept]:
    """The concepts an answer must cover: those that narrow the question (not soft). When those only say who
    is asked about ("men", "women"), what is asked about them counts too, however common its words: "being
    out of work and cut off from *support* in *society*" is not answered by any study of men and women."""
    hard = [c for c in concepts if not c.soft]
    if hard and all(c.population for c in hard):
        # the things named, not what is done ("does *going* through the change of life lower women's…")
        hard = [c for c in concepts if not c.soft or not (c.population or c.text.endswith("ing"))]
    return hard or list(concepts)


def assess(
    question: str, concepts: Sequence[Concept], evidence: Sequence[ArticleEvidence], embed: Embed
) -> tuple[list[Concept], list[Assessment]]:
    """The measurements a verdict is decided from (no thresholds here): the concepts that narrow the question
    and, per article, which it holds in words and how close it comes to the others."""
    hard = narrowing(concepts)
    vectors = [e.vectors for e in evidence if len(e.vectors)]
    background = np.concatenate(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
    named: dict[str, np.ndarray] = {}
    assessments = []
    every = question_phrases(hard)
    described = described_populations(hard)
    phrases = [p for p in every if any(phrase_held(p, e.words) for e in evidence)]
    compounds = [p for p in every if all(c.compound for c in p)]
    # a word no stored article uses, whose other name a retrieved abstract holds ("adrenaline": epinephrine):
    # the evidence names it so, and an abstract that does not is about it only if it stands far out (Gap.renamed)
    renamed = [c for c in hard if not c.known and any(synonym_held(c, e.words) for e in evidence)]
    for item in evidence:
        held = [c for c in hard if lexically_held(c, item.words)]
        # "irritable bowel syndrome" is not held by an abstract saying "bowel", nor "social media" by one
        # saying "social support and media coverage"
        for phrase in phrases + compounds:
            if not phrase_held(phrase, item.words) and not any(synonym_held(c, item.words) for c in phrase):
                held = [c for c in held if c not in phrase]
        # nor "continuous glucose monitors" by one whose words never meet in a sentence
        apart = [c for p in every if p not in phrases and _apart(p, held, item) for c in p]
        apart += [c for p in described if _said_of_others(p, hard, held, item) for c in p if not c.population]
        held = [c for c in held if c not in apart]
        gaps = []
        for group in groups([c for c in hard if c not in held]):
            blocked = any(
                (c.domain and not c.known) or c.population or c.strict or c.pattern or c in apart
                for c in group
            )
            # a phrase another retrieved abstract holds word for word is the evidence's own name for it: an
            # abstract without it is not about it, however close ("irritable bowel syndrome" in coeliac disease)
            blocked = blocked or any(c in p for p in phrases for c in group)
            # nor is one that holds part of the phrase in words but not the literature's words for the rest: a
            # diabetes study saying "glucose" is no study of continuous glucose monitors
            part = not blocked and any(
                c.literature and any(c in p and any(o in held for o in p) for p in every) for c in group
            )
            # which kind or stage of it ("primary eosinophilic esophagitis") similarity cannot tell apart
            blocked = blocked or (part and any(c.text in QUALIFIERS for c in group))
            part = part and not blocked
            z = 0.0
            if len(item.cosines):  # also where it cannot cover: a note must not deny what stands out
                key = name(group)
                if key not in named:
                    named[key] = embed([key])[0]
                spread = background @ named[key]
                z = (float((item.vectors @ named[key]).max()) - float(spread.mean())) / (
                    float(spread.std()) + 1e-6
                )
            gaps.append(
                Gap(
                    tuple(group),
                    all(c.known for c in group),
                    blocked or not len(item.cosines),
                    z,
                    part,
                    renamed=any(c in renamed for c in group),
                )
            )
        passing = [c for c in held if not lexically_held(c, item.focus)]
        assessments.append(Assessment(item, held, gaps, passing))
    return hard, assessments


def _apart(phrase: Sequence[Concept], held: Sequence[Concept], item: ArticleEvidence) -> bool:
    """Whether the article holds every word of the question's phrase, but never as the phrase, nor by another
    name, nor all in one sentence (or its title): the words are there, the thing they name together is not."""
    if not all(c in held for c in phrase) or phrase_held(phrase, item.words):
        return False
    if any(synonym_held(c, item.words) for c in phrase):
        return False
    texts = [str(item.article.metadata.get("title") or ""), *(s.text for s in item.sentences)]
    return not any(all(lexically_held(c, Words.of(text)) for c in phrase) for text in texts)


def semantically_held(gap: Gap, relevance: float, params: GateParams) -> bool:
    """Whether an article holds a concept in other words ("windpipe" for "trachea"): it is close to the
    question overall (relevance), and one of its sentences is closer to the concept than the retrieved
    sentences usually are (the gap's z-score). A technical term no article holds is never held this way; a
    word the literature itself uses (``Concept.literature``) needs a sentence that stands far out: "fractures"
    is not covered by an osteochondritis study that never says fracture."""
    if gap.blocked:
        return False
    if gap.name_cosine >= params.phrase_cosine:  # the article names it in its own words
        return True
    if gap.part:
        return relevance >= params.part_relevance and gap.z >= params.literature_z
    if gap.renamed:  # as an everyday word some stored article uses, but only where it stands out strongly
        return relevance >= params.strong_relevance and gap.z >= params.strong_z
    if any("-" in c.text and not c.known for c in gap.concepts):
        # a hyphenated name no stored article uses may be a thing of its own ("time-restricted eating") or a
        # description ("cholesterol-lowering pills"): only a close article that plainly is about it covers it
        return relevance >= params.known_relevance and gap.z >= params.strong_z
    if any(c.text in STATES for c in gap.concepts):
        # what is wrong with a body part ("swollen ankles", "a collapsed lung") is a clinical finding the
        # abstracts name (edema, collapse): an article that never does is about it only if it is plainly close
        return relevance >= params.known_relevance and gap.z >= params.literature_z
    everyday = not any(c.domain for c in gap.concepts)
    if gap.known and everyday and relevance >= params.strong_relevance and gap.z >= params.strong_z:
        return True
    if relevance < (params.known_relevance if gap.known else params.unknown_relevance):
        return False
    if any(c.literature for c in gap.concepts):
        return gap.z >= params.literature_z
    return gap.z >= (params.known_z if gap.known else params.unknown_z)


def decide(
    concepts: Sequence[Concept],
    hard: Sequence[Concept],
    assessments: Sequence[Assessment],
    params: GateParams,
) -> Verdict:
    """The verdict from the measurements: answer, partial or refuse (see the module docstring)."""
    concepts = list(concepts)
    if not assessments or not hard:
        return Verdict("refuse", concepts, [], missing=list(hard))
    total = sum(c.weight for c in hard)
    coverage: list[Coverage] = []
    for assessment in assessments:
        cover = Coverage(assessment.evidence)
        lexical = assessment.lexical
        if assessment.evidence.article.relevance < params.focus_relevance:
            lexical = [c for c in lexical if c not in assessment.passing]
            cover.missing.extend(assessment.passing)
        cover.how = dict.fromkeys((c.text for c in lexical), "lexical")
        for gap in assessment.gaps:
            if semantically_held(gap, assessment.evidence.article.relevance, params):
                cover.how.update(dict.fromkeys((c.text for c in gap.concepts), "semantic"))
            else:
                cover.missing.extend(gap.concepts)
                cover.closeness.update(dict.fromkeys((c.text for c in gap.concepts), gap.z))
                if gap.blocked or gap.part or gap.renamed:
                    cover.firm.update(c.text for c in gap.concepts)
        cover.missing.sort(key=lambda c: (c.run, c.position))
        cover.share = sum(c.weight for c in hard if c.text in cover.how) / total
        coverage.append(cover)
    top = max(c.evidence.article.relevance for c in coverage)
    complete = [c for c in coverage if not c.missing]
    if any(
        c.evidence.rank == 1 or c.evidence.article.relevance >= top - params.answer_margin for c in complete
    ):
        return Verdict("answer", concepts, complete, covered=list(hard))
    lead = clear_first(coverage, params)
    if lead is not None:
        return Verdict("answer", concepts, [lead], covered=list(hard))
    # no article retrieval puts first, or about as close as the closest, holds every concept: a partial answer
    short = [c for c in coverage if c.missing]
    most = max(c.share for c in short)
    best = min(
        (c for c in short if c.share >= max(most - params.partial_margin, params.partial_share)),
        key=lambda c: (c.evidence.rank, -c.share),
        default=max(short, key=lambda c: (c.share, -c.evidence.rank)),
    )
    if best.share >= params.partial_share:
        quoted = [best, *neighbours(coverage, best, top, params)]
        missing = [c for c in best.missing if not any(c.text in q.how for q in quoted)]
        covered = [c for c in hard if c not in missing]
        return Verdict("partial", concepts, quoted, missing=missing, covered=covered)
    nowhere = [c for c in hard if not any(c.text in v.how for v in coverage)]
    # a refusal always names what was not found: when each concept is somewhere but never together, what the
    # best article lacks
    return Verdict("refuse", concepts, [], missing=nowhere or best.missing or list(hard))


def clear_first(coverage: Sequence[Coverage], params: GateParams) -> Coverage | None:
    """The article retrieval ranks first when it stands clear of the others and lacks only words that stand
    out in it (see ``GateParams.lead_margin``), else None."""
    first = next((c for c in coverage if c.evidence.rank == 1), None)
    if first is None or not first.missing:
        return None
    relevance = first.evidence.article.relevance
    others = [c.evidence.article.relevance for c in coverage if c is not first]
    return (
        first
        if relevance >= params.lead_relevance
        and relevance - max(others, default=0.0) >= params.lead_margin
        and first.share >= params.lead_share
        and all(first.closeness.get(c.text, -math.inf) >= params.lead_z for c in first.missing)
        and not first.firm
        else None
    )


def neighbours(
    coverage: Sequence[Coverage], best: Coverage, top: float, params: GateParams
) -> list[Coverage]:
    """The articles a partial answer quotes beside ``best``: ranked among the first ``params.neighbours`` by
    retrieval, about as close to the question as the closest, covering a share of it, and leaving something
    of it that none of the quoted articles covers (what the partial answer says it could not find)."""
    out: list[Coverage] = []
    missing = {c.text for c in best.missing}
    for cover in sorted(coverage, key=lambda c: c.evidence.rank):
        if (
            cover is best
            or cover.evidence.rank > params.neighbours
            or cover.evidence.article.relevance < top - params.neighbour_margin
            or cover.share < params.partial_share
            or missing <= cover.how.keys()
        ):
            continue
        out.append(cover)
        missing -= cover.how.keys()
    return out


def nothing_found(concepts: Sequence[Concept]) -> Verdict:
    """The refusal when retrieval found nothing: every concept that narrows the question is missing."""
    return Verdict("refuse", list(concepts), [], missing=narrowing(concepts))


def judge(
    question: str,
    concepts: Sequence[Concept],
    evidence: Sequence[ArticleEvidence],
    embed: Embed,
    params: GateParams = DEFAULT_GATE,
) -> Verdict:
    """The gate's verdict on ``evidence`` (retrieved articles, best first) for ``question``."""
    hard, assessments = assess(question, concepts, evidence, embed)
    verdict = decide(concepts, hard, assessments, params)
    if verdict.outcome == "answer" or math.isinf(params.phrase_cosine):
        return verdict
    # the articles' own names for what they lack may complete one (an answer); a partial answer stays as the
    # words and sentences decided it, naming and quoting what they showed
    named = name_gaps(concepts, assessments, embed, params)
    changed = any(new is not old for new, old in zip(named, assessments, strict=True))
    rescued = decide(concepts, hard, named, params) if changed else verdict
    return rescued if rescued.outcome == "answer" else verdict


def name_gaps(
    concepts: Sequence[Concept], assessments: Sequence[Assessment], embed: Embed, params: GateParams
) -> list[Assessment]:
    """``assessments`` with their gaps' closest phrases (:mod:`bot.answer.naming`), read for the articles that
    could answer if they named what they lack: ranked first or about as close as the closest, close enough to
    be about the question, and lacking only everyday words similarity may stand for."""
    top = max((a.evidence.article.relevance for a in assessments), default=0.0)
    out = []
    for assessment in assessments:
        relevance = assessment.evidence.article.relevance
        could = (
            assessment.gaps
            and relevance >= params.strong_relevance
            and (assessment.evidence.rank == 1 or relevance >= top - params.answer_margin)
            and not any(g.blocked for g in assessment.gaps)
            # everyday words: an article about a technical term would use it ("appendectomy" is not named by a
            # study of laparoscopic cholecystectomy)
            and not any(c.domain for g in assessment.gaps for c in g.concepts)
            and (relevance >= params.focus_relevance or not assessment.passing)
        )
        if not could:
            out.append(assessment)
            continue
        # each gap's phrase as the question writes it, with the question's own words around it
        asked = [phrase_name(gap.concepts[0], concepts) for gap in assessment.gaps]
        phrases = {
            phrase: frozenset(c.term for c in concepts if c.run == gap.concepts[0].run)
            | frozenset(tokenize(name(gap.concepts)))
            for phrase, gap in zip(asked, assessment.gaps, strict=True)
        }
        found = closest_names(phrases, assessment.evidence, embed)
        gaps = [
            replace(gap, name=named.phrase, name_cosine=named.cosine) if (named := found.get(phrase)) else gap
            for phrase, gap in zip(asked, assessment.gaps, strict=True)
        ]
        out.append(replace(assessment, gaps=gaps))
    return out
