"""The retrieved articles as the gate and the answerers read them: whole abstracts, sentence by sentence.

Retrieval hands over matched chunks; answers need the article's whole abstract in reading order (a finding is
often in a chunk that did not match best), each sentence with its role, vector and cosine to the question.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.answer.abstracts import AbstractSentence, abstract_sentences
from bot.answer.citations import RetrievedLike
from bot.answer.spelling import american
from bot.retrieval.terms import normalise, stem_word, tokenize
from ingest.articles import untrusted

# Reference marks that mean nothing out of their paper: "(Box 1)", "(Fig. 2a)", "(Table 3)", "[12]", "[3, 4]",
# and a bare "(2)" or "(2, 3)" right before the sentence's end.
_POINTERS = re.compile(
    r"\s*[(\[](?:see\s+)?(?:box|fig(?:ure)?s?\.?|tables?|supplementa\w*|appendix)\s*[\w.,–-]*[)\]]", re.I
)
_SQUARE_REFS = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")
_TRAILING_REFS = re.compile(r"(?:\s*\(\d{1,3}(?:\s*[,–-]\s*\d{1,3})*\))+(?=\s*[.!?]?\s*$)")

ArticleTexts = Callable[[RetrievedLike], list[str]]
Embed = Callable[[Sequence[str]], np.ndarray]


def clean_sentence(text: str) -> str:
    """A sentence fit to quote: control characters and reference marks out, brackets that would read as
    citations made round (after the controls are gone: "ESC[0m" must not become a live "ESC(0")."""
    text = _POINTERS.sub("", untrusted(text))
    text = _SQUARE_REFS.sub("", text)
    text = _TRAILING_REFS.sub("", text)
    return " ".join(text.translate(_ROUND).split())


_ROUND = str.maketrans("[]", "()")  # "[OR 3.6]" must not read as a citation


_PLAIN_WORD = re.compile(r"[0-9a-z]+(?:-[0-9a-z]+)*")


def _stem(word: str) -> str:
    """A word's index term; a hyphenated word's joined one ("gluten-free" -> "glutenfree")."""
    return (tokenize(word) or [word])[0] if "-" in word else stem_word(word)


@dataclass(frozen=True)
class Words:
    """Words a question's term is looked up in: index terms and lower-cased text, each in the spelling
    written and in American spelling ("tumour" finds "tumor")."""

    terms: frozenset[str]
    text: str  # for names the index terms cannot hold ("vitamin d") and compounds ("second trimester")

    @functools.cached_property
    def sequence(self) -> tuple[str, ...]:
        """The words' stems in reading order (both spellings), for phrases of neighbouring words."""
        return tuple(_stem(w) for w in _PLAIN_WORD.findall(self.text))

    @classmethod
    def of(cls, text: str) -> Words:
        written = normalise(text)
        us = american(written)
        return cls(frozenset(tokenize(written)) | frozenset(tokenize(us)), f"{written}\n{us}")


#: Metadata read with an article's words: its title and the MeSH headings indexers gave it ("Leiomyoma" for an
#: abstract that says "myomas"), so a question's concept is held when the indexing names it.
INDEXING = ("title", "mesh")
#: Sentence roles where an abstract states what it found: with the title and the indexing terms, the places
#: that say what an article is *about* (a word met only in its background or methods may be in passing).
FOCUS_ROLES = frozenset({"results", "conclusions"})


#: MeSH's age check tags: the ages of a study's participants, given for every age group it enrolled
YOUNG_AGES = frozenset({"Infant, Newborn", "Infant", "Child, Preschool", "Child", "Adolescent"})
ADULT_AGES = frozenset({"Young Adult", "Adult", "Middle Aged", "Aged", "Aged, 80 and over"})


def ages_meant(mesh: str) -> tuple[str, str]:
    """The MeSH headings ("A; B; C") without the age tags when they span children and adults (a study of
    patients aged 16 to 70 is tagged "Adolescent" as much as "Adult", and is no study of teenagers), and the age
    tags so left out (whom it enrolled)."""
    headings = [h.strip() for h in mesh.split(";")]
    if YOUNG_AGES.isdisjoint(headings) or ADULT_AGES.isdisjoint(headings):
        return mesh, ""
    ages = YOUNG_AGES | ADULT_AGES
    return "; ".join(h for h in headings if h not in ages), "; ".join(h for h in headings if h in ages)


@dataclass
class ArticleEvidence:
    """One retrieved article, read whole."""

    rank: int  # 1-based retrieval rank
    article: RetrievedLike
    sentences: list[AbstractSentence]
    words: Words  # its title, abstract and MeSH headings
    focus: Words  # its title, MeSH headings and the sentences of its findings (FOCUS_ROLES)
    vectors: np.ndarray  # one unit vector per sentence
    cosines: np.ndarray  # each sentence's cosine to the question
    enrolled: Words = field(default_factory=lambda: Words.of(""))  # MeSH age tags left out (ages_meant)


def read_articles(
    articles: Sequence[RetrievedLike], question_vector: np.ndarray, texts: ArticleTexts, embed: Embed
) -> list[ArticleEvidence]:
    """Every article's sentences (cleaned, in reading order) with their vectors, embedded in one batch."""
    read: list[tuple[RetrievedLike, list[AbstractSentence], Words, Words, Words]] = []
    for article in articles:
        chunks = texts(article) or list(article.passages)
        sentences = [
            AbstractSentence(s.position, clean, s.label, s.role)
            for s in abstract_sentences(chunks)
            if len((clean := clean_sentence(s.text)).split()) >= 3
        ]
        meta = article.metadata
        mesh, ages = ages_meant(str(meta.get("mesh") or ""))
        indexing = [mesh if key == "mesh" else str(meta.get(key) or "") for key in INDEXING]
        findings = [s.text for s in sentences if s.role in FOCUS_ROLES]
        read.append((article, sentences, Words.of(" ".join([*indexing, *chunks])),
                     Words.of(" ".join([*indexing, *findings])), Words.of(ages)))  # fmt: skip
    vectors = embed([s.text for _, sentences, *_ in read for s in sentences])
    out: list[ArticleEvidence] = []
    start = 0
    for rank, (article, sentences, words, focus, enrolled) in enumerate(read, start=1):
        block = vectors[start : start + len(sentences)] if sentences else np.zeros((0, len(question_vector)))
        start += len(sentences)
        out.append(
            ArticleEvidence(rank, article, sentences, words, focus, block, block @ question_vector, enrolled)
        )
    return out


def finding_of(evidence: ArticleEvidence) -> str:
    """The article's own finding: its first conclusion sentence, else its last result, else its last one."""
    for role in ("conclusions", "results"):
        found = [s.text for s in evidence.sentences if s.role == role]
        if found:
            return found[0] if role == "conclusions" else found[-1]
    return evidence.sentences[-1].text if evidence.sentences else ""
