"""The lexical tokeniser: English stemming that keeps biomedical names searchable.

Gene, cytokine and drug names are written many ways ("IL-6", "IL6", "TNF-α", "TNF-alpha", "5-FU"). Each
hyphen- or slash-joined compound is indexed both whole, without its joiners ("il6", "tnfalpha", "5fu"), and as
its stemmed parts ("il", "6"), so every spelling of the name meets every other, and Greek letters are spelled
out. Plain words are lower-cased, stemmed with Snowball English and stripped of stopwords.
"""

from __future__ import annotations

import re
import threading
import unicodedata

import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS

_GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta", "η": "eta",
    "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu", "ξ": "xi", "π": "pi",
    "ρ": "rho", "σ": "sigma", "ς": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi", "χ": "chi", "ψ": "psi",
    "ω": "omega",
}  # fmt: skip
_GREEK_RE = re.compile("|".join(_GREEK))
# Words joined by - or / (and decimals) form one compound; an apostrophe ends a word ("Crohn's" -> "crohn").
_WORD = re.compile(r"[0-9a-z]+(?:(?:[-/]|(?<=\d)\.(?=\d))[0-9a-z]+)*")
_JOINERS = re.compile(r"[-/]")
_QUESTION_WORDS = {
    "does",
    "do",
    "did",
    "can",
    "could",
    "should",
    "would",
    "may",
    "might",
    "is",
    "are",
    "was",
    "were",
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "why",
    "how",
    "when",
    "where",
    "whether",
}
STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | _QUESTION_WORDS

_stemmer = Stemmer.Stemmer("english")
_stem_lock = threading.Lock()  # PyStemmer objects are not thread-safe
_stem_cache: dict[str, str] = {}


def stem_word(word: str) -> str:
    """The index term of one plain word (identifiers such as "brca1" are kept as written)."""
    cached = _stem_cache.get(word)
    if cached is None:
        if not word.isalpha():
            cached = word  # "brca1", "5fu", "2.5": identifiers are kept as written
        else:
            with _stem_lock:
                cached = _stemmer.stemWord(word)
        if len(_stem_cache) < 500_000:
            _stem_cache[word] = cached
    return cached


def normalise(text: str) -> str:
    """Lower-case, NFKC (full-width forms, ligatures), Greek letters spelled out."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _GREEK_RE.sub(lambda m: _GREEK[m.group(0)], text)


def tokenize(text: str) -> list[str]:
    """Index/query terms of ``text`` in order (a compound adds its joined form before its parts)."""
    terms: list[str] = []
    for match in _WORD.finditer(normalise(text)):
        word = match.group(0)
        parts = _JOINERS.split(word)
        if len(parts) > 1:
            terms.append("".join(parts))
        for part in parts:
            if part not in STOPWORDS and (len(part) > 1 or part.isdigit() or len(parts) > 1):
                terms.append(stem_word(part))
    return terms


#: Two stems name the same thing when they share this long a start ("pregnanc"/"pregnant", "child"/"children").
MIN_SHARED_PREFIX = 5
SHARED_PREFIX_RATIO = 0.8
MAX_ENDING = 3
#: What a longer stem may add to a shorter one and still be a form of its word ("pelvi"/"pelvic",
#: "ischaem"/"ischaemia", "smoke"/"smoker"); not "placebo" for "place", "positron" for "posit".
EXTENSIONS = frozenset(
    "a c e i l m n r s t y al an ar at er es ia ian ic in is ist lar on or ren um us est".split()
)
#: How two forms of one word may end differently after their shared start ("pregnanc"/"pregnant",
#: "diagnosi"/"diagnost", "bacillus"/"bacilli", "criteria"/"criterion"); not "statin"/"statist",
#: "cancer"/"cancel", "complet"/"complex".
ALTERNATIONS = frozenset(
    frozenset(pair.split("/"))
    for pair in "c/t s/t si/t i/t sia/t ia/t x/c xi/ct x/g um/ar um/al us/i on/a y/i s/z m/ph i/eut d/s "
    "b/pt".split()
)


def same_stem(a: str, b: str) -> bool:
    """Whether two stems are forms of one word: equal, or sharing most of the shorter one's letters and
    differing by a short ending that English forms words with ("pregnanc"/"pregnant", "child"/"children",
    not "child"/"childbirth", "statin"/"statist" or "place"/"placebo")."""
    if a == b:
        return True
    if not (a.isalpha() and b.isalpha()) or a[:MIN_SHARED_PREFIX] != b[:MIN_SHARED_PREFIX]:
        return False
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    if shared < SHARED_PREFIX_RATIO * min(len(a), len(b)) or max(len(a), len(b)) - shared > MAX_ENDING:
        return False
    ends = frozenset((a[shared:], b[shared:])) - {""}
    return (len(ends) == 1 and next(iter(ends)) in EXTENSIONS) or ends in ALTERNATIONS
