"""Everyday and technical names of one thing, from WordNet: "voice box" / "larynx", "water pill" / "diuretic",
"kidney" / "renal", "heart attack" / "myocardial infarction".

Abstracts name things in the field's words; people ask in their own. The table
(``data/wordnet-medical.tsv``, derived once from WordNet 3.0 by ``bench/wordnet_lexicon.py``, shipped with litbot
so nothing is downloaded) holds WordNet's synonym sets of bodily things, conditions, procedures, drugs and
devices, with the adjectives that pertain to them. A name is looked up whole ("heart attack"), then by its
singular ("water pills" -> "water pill"). Only *more technical* names are returned: a synonym at least as common
in everyday English as the name itself ("heart" -> "pump") would match abstracts about something else.

WordNet knows few of the descriptions people use ("bowel cancer", "breathing machine", "tummy"), and no
consumer-health vocabulary can be shipped from PyPI; ``data/everyday-medical.tsv`` is litbot's own, written for it
from general medical knowledge (BENCHMARKS.md › Answers, "An everyday vocabulary"), looked up before WordNet.
First measured off (its costs: a teenager matched by MeSH's "Adolescent" tag in a study of all ages, "ART" read as
art); once those were mended (round 7) it cost no leave-gold-out or unanswerable question and answered a few more
plain-language ones, so it is on. ``EVERYDAY`` switches it (``bench/lay_bench.py --variants no-everyday``).

The WordNet table also lists the words English uses mostly as verbs ("stop", "ease"): a question's concepts are the
things it names, and "Does magnesium stop leg cramps?" names magnesium and leg cramps.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from importlib import resources
from types import MappingProxyType

#: A synonym this common in English (wordfreq Zipf) names too many things to stand for a medical one
#: ("pump", "nerve", "break"); names of several words and hyphenated ones are specific whatever their words.
COMMON_SYNONYM_ZIPF = 4.0


#: Whether litbot's vocabulary of everyday names (``data/everyday-medical.tsv``) is looked up besides WordNet
#: (BENCHMARKS.md › Answers, round 7; kept switchable to measure it).
EVERYDAY = True


#: What is wrong with a part of the body, said with a verb's participle ("an infected knee replacement", "a broken
#: hip", "blocked arteries"), and the words abstracts use for that state. English uses these words mostly as verbs,
#: so without this they would frame rather than name, and "an infected knee replacement" would ask about knee
#: replacements; WordNet lists none of them as a medical name.
STATES: dict[str, tuple[str, ...]] = {
    "infected": ("infection", "septic"),
    "broken": ("fracture",),
    "fractured": ("fracture",),
    "blocked": ("occlusion", "obstruction", "stenosis"),
    "clogged": ("occlusion", "stenosis", "atherosclerosis"),
    "narrowed": ("stenosis", "narrowing"),
    "inflamed": ("inflammation",),
    "swollen": ("swelling", "edema", "oedema"),
    "torn": ("tear", "rupture"),
    "ruptured": ("rupture",),
    "burst": ("rupture", "perforation"),
    "perforated": ("perforation",),
    "dislocated": ("dislocation",),
    "collapsed": ("collapse",),
    "damaged": ("damage", "injury"),
    "prolapsed": ("prolapse",),
    "herniated": ("herniation",),
    "detached": ("detachment",),
    "sprained": ("sprain",),
    # when it is done: "if the operation is delayed" asks about its timing ("delay" alone frames: "does smoking
    # delay healing")
    "delayed": ("delay",),
}


#: The field's names for everyday words of care that are common English words themselves, so WordNet's names
#: for them fall to COMMON_SYNONYM_ZIPF ("surgery" is as common as "pump"); in a medical question they mean only
#: this. An abstract reporting an operation says surgery, surgical or operative.
CARE: dict[str, tuple[str, ...]] = {
    "operation": ("surgery", "surgical", "operative"),
    "op": ("surgery", "surgical", "operative"),
    "doctor": ("physician",),
    "delayed": ("timing", "waiting time"),  # care given late (STATES keeps the word itself)
}


def _table() -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    return _merged(EVERYDAY)


@functools.cache
def _merged(everyday: bool) -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    synonyms, kinds = _read("wordnet-medical.tsv")
    synonyms = {**synonyms, **{k: v + synonyms.get(k, ()) for k, v in STATES.items()}}
    if not everyday:
        return synonyms, kinds
    own = _read("everyday-medical.tsv")[0]
    merged = {k: tuple(dict.fromkeys(own.get(k, ()) + synonyms.get(k, ()))) for k in {*synonyms, *own}}
    return merged, kinds


@functools.cache
def _read(file: str) -> tuple[dict[str, tuple[str, ...]], dict[str, frozenset[str]]]:
    synonyms: dict[str, list[str]] = {}
    kinds: dict[str, set[str]] = {"verb": set(), "adj": set()}
    text = resources.files("bot.answer").joinpath(f"data/{file}").read_text(encoding="utf-8")
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if kind == "syn":
            # a name marked "*" has this meaning in its first or second sense: only those are looked up
            names = rest.split("|")
            plain = [n.rstrip("*") for n in names]
            for name in names:
                if name.endswith("*"):
                    synonyms.setdefault(name[:-1], []).extend(n for n in plain if n != name[:-1])
        elif kind in kinds:
            kinds[kind].add(rest)
    return {k: tuple(dict.fromkeys(v)) for k, v in synonyms.items()}, {
        k: frozenset(v) for k, v in kinds.items()
    }


def mostly_verb(word: str) -> bool:
    """Whether English uses ``word`` (lower-case) mostly as a verb ("stop", "ease", "lower")."""
    return word in _table()[1]["verb"]


def mostly_adjective(word: str) -> bool:
    """Whether English uses ``word`` (lower-case) mostly as an adjective ("heavy", "irregular")."""
    return word in _table()[1]["adj"]


@functools.lru_cache(maxsize=8192)
def lemmas(word: str) -> Mapping[str, tuple[str, ...]]:
    """The lemmas of ``word`` by part of speech (lemminflect: {"VERB": ("stop",), "NOUN": ("stop",)}); empty
    for a word it does not know. Cached: a question's words are looked up by several rules."""
    from lemminflect import getAllLemmas

    return MappingProxyType(getAllLemmas(word))


def singular(phrase: str) -> str:
    """The phrase with its last word made singular ("water pills" -> "water pill")."""
    head, _, last = phrase.rpartition(" ")
    lemma = lemmas(last).get("NOUN", (last,))[0] if last.isalpha() else last
    return f"{head} {lemma}" if head else lemma


def technical_names(phrase: str, zipf: Callable[[str], float]) -> tuple[str, ...]:
    """The other names of ``phrase`` (lower-case): litbot's own for words of care (CARE), then WordNet's that are
    no more common in English than it is."""
    table = _table()[0]
    found = table.get(phrase) or table.get(singular(phrase)) or ()
    care = CARE.get(phrase) or CARE.get(singular(phrase)) or ()
    own = zipf(phrase) if " " not in phrase else 0.0
    return tuple(
        dict.fromkeys(
            [
                *care,
                *(
                    name
                    for name in found
                    # WordNet pairs "surgical" with its opposite: "nonsurgical" is no name for an operation
                    if not (name.startswith("non") and name[3:].lstrip("-") in found)
                    and (" " in name or "-" in name or zipf(name) < COMMON_SYNONYM_ZIPF)
                    and (" " in phrase or zipf(name) <= max(own, COMMON_SYNONYM_ZIPF))
                ),
            ]
        )
    )


def known(phrase: str) -> bool:
    """Whether ``phrase`` is a WordNet name of a bodily thing, condition, procedure, drug or device."""
    table = _table()[0]
    return phrase in table or singular(phrase) in table


def warm_up() -> None:
    _table()
