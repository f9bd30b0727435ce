"""Whether an abstract names a question's everyday phrase in its own words, phrase against phrase.

The gate compares a concept with whole sentences (:func:`bot.answer.gate.assess`); a sentence says many things,
so "traffic lights" barely stands out in one about "street crossings without a traffic signal". MiniLM was
trained on paraphrase pairs and places short names close to their other names: "asthma puffers" / "inhalers"
(0.76), "bladder infections" / "urinary tract infections" (0.86), "brain surgery" / "neurosurgical" (0.74),
while "vaping" / "smoking" stays at 0.61. So the noun phrases of an abstract (its title, sentences and MeSH
headings: runs of content words, and their parts up to three words) are embedded and the closest one to the
question's phrase is its best candidate name there. A phrase made only of the question's own words ("hearing"
for "hearing aids", "bone" for "bone strength") names nothing new and is never a candidate; one that shares
some must be close in the words that differ ("hearing loss" is no name for "hearing aids").

Embedding an abstract's phrases costs ~0.1 s, so only the articles that could answer are read this way
(:func:`bot.answer.gate.judge`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bot.answer.concepts import runs
from bot.answer.evidence import ArticleEvidence
from bot.retrieval.terms import tokenize

Embed = Callable[[Sequence[str]], np.ndarray]
#: The longest phrase taken from an abstract: "pre-adjusted edgewise brackets", "urinary tract infections".
MAX_WORDS = 3
#: How close the abstract's phrase must be to name the question's (when names are switched on:
#: ``Bridges(names=True)``): "asthma puffers" / inhalers 0.76; "vaping" / smoking 0.61 is no name.
NAME_COSINE = 0.7
#: Candidates tried per phrase, closest first.
MAX_CANDIDATES = 8
#: A candidate sharing words with the question's phrase: how close the words that differ must be.
REST_COSINE = 0.45


@dataclass(frozen=True)
class Named:
    """The abstract's phrase closest to one of the question's, and how close (cosine)."""

    phrase: str
    cosine: float


def abstract_phrases(evidence: ArticleEvidence) -> list[str]:
    """The noun phrases an article names: runs of content words of its title and sentences, each with its parts
    of up to MAX_WORDS words, and its MeSH headings."""
    meta = evidence.article.metadata
    texts = [str(meta.get("title") or ""), *(s.text for s in evidence.sentences)]
    found: dict[str, None] = {}
    for text in texts:  # (punctuation ends a run: the sentences need no splitting)
        for run in runs(text):
            words = [w.split("'")[0] for w in run]
            for size in range(1, min(MAX_WORDS, len(words)) + 1):
                for start in range(len(words) - size + 1):
                    found[" ".join(words[start : start + size])] = None
    mesh = meta.get("mesh") or ()
    headings = re.split(r"\s*[;|]\s*", mesh) if isinstance(mesh, str) else [str(m) for m in mesh]
    found.update(dict.fromkeys(h.lower() for h in headings if h))
    return list(found)


def closest_names(
    phrases: dict[str, frozenset[str]], evidence: ArticleEvidence, embed: Embed
) -> dict[str, Named]:
    """For each question phrase (with the index terms of the question's own words around it), the abstract's
    closest phrase that holds a word the question does not."""
    candidates = abstract_phrases(evidence)
    if not candidates or not phrases:
        return {}
    own = list(phrases)
    vectors = embed([*own, *candidates])
    asked, named = vectors[: len(own)], vectors[len(own) :]
    terms = [frozenset(tokenize(c)) for c in candidates]
    out: dict[str, Named] = {}
    for i, phrase in enumerate(own):
        words = phrases[phrase]
        cosines = named @ asked[i]
        for j in np.argsort(-cosines)[:MAX_CANDIDATES]:
            if not terms[j] or terms[j] <= words:
                continue
            if _differs(phrase, candidates[j], embed):
                out[phrase] = Named(candidates[j], float(cosines[j]))
                break
    return out


def _differs(phrase: str, candidate: str, embed: Embed) -> bool:
    """Whether a candidate sharing words with the phrase names the same thing by its other words too: "alcohol
    injection" / "ethanol injection" (alcohol / ethanol 0.75), not "hearing aids" / "hearing loss" (aids / loss
    0.30), whose shared word alone makes the phrases close (0.73)."""
    asked = [w for w in _words(phrase) if not set(tokenize(w)) & set(tokenize(candidate))]
    other = [w for w in _words(candidate) if not set(tokenize(w)) & set(tokenize(phrase))]
    if len(asked) == len(_words(phrase)) or not asked or not other:
        return bool(other) or not asked  # nothing shared; or the candidate only adds words
    vectors = embed([" ".join(asked), " ".join(other)])
    return float(vectors[0] @ vectors[1]) >= REST_COSINE


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text.lower())
