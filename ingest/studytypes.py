"""Study types and retraction status: PubMed's publication types mapped onto a small vocabulary.

PubMed tags every record with publication types ("Randomized Controlled Trial", "Meta-Analysis", "Journal
Article", ...) and links a retracted article to its retraction notice. A reader weighing an answer needs two
things from that: what kind of study it is, in a word, and whether it still stands. This module is the one
place that decides both, for every source format.

Vocabulary (code → label shown), most specific first; an article may have several (a meta-analysis is often
also a systematic review), and its *study type* is the first of them in this order:

=================== ==================== =====================================================================
code                label                publication types
=================== ==================== =====================================================================
meta-analysis       meta-analysis        Meta-Analysis, Network Meta-Analysis
systematic-review   systematic review    Systematic Review
rct                 RCT                  Randomized Controlled Trial (also ", Veterinary")
clinical-trial      clinical trial       Clinical Trial (any phase), Controlled / Pragmatic / Adaptive Clinical
                                         Trial, Equivalence Trial
guideline           guideline            Guideline, Practice Guideline, Consensus Development Conference
observational       observational        Observational Study, Twin Study; MeSH Cohort / Case-Control /
                                         Cross-Sectional / Prospective / Retrospective / Longitudinal
                                         Studies when the record's publication types name no design
                                         (never for a record without publication types)
case-report         case report          Case Reports
review              review               Review, Scoping Review
preprint            preprint             Preprint
other               other                any other specific type (Letter, Editorial, Comment, News, ...)
=================== ==================== =====================================================================

A CSV/JSONL ``publication_types`` cell may hold PubMed's names or these codes and labels ("RCT",
"meta-analysis"). Types that say nothing about design ("Journal Article", "Research Support, ...", "English Abstract",
"Comparative Study", "Evaluation Study", ...) give no study type: unknown, and nothing is shown.

Retraction status (one of ``retracted``, ``retraction notice``, ``expression of concern``, else none):
*retracted* from ``Retracted Publication``, a ``RetractionIn`` / ``RetractedandRepublishedIn`` link (MEDLINE
``RIN`` / ``RRI``) or a title that starts "Retracted"; *retraction notice* from ``Retraction of Publication``
or ``RetractionOf`` (``ROF``): the record that retracts another; *expression of concern* from an
``ExpressionOfConcernIn`` link (``ECI``), ``Expression of Concern`` or a title that starts so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

#: code -> the short label every front end shows.
LABELS: dict[str, str] = {
    "meta-analysis": "meta-analysis",
    "systematic-review": "systematic review",
    "rct": "RCT",
    "clinical-trial": "clinical trial",
    "guideline": "guideline",
    "observational": "observational",
    "case-report": "case report",
    "review": "review",
    "preprint": "preprint",
    "other": "other",
}
ORDER = list(LABELS)

#: Words people type for a type (``--type``, ``/filter type=``, Discord), after lower-casing and turning
#: spaces, underscores and hyphens into "-".
TYPE_ALIASES: dict[str, str] = {
    "meta-analysis": "meta-analysis",
    "metaanalysis": "meta-analysis",
    "meta": "meta-analysis",
    "ma": "meta-analysis",
    "systematic-review": "systematic-review",
    "sr": "systematic-review",
    "rct": "rct",
    "rcts": "rct",
    "randomized-controlled-trial": "rct",
    "randomised-controlled-trial": "rct",
    "randomized": "rct",
    "randomised": "rct",
    "clinical-trial": "clinical-trial",
    "trial": "clinical-trial",
    "ct": "clinical-trial",
    "guideline": "guideline",
    "guidelines": "guideline",
    "observational": "observational",
    "cohort": "observational",
    "cohort/observational": "observational",
    "case-control": "observational",
    "case-report": "case-report",
    "case-reports": "case-report",
    "review": "review",
    "reviews": "review",
    "preprint": "preprint",
    "preprints": "preprint",
    "other": "other",
}

#: Kinds that the optional evidence prior (LITBOT_PREFER_SYNTHESES) favours.
SYNTHESES = frozenset({"meta-analysis", "systematic-review", "rct"})

RETRACTED = "retracted"
NOTICE = "retraction notice"
CONCERN = "expression of concern"

_BY_TYPE: dict[str, str] = {
    "meta-analysis": "meta-analysis",
    "network meta-analysis": "meta-analysis",
    "systematic review": "systematic-review",
    "randomized controlled trial": "rct",
    "randomized controlled trial, veterinary": "rct",
    "clinical trial": "clinical-trial",
    "clinical trial, phase i": "clinical-trial",
    "clinical trial, phase ii": "clinical-trial",
    "clinical trial, phase iii": "clinical-trial",
    "clinical trial, phase iv": "clinical-trial",
    "clinical trial, veterinary": "clinical-trial",
    "controlled clinical trial": "clinical-trial",
    "pragmatic clinical trial": "clinical-trial",
    "adaptive clinical trial": "clinical-trial",
    "equivalence trial": "clinical-trial",
    "guideline": "guideline",
    "practice guideline": "guideline",
    "consensus development conference": "guideline",
    "consensus development conference, nih": "guideline",
    "observational study": "observational",
    "observational study, veterinary": "observational",
    "twin study": "observational",
    "case reports": "case-report",
    "review": "review",
    "scoping review": "review",
    "preprint": "preprint",
}
#: Say nothing about design (or only about funding, language, indexing): no study type from these.
_GENERIC = frozenset(
    {
        "journal article",
        "english abstract",
        "comparative study",
        "evaluation study",
        "evaluation studies",
        "validation study",
        "validation studies",
        "multicenter study",
        "research support, n.i.h., extramural",
        "research support, n.i.h., intramural",
        "research support, non-u.s. gov't",
        "research support, u.s. gov't, non-p.h.s.",
        "research support, u.s. gov't, p.h.s.",
        "research support, american recovery and reinvestment act",
        "research support, u.s. gov't",
        "introductory journal article",
        "clinical study",
        "clinical trial protocol",
        "dataset",
        "retracted publication",
        "retraction of publication",
        "expression of concern",
        "published erratum",
        "corrected and republished article",
        "duplicate publication",
    }
)
_OBSERVATIONAL_MESH = frozenset(
    {
        "cohort studies",
        "case-control studies",
        "cross-sectional studies",
        "prospective studies",
        "retrospective studies",
        "longitudinal studies",
    }
)
_RETRACTED_LINKS = frozenset({"retractionin", "retractedandrepublishedin", "rin", "rri"})
_NOTICE_LINKS = frozenset({"retractionof", "rof"})
_CONCERN_LINKS = frozenset({"expressionofconcernin", "eci"})
_RETRACTED_TITLE = re.compile(r"^\W*retracted\b", re.IGNORECASE)
_CONCERN_TITLE = re.compile(r"^\W*expression of concern\b", re.IGNORECASE)


def _key(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(".")


def study_kinds(publication_types: Iterable[str], mesh: Iterable[str] = ()) -> list[str]:
    """Vocabulary codes for an article's publication types, most specific first ([] = unknown)."""
    found: set[str] = set()
    specific_other = False
    publication_types = list(publication_types)
    for raw in publication_types:
        key = _key(raw)
        alias = TYPE_ALIASES.get("-".join(key.replace("_", " ").replace("-", " ").split()))
        if key in _BY_TYPE or alias:
            found.add(_BY_TYPE.get(key) or str(alias))
        elif key and key not in _GENERIC and not key.startswith("research support"):
            specific_other = True
    # Design MeSH headings say "observational" only beside a publication-type list that names no design: a
    # record without that list (PubMedQA, a CSV without the column) may as well be an RCT ("Prospective
    # Studies" is indexed on trials too), so it stays unknown.
    if publication_types and not found - {"preprint"} and any(_key(m) in _OBSERVATIONAL_MESH for m in mesh):
        found.add("observational")
    if not found and specific_other:
        found.add("other")
    return [code for code in ORDER if code in found]


def retraction_status(
    publication_types: Iterable[str], links: Iterable[str] = (), title: str = ""
) -> str | None:
    """``retracted``, ``retraction notice``, ``expression of concern`` or None.

    ``links`` are CommentsCorrections RefTypes (XML ``RetractionIn``) or MEDLINE tags (``RIN``)."""
    types = {_key(t) for t in publication_types}
    kinds = {link.strip().lower() for link in links}
    if "retracted publication" in types or kinds & _RETRACTED_LINKS or _RETRACTED_TITLE.match(title):
        return RETRACTED
    if "retraction of publication" in types or kinds & _NOTICE_LINKS:
        return NOTICE
    if "expression of concern" in types or kinds & _CONCERN_LINKS or _CONCERN_TITLE.match(title):
        return CONCERN
    return None


def parse_type(word: str) -> str:
    """One type as a user typed it -> its code; ValueError naming the accepted ones."""
    key = "-".join(word.strip().lower().replace("_", " ").replace("-", " ").split())
    code = TYPE_ALIASES.get(key)
    if code is None:
        raise ValueError(f"unknown study type {word.strip()!r}: use {', '.join(ORDER)}")
    return code


def parse_types(text: str) -> tuple[str, ...]:
    """``"rct, meta-analysis"`` -> ``("meta-analysis", "rct")`` (vocabulary order, no repeats)."""
    codes = {parse_type(word) for word in text.split(",") if word.strip()}
    return tuple(code for code in ORDER if code in codes)


def label_of(kinds: Iterable[str]) -> str:
    """The short label shown for an article: its first kind, plus "preprint" when it is one too."""
    codes = [code for code in kinds if code in LABELS]
    if not codes:
        return ""
    label = LABELS[codes[0]]
    return f"{label}, preprint" if "preprint" in codes[1:] else label
