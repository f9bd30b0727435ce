"""Extractive mode, the default without an LLM: the few sentences of the retrieved abstracts that best answer
the question, each cited, in reading order.

Sentences are scored by meaning (MiniLM cosine to the question, the handler's own embedder) and by the share
of the question's terms they contain, nudged toward results and conclusions and away from methods and aims.
Near-duplicates are dropped, each article gives at most two sentences, and the answer stops at about five
sentences or 120 words: a short, useful digest rather than a dump of abstracts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.citations import Composed, RetrievedLike, citations_for
from bot.terms import tokenize
from bot.types import REFUSAL
from ingest.embeddings import Embedder
from ingest.errors import LitbotError
from ingest.sentences import split_sentences

_NO_LLM = "Extractive answer (no language model configured)"
HEADER = f"{_NO_LLM}: the most relevant sentences from the indexed abstracts."
MAX_SENTENCES = 5
MAX_WORDS = 120
PER_ARTICLE = 2
MIN_COSINE = 0.35  # sentences less similar to the question than this are not evidence, whatever their source
MARGIN = 0.15  # sentences scoring further below the best one are left out
MAX_EMBEDDED = 16  # sentences embedded per answer, the slowest step (all 63 mini questions still hit)
_BRACKETS = str.maketrans("[]", "()")
_LABEL = re.compile(r"^([A-Z][A-Z0-9 ,&/()-]{1,40}):\s+")
_SECTION_BONUS = {
    "RESULTS": 0.06, "RESULT": 0.06, "FINDINGS": 0.06, "CONCLUSIONS": 0.08, "CONCLUSION": 0.08,
    "INTERPRETATION": 0.06, "DISCUSSION": 0.04, "METHODS": -0.10, "METHOD": -0.10, "DESIGN": -0.10,
    "SETTING": -0.12, "PATIENTS": -0.08, "PARTICIPANTS": -0.08, "MATERIALS AND METHODS": -0.10,
    "MEASUREMENTS": -0.08, "MAIN OUTCOME MEASURES": -0.10, "INTERVENTIONS": -0.08, "OBJECTIVE": -0.06,
    "OBJECTIVES": -0.06, "AIM": -0.06, "AIMS": -0.06, "PURPOSE": -0.06, "SUBJECTS": -0.08,
}  # fmt: skip
_SECTION_ORDER = [
    "BACKGROUND",
    "INTRODUCTION",
    "OBJECTIVE",
    "AIM",
    "PURPOSE",
    "METHOD",
    "DESIGN",
    "SETTING",
    "PATIENT",
    "PARTICIPANT",
    "MEASURE",
    "INTERVENTION",
    "RESULT",
    "FINDING",
    "DISCUSSION",
    "INTERPRETATION",
    "CONCLUSION",
]
_FINDING_CUES = re.compile(
    r"\b(suggest|conclud|found|find|show|demonstrat|indicat|associated|significant|reduc|increas|improv|"
    r"contribut|lead|caus|predict|effective|regulat|mediat|promot|inhibit)\w*",
    re.IGNORECASE,
)
_AIM_OPENING = re.compile(
    r"^(to (assess|determine|evaluate|examine|investigate|compare|describe|study)|"
    r"the (aim|purpose|objective)|we (aimed|sought|review)|herein|this study)",
    re.I,
)


@dataclass
class Sentence:
    rank: int  # 1-based rank of its article
    position: int  # reading order within the article
    text: str
    label: str
    score: float = 0.0


def article_sentences(rank: int, texts: Sequence[str]) -> list[Sentence]:
    """Sentences of an article's texts (in reading order when known), each with the section it is in.

    A section label ("RESULTS: ...") carries over to the following sentences and across chunk boundaries;
    the sentence chunks share as overlap is kept once.
    """
    seen: set[str] = set()
    out: list[Sentence] = []
    label = ""
    for raw in (sentence for text in texts for sentence in split_sentences(text.replace("\n", " \n"))):
        text = raw.strip()
        match = _LABEL.match(text)
        if match:
            label, text = match.group(1).strip(), text[match.end() :].strip()
        text = text.translate(_BRACKETS)  # "[OR 3.6]" or a reference "[12]" must not read as a citation
        key = " ".join(text.lower().split())
        if key in seen or len(text.split()) < 5:
            continue
        seen.add(key)
        out.append(Sentence(rank, len(out), text, label))
    return out


def _prior(sentence: Sentence) -> float:
    """Preference of results and conclusions over methods and aims; long sentences read badly."""
    bonus = _SECTION_BONUS.get(sentence.label, 0.0)
    if _FINDING_CUES.search(sentence.text):
        bonus += 0.03
    if _AIM_OPENING.match(sentence.text):
        bonus -= 0.06
    words = len(sentence.text.split())
    return bonus - (0.05 if words > 55 else 0.0)


def _cited(text: str, n: int) -> str:
    """``text`` with ``[n]`` before its final full stop."""
    text = text.rstrip()
    return f"{text[:-1]} [{n}]." if text.endswith(".") else f"{text} [{n}]"


ArticleTexts = Callable[[RetrievedLike], list[str]]


class ExtractiveAnswerer:
    """Builds the extractive answer; stateless apart from the embedder, so it is safe across threads.

    ``article_texts`` returns an article's whole abstract as chunks in reading order (the handler reads them
    from the store), so sentences keep their order and section; without it, the matched passages are used.
    """

    mode = "extractive"

    def __init__(self, embedder: Embedder, article_texts: ArticleTexts | None = None) -> None:
        self.embedder = embedder
        self.article_texts = article_texts

    def answer(self, question: str, articles: Sequence[RetrievedLike]) -> Composed:
        q_terms = set(tokenize(question))
        candidates = self._candidates(q_terms, articles)
        if not candidates:
            return Composed(REFUSAL, refused=True)
        q_vec = self.embedder.embed_query(question)
        vectors = self.embedder.embed_documents([s.text for s in candidates])
        cosines = vectors @ q_vec
        if float(cosines.max()) < MIN_COSINE:
            return Composed(REFUSAL, refused=True)
        for sentence, cosine in zip(candidates, cosines, strict=True):
            sentence.score = 0.65 * float(cosine) + sentence.score
        chosen = self._select(candidates, vectors, cosines)
        if not chosen:
            return Composed(REFUSAL, refused=True)
        chosen.sort(key=lambda s: (s.rank, s.position))
        order = list(dict.fromkeys(s.rank for s in chosen))
        lines = [f"- {_cited(s.text, order.index(s.rank) + 1)}" for s in chosen]
        used = {r: [s.text for s in chosen if s.rank == r] for r in order}
        return Composed(HEADER + "\n\n" + "\n".join(lines), citations_for(order, articles, used))

    def _candidates(self, q_terms: set[str], articles: Sequence[RetrievedLike]) -> list[Sentence]:
        """Every sentence with its cheap score (terms, section, source); only the best few get embedded."""
        candidates: list[Sentence] = []
        for rank, article in enumerate(articles, start=1):
            texts = self._texts(article)
            for sentence in article_sentences(rank, texts):
                overlap = len(q_terms & set(tokenize(sentence.text))) / len(q_terms) if q_terms else 0.0
                sentence.score = 0.35 * overlap + _prior(sentence) + 0.05 * article.relevance - 0.01 * rank
                candidates.append(sentence)
        candidates.sort(key=lambda s: -s.score)
        return candidates[:MAX_EMBEDDED]

    def _texts(self, article: RetrievedLike) -> list[str]:
        if self.article_texts is not None:
            try:
                texts = self.article_texts(article)
            except LitbotError:
                texts = []
            if texts:
                return texts
        return list(article.passages)

    def _select(self, candidates: list[Sentence], vectors: np.ndarray, cosines: np.ndarray) -> list[Sentence]:
        """Greedy pick by score: close to the best, no near-duplicates, few per article, short in total."""
        by_score = sorted(range(len(candidates)), key=lambda i: -candidates[i].score)
        best = candidates[by_score[0]].score
        eligible = [i for i in by_score if candidates[i].score >= best - MARGIN and cosines[i] >= MIN_COSINE]
        # Two sentences per source when several qualify; one strong source alone may give a few more.
        per_article = PER_ARTICLE if len({candidates[i].rank for i in eligible}) > 1 else MAX_SENTENCES - 1
        picked: list[int] = []
        words = 0
        for i in eligible:
            sentence = candidates[i]
            if len(picked) == MAX_SENTENCES:
                break
            length = len(sentence.text.split())
            if picked and words + length > MAX_WORDS:
                continue
            if sum(candidates[j].rank == sentence.rank for j in picked) >= per_article:
                continue
            if any(float(vectors[i] @ vectors[j]) > 0.9 for j in picked):
                continue
            picked.append(i)
            words += length
        return [candidates[i] for i in picked]
