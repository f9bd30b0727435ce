"""From the question's words to the abstracts' words: "water pills" -> diuretic, "chest X-ray" -> CXR.

People ask in everyday words; abstracts use the field's. Each concept phrase of a question gets the other names
it goes by, from knowledge litbot ships or finds in the store itself:

* **WordNet** (:mod:`bot.answer.lexicon`): "voice box" -> larynx, "kidney" -> renal, "heart attack" ->
  myocardial infarction;
* **abbreviations the stored abstracts define** (:mod:`bot.answer.abbreviations`), for the phrase and for each
  WordNet name: "electrocardiogram" -> ECG, "CXR" -> chest X-ray (off by default: it added nothing measured).

The names serve twice: the lexical search also looks for them (:func:`search_terms`), and the answerability
gate counts an article that holds one as holding the concept (:func:`bot.answer.gate.synonym_held`), so a
partial answer never says the abstracts lack what they name in other words. What each source adds is measured
side by side in BENCHMARKS.md › Answers (``bench/lay_bench.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from bot.answer.abbreviations import forms_of, normal
from bot.answer.concepts import Concept, zipf
from bot.answer.lexicon import technical_names

#: Stored abstracts read for the definitions of one name (the best BM25 matches for it).
ABBREVIATION_ARTICLES = 20
MAX_NAMES = 6  # other names kept per phrase


@dataclass(frozen=True)
class Bridges:
    """Which sources bridge everyday and technical words (what pays on by default; the bench switches them)."""

    wordnet: bool = True
    # the store's own abbreviations: measured on the sample's plain-language sets, they added nothing (its
    # abstracts define what they abbreviate, and the lay questions use no abbreviation); off, kept measurable
    abbreviations: bool = False
    search: bool = True  # the lexical search looks for the other names too (else only the gate uses them)
    dense: bool = False  # the dense search embeds them with the question too (measured: bench/lay_bench.py)
    # an article that could answer names what it lacks in a phrase of its own (bot.answer.naming): measured, it
    # answered a few more plain-language questions and as many leave-gold-out ones wrongly; off, kept measurable
    names: bool = False


DEFAULT_BRIDGES = Bridges()


class ArticleTexts(Protocol):
    """What bridging needs of the lexical index: the texts of the articles best matching a query."""

    def texts_for(self, query: str, limit: int) -> list[str]: ...


def bridge(
    concepts: Sequence[Concept], texts: ArticleTexts | None, bridges: Bridges = DEFAULT_BRIDGES
) -> list[Concept]:
    """``concepts`` with the other names of their phrases in ``synonyms``."""
    out = list(concepts)
    for run in dict.fromkeys(c.run for c in concepts):
        members = [c for c in concepts if c.run == run]
        words = [c for c in members if not c.modifier]
        if not words:
            continue
        phrase = " ".join(c.text for c in words)
        found: dict[str, list[str]] = {c.text: [] for c in members}
        if bridges.wordnet:
            for span in _spans(members):  # "white blood cell counts": "white blood cell" -> leukocyte
                names = technical_names(" ".join(c.text for c in span), zipf)
                for concept in span:
                    if names and not found[concept.text]:
                        found[concept.text] = list(names)
            for concept in words:
                # a word the question used before stands in an earlier run only: "a failing heart ... a heart
                # specialist" leaves "specialist" alone in its run, but its phrase is still "heart specialist"
                written = concept.phrase.lower().replace("'s", "")
                if not found[concept.text] and written != phrase and " " in written:
                    found[concept.text] = list(technical_names(written, zipf))
        # an abbreviation in capitals is looked up always: the store may spell it out ("CMV": cytomegalovirus)
        wanted = bridges.abbreviations or any(c.acronym for c in words)
        if wanted and texts is not None and _worth_expanding(phrase):
            whole = found[words[0].text] if len(words) == 1 else []
            extra: list[str] = []
            for name in [phrase, *whole][:3]:
                extra += forms_of(name, texts.texts_for(name, ABBREVIATION_ARTICLES))
            for concept in words:
                found[concept.text] += extra
        for concept in words:
            own = {normal(concept.text), normal(phrase)}
            synonyms = tuple(dict.fromkeys(n for n in found[concept.text] if normal(n) not in own))[
                :MAX_NAMES
            ]
            if synonyms:
                out[out.index(concept)] = replace(concept, synonyms=synonyms)
    return out


def _spans(run: Sequence[Concept]) -> list[Sequence[Concept]]:
    """The run's stretches of neighbouring words, longest first (the whole phrase before its parts)."""
    size = len(run)
    return [
        run[start : start + length]
        for length in range(size, 0, -1)
        for start in range(size - length + 1)
        if [c.position for c in run[start : start + length]]
        == list(range(run[start].position, run[start].position + length))
    ]


def _worth_expanding(phrase: str) -> bool:
    """Abbreviations are looked up for names of things, not for everyday single words ("time")."""
    return " " in phrase or len(phrase) <= 6 or zipf(phrase) < 4.0


def search_terms(concepts: Iterable[Concept]) -> str:
    """The other names to add to the lexical search: those of the concepts asked in words the literature
    rarely uses ("womb", "water pills"). A question in the field's own words is searched as asked: other
    names would only dilute it (on PubMedQA's titles they cost the gold article its first place)."""
    names: list[str] = []
    for concept in concepts:
        if concept.soft or concept.literature or (concept.domain and concept.known):
            continue
        names += [n for n in concept.synonyms if n not in names]
    return " ".join(names)
