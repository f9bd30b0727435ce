"""An article's abstract as sentences in reading order, each with the part of the abstract it belongs to.

Answers must quote findings, not aims or methods, so every sentence gets a *role*: background, objective,
methods, results, conclusions, or plain statement when nothing says. Structured abstracts name their parts
("RESULTS: ...", or SciFact's "RESULTS The ..." without a colon); a label is recognised with or without its
colon when every word of it is a known label word ("DESIGN, SETTING, AND PARTICIPANTS", "BACKGROUND & AIMS"),
so acronyms such as "ADHD" or "USPSTF" are not mistaken for one. Unlabelled abstracts get roles from cue
phrases ("To determine whether ...", "We found ...", "In conclusion ...") and, for what is left, position.

The stored chunks of an article overlap (each repeats the end of the one before); :func:`join_chunks` glues
them back into one text before sentences are split, so no sentence is cut at a chunk border or counted twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ingest.sentences import split_sentences

Role = Literal["background", "objective", "methods", "results", "conclusions", "statement"]

#: Words that make up structured-abstract labels, by the role a label holding them gives its section.
_ROLE_WORDS: dict[str, Role] = {
    **dict.fromkeys(
        "BACKGROUND INTRODUCTION CONTEXT IMPORTANCE RATIONALE MOTIVATION PROBLEM CONDITION KNOWN".split(),
        "background",
    ),
    **dict.fromkeys(
        "OBJECTIVE OBJECTIVES AIM AIMS PURPOSE PURPOSES GOAL GOALS HYPOTHESIS QUESTION QUESTIONS OBJECT".split(),
        "objective",
    ),
    **dict.fromkeys(
        """
        METHODS METHOD METHODOLOGY DESIGN DESIGNS SETTING SETTINGS PARTICIPANTS PATIENTS SUBJECTS POPULATION
        INTERVENTION INTERVENTIONS MEASUREMENTS MEASUREMENT MEASURES MEASURE MATERIALS MATERIAL PROCEDURE
        PROCEDURES SOURCES SELECTION EXTRACTION COLLECTION ANALYSIS ANALYSES EXPOSURE EXPOSURES ACQUISITION
        SEARCH STRATEGY ELIGIBILITY CRITERIA SAMPLE TECHNIQUE
        LIMITATIONS LIMITATION STRENGTHS WEAKNESSES CAVEATS REGISTRATION FUNDING
        """.split(),
        "methods",  # (and what a study lacks, or where it is registered: about the study, never its finding)
    ),
    **dict.fromkeys(
        "RESULTS RESULT FINDINGS FINDING OUTCOMES OUTCOME OBSERVATIONS SYNTHESIS EVIDENCE".split(), "results"
    ),
    **dict.fromkeys(
        """
        CONCLUSIONS CONCLUSION INTERPRETATION DISCUSSION IMPLICATIONS RELEVANCE SIGNIFICANCE SUMMARY
        PERSPECTIVE PERSPECTIVES COMMENT
        """.split(),
        "conclusions",
    ),
}
#: Words that only join label words ("DESIGN, SETTING, AND PARTICIPANTS", "MAIN OUTCOME MEASURES").
_FILLER_WORDS = frozenset(
    """
    AND OF THE & / MAIN PRIMARY SECONDARY KEY STUDY TRIAL DATA CLINICAL AUTHORS' AUTHORS WHAT IS REVIEW
    PRINCIPAL RECENT BRIEF
    """.split()
)
_MEASURES = frozenset({"MEASURE", "MEASURES", "MEASUREMENT", "MEASUREMENTS"})
_REPORTED = frozenset({"RESULT", "RESULTS", "FINDING", "FINDINGS", "CONCLUSION", "CONCLUSIONS"})
# Precedence when a label holds several role words: "METHODS AND RESULTS" -> results, "BACKGROUND & AIMS" ->
# objective, "CONCLUSIONS AND RELEVANCE" -> conclusions.
_ROLE_PRECEDENCE: tuple[Role, ...] = ("conclusions", "results", "objective", "methods", "background")
# A run of upper-case words (the candidates for a label) and one word of it; a colon after a label.
_CAPS_RUN = re.compile(r"(?<![A-Za-z0-9'])[A-Z][A-Z']+(?:(?:\s*[,&/]\s*|\s+)[A-Z][A-Z']+)*(?![a-z0-9])")
_CAPS_WORD = re.compile(r"[A-Z][A-Z']+")
_COLON = re.compile(r"\s*:\s*")

_AIM = re.compile(
    r"^(?:(?:the\s+)?(?:main\s+|primary\s+)?(?:aims?|purposes?|objectives?|goals?)\s+(?:of|was|were|is|are)\b|"
    r"to\s+(?:assess|determine|evaluate|examine|investigate|compare|describe|study|explore|identify|test|"
    r"analy[sz]e|characteri[sz]e|establish|clarify|quantify|estimate|review|report|develop)\b|"
    r"we\s+(?:aimed|sought|set\s+out|wished|wanted|hypothesi[sz]ed|tested\s+the\s+hypothesis|asked|"
    r"investigated\s+whether|examined\s+whether|evaluated\s+whether|assessed\s+whether|studied\s+whether)\b|"
    r"(?:this|the\s+present|our)\s+(?:study|review|article|paper|work|trial|analysis)\s+"
    r"(?:aims?|aimed|sought|was\s+designed|is\s+designed|investigat|examin|explor|evaluat|assess|describ|"
    r"review|discuss|summari[sz]|focus|address)\w*\b|"
    r"(?:herein|here)\s*,?\s+we\s+(?:review|describe|summari[sz]e|discuss|report|present|investigate|"
    r"examine|explore)\b|in\s+this\s+(?:study|review|article|paper|work)\s*,?\s+we\s+(?:review|describe|"
    r"summari[sz]e|discuss|aim|sought|investigat|examin|explor|evaluat|assess)\w*\b|"
    r"it\s+(?:has\s+been|was|is)\s+hypothesi[sz]ed\b|(?:our|the)\s+hypothesis\b|whether\b)",
    re.IGNORECASE,
)
_GAP = re.compile(
    r"\b(?:(?:are|is|remains?|remained)\s+(?:still\s+)?(?:lacking|scarce|limited|unclear|unknown|"
    r"poorly\s+understood|controversial|debated|not\s+(?:well\s+)?(?:known|understood|established))|"
    r"little\s+is\s+known|(?:has|have)\s+not\s+been\s+(?:well\s+)?(?:studied|established|investigated|"
    r"explored|examined)|there\s+is\s+(?:a\s+)?(?:lack|paucity|need|gap)\b)",
    re.IGNORECASE,
)
_METHODS = re.compile(
    r"^(?:(?:we|patients|participants|subjects|women|men|children|mice|rats)\s+(?:were\s+)?"
    r"(?:enrolled|recruited|randomi[sz]ed|randomly\s+assigned|included|prospectively|retrospectively|"
    r"identified|selected|studied|followed|allocated)\b|a\s+total\s+of\s+\d|"
    r"(?:data|records|charts|questionnaires)\s+(?:were|was)\s+(?:collected|obtained|reviewed|analy[sz]ed|"
    r"extracted|retrieved)\b|(?:a|this)\s+(?:retrospective|prospective|cross-sectional|randomi[sz]ed|"
    r"case-control|cohort|observational|double-blind|single-centre|single-center|multicent(?:er|re))\b)",
    re.IGNORECASE,
)
_CONCLUSION = re.compile(
    r"^(?:in\s+conclusion|to\s+conclude|in\s+summary|to\s+summari[sz]e|overall|taken\s+together|"
    r"collectively|altogether|we\s+conclude|these\s+(?:data|results|findings|observations)\s+"
    r"(?:suggest|indicate|show|demonstrate|support|confirm|imply|provide|highlight)|"
    r"(?:our|the)\s+(?:data|results|findings|study)\s+(?:suggest|indicate|show|demonstrate|support|"
    r"confirm|imply|provide|highlight)|this\s+(?:study|trial|analysis|work)\s+(?:shows|suggests|"
    r"demonstrates|indicates|provides|confirms|highlights))\b",
    re.IGNORECASE,
)
_RESULT = re.compile(
    r"\b(?:we\s+(?:found|observed|show|showed|identified|detected|demonstrate|demonstrated)|"
    r"(?:was|were|is|are)\s+(?:not\s+)?(?:significantly\s+|independently\s+|strongly\s+)?"
    r"(?:associated|correlated|higher|lower|greater|smaller|increased|decreased|reduced|improved|elevated|"
    r"similar|different|comparable|related)|did\s+not\s+(?:differ|change|improve|reduce|increase|affect)|"
    r"no\s+(?:significant\s+)?(?:difference|differences|association|effect|change|benefit)|"
    r"(?:lowered|reduced|increased|decreased|improved|prevented|worsened|halved|doubled|shortened|prolonged)"
    r"\s+(?:the\s+)?(?:risk|rate|incidence|odds|number|duration|mortality|survival|levels?)\b|"
    r"p\s*[<=>≤]\s*0?\.\d|(?-i:\b(?:OR|RR|HR|CI)\b)|\d+(?:\.\d+)?\s*%)",
    re.IGNORECASE,
)


_DONE = re.compile(
    r"\b(?:was|were)\s+(?:then\s+|also\s+|prospectively\s+|retrospectively\s+|randomly\s+)?(?:examined|"
    r"enrolled|recruited|randomi[sz]ed|included|assessed|measured|evaluated|reviewed|analy[sz]ed|collected|"
    r"obtained|followed|interviewed|surveyed|studied|allocated|assigned|performed|recorded|identified|"
    r"selected|divided|screened|invited|asked|given|administered)\b",
    re.IGNORECASE,
)


_COUNT = (
    r"(?:[\d,]+|(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)"
    r"(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine|hundred))*)"
)
_PEOPLE = (
    r"(?:patients|subjects|participants|persons|people|individuals|women|men|children|infants|adults|"
    r"volunteers|cases|residents|neonates|pregnancies|eyes|procedures|operations)"
)
#: Who was studied, not what was found: the sample's make-up ("The mean age was 64.4 years", "205 consecutive
#: patients underwent carotid screening", "2878 patients with hypertensive disorders (11.6%)").
_SAMPLE = re.compile(
    r"^(?:overall|in\s+total|in\s+all)?\W*(?:"
    r"(?:the\s+)?(?:patients'?\s+|participants'?\s+)?(?:mean|median|average)\s+ages?\b|"
    rf"(?:a\s+(?:consecutive\s+)?series\s+of\s+)?{_COUNT}\s+(?:(?!of\b)[\w-]+\s+){{0,3}}?{_PEOPLE}\s+"
    r"(?:underwent|received|participated|completed|met|fulfilled|were\s+(?:included|enrolled|eligible|"
    r"recruited|studied|analy[sz]ed|identified|evaluated|operated))\b|"
    rf"{_COUNT}\s+(?:(?!of\b)[\w-]+\s+){{0,3}}?{_PEOPLE}\s+with\b(?!.*\b(?:is|are|was|were|had|has|have|"
    r"died|showed|developed|required|experienced|\w+ed)\b))",
    re.IGNORECASE,
)
#: What was measured or who did the work, when the sentence reports no result: "The outcomes of interest were
#: number of arterial blood gases…", "Six providers performed 197 IUD insertion attempts".
_SETUP = re.compile(
    r"^(?:the\s+)?(?:(?:main|primary|secondary|principal)\s+(?:outcomes?|end\s?points?)(?:\s+measures?)?|"
    r"outcomes?\s+(?:of\s+interest|measures?))\s+(?:were|was|included)\b|"
    rf"^{_COUNT}\s+(?:[\w-]+\s+){{0,2}}?(?:providers|physicians|surgeons|clinicians|nurses|practitioners|"
    r"midwives|centres|centers|hospitals|practices)\s+(?:performed|carried\s+out|conducted)\b",
    re.IGNORECASE,
)
#: A design named as a label: "Randomised controlled trial; randomised patients ... to: (1) music ..."
_DESIGN = re.compile(
    r"^(?:randomi[sz]ed|prospective|retrospective|controlled|clinical|cohort|cross-sectional|observational|"
    r"\s)+(?:trial|study)\s*[;:]",
    re.IGNORECASE,
)
#: A comparison or a test in a sentence about the sample: it is a finding after all ("mean age was higher in")
_COMPARES = re.compile(
    r"\b(?:significant\w*|higher|lower|greater|less|more|fewer|older|younger|differ\w*|associated|"
    r"correlated|increas\w*|decreas\w*|reduc\w*|improv\w*|compared|versus|vs)\b|p\s*[<=>≤]",
    re.IGNORECASE,
)


#: A comparison in a sentence that also says what was done: "More services were performed at ... but fewer ..."
_MORE = re.compile(r"\b(?:more|fewer|less|higher|lower|greater|smaller)\b", re.IGNORECASE)


def reads_as_method(text: str) -> bool:
    """Whether a sentence says what was done rather than found ("A total of 120 patients were enrolled",
    "Ninety children were examined with radiographs"): a methods opening, an aim, a description of the
    sample or a design label that compares nothing, or a passive of doing without any wording of a result."""
    if _METHODS.match(text) is not None or _AIM.match(text) is not None:
        return True
    if (_SAMPLE.match(text) or _DESIGN.match(text)) and _COMPARES.search(text) is None:
        return True
    if _SETUP.match(text) and _COMPARES.search(text) is None and _RESULT.search(text) is None:
        return True
    return _DONE.search(text) is not None and not reads_as_finding(text) and _MORE.search(text) is None


#: What research should do next, said as the whole sentence: "In future studies, the use of both … would ensure",
#: "Further studies are needed to …", "Larger trials are warranted". No finding, whatever section holds it.
_AGENDA = re.compile(
    r"^(?:in\s+)?(?:future|further|more|additional|larger|longer|well-designed)\s+(?:(?:prospective|randomi[sz]ed|"
    r"controlled|clinical|multicent(?:er|re)|large-scale)\s+)*(?:studies|study|research|trials?|investigations?|"
    r"work|evaluations?)\b(?!\s+(?:showed|found|revealed|demonstrated|confirmed|indicated))",
    re.IGNORECASE,
)


def reads_as_agenda(text: str) -> bool:
    """Whether a sentence says what future research should do rather than what this study found ("In future
    studies, the use of both government and self-reported data would ensure a more accurate picture")."""
    return _AGENDA.match(text) is not None


def reads_as_finding(text: str) -> bool:
    """Whether a sentence states a result or a conclusion by its wording (for sentences no label places)."""
    return _CONCLUSION.match(text) is not None or _RESULT.search(text) is not None


@dataclass(frozen=True)
class AbstractSentence:
    """One sentence of an abstract: its place in reading order, its text and the role of its part."""

    position: int
    text: str
    label: str  # the section label as written ("MAIN OUTCOME MEASURES"), "" when unlabelled
    role: Role


def label_role(label: str) -> Role | None:
    """The role a section label gives its sentences; None when the words are not a label's."""
    words = [w for w in re.split(r"[\s,&/]+", label.upper().strip()) if w]
    roles = [_ROLE_WORDS[w] for w in words if w in _ROLE_WORDS]
    if not roles or any(w not in _ROLE_WORDS and w not in _FILLER_WORDS for w in words):
        return None
    if _MEASURES & set(words) and not _REPORTED & set(words):
        return "methods"  # "MAIN OUTCOME MEASURES" says what was measured, not what was found
    return next(r for r in _ROLE_PRECEDENCE if r in roles)


def join_chunks(texts: Sequence[str]) -> str:
    """The chunks of one article (in order) as one text, the repeated start of each later chunk removed."""
    joined = ""
    for text in (t.strip() for t in texts):
        if not text:
            continue
        if not joined:
            joined = text
            continue
        joined = _glue(joined, text)
    return joined


def _glue(head: str, tail: str) -> str:
    """``head`` + ``tail`` without the longest start of ``tail`` that ``head`` already ends with (at least
    three words: a shorter match is a coincidence, not the chunker's overlap)."""
    first = tail.split(" ", 1)[0]
    start = head.find(first, max(0, len(head) - 4000))
    while start != -1:
        overlap = head[start:]
        if (start == 0 or head[start - 1] == " ") and tail.startswith(overlap) and len(overlap.split()) >= 3:
            return head + tail[len(overlap) :]
        start = head.find(first, start + 1)
    return f"{head} {tail}"


def labelled_parts(text: str) -> list[tuple[str, str]]:
    """``text`` cut at its section labels: ``[(label, part text), ...]``; ``("", text)`` when it has none.

    A label counts at the start of the text, of a line, or after a sentence's end, with or without a colon.
    """
    cuts: list[tuple[int, int, str]] = []  # (label start, text start, label)
    for match in _CAPS_RUN.finditer(text):
        start = match.start()
        before = text[:start].rstrip(" \t")
        if before and before[-1] not in ".!?:;)\n":
            continue
        found = _label_at(text, start, match.group(0))
        if found is not None:
            cuts.append((start, *found))
    if not cuts:
        return [("", text.strip())] if text.strip() else []
    parts: list[tuple[str, str]] = []
    if text[: cuts[0][0]].strip():
        parts.append(("", text[: cuts[0][0]].strip()))
    for (_, body_start, label), following in zip(cuts, [*cuts[1:], None], strict=True):
        end = following[0] if following else len(text)
        body = text[body_start:end].strip()
        if body:
            parts.append((label, body))
    return parts


def _label_at(text: str, start: int, run: str) -> tuple[int, str] | None:
    """(where the section's text starts, label) for the longest label the capitals at ``start`` begin with."""
    words = list(_CAPS_WORD.finditer(run))
    for count in range(len(words), 0, -1):
        end = start + words[count - 1].end()
        label = text[start:end]
        colon = _COLON.match(text, end)
        if colon:
            if label_role(label) is not None or count <= 6:
                return colon.end(), label
            continue
        if label_role(label) is None:
            continue
        rest = text[end:].lstrip()
        if rest[:1].isupper() or rest[:1].isdigit() or rest[:1] in "(\"'":
            return len(text) - len(rest), label  # "RESULTS in ..." would be prose, not a label
    return None


def abstract_sentences(texts: Sequence[str]) -> list[AbstractSentence]:
    """The sentences of an article's chunks (in order), each with its label and role, in reading order."""
    parts = labelled_parts(join_chunks(texts))
    raw: list[tuple[str, str]] = []
    for label, body in parts:
        for sentence in split_sentences(body.replace("\n", " \n")):
            text = " ".join(sentence.split())
            if text:
                raw.append((label, text))
    labelled = any(label for label, _ in raw)
    out: list[AbstractSentence] = []
    for position, (label, text) in enumerate(raw):
        role = label_role(label) if label else None
        if role is None:
            role = _cue_role(text, position, len(raw), labelled)
        elif role in ("results", "conclusions") and _AIM.match(text):
            role = "objective"  # "RESULTS: To determine ..." is mislabelled; trust the sentence
        out.append(AbstractSentence(position, text, label, role))
    return out


def _cue_role(text: str, position: int, count: int, labelled: bool) -> Role:
    """The role of an unlabelled sentence from how it opens, else from where it stands."""
    if _AIM.match(text):
        return "objective"
    if _GAP.search(text):
        return "background"  # "... are lacking", "little is known": what the paper sets out to fill
    if _CONCLUSION.match(text):
        return "conclusions"
    if _METHODS.match(text):
        return "methods"
    if _RESULT.search(text):
        return "results"
    if not labelled and count > 2:
        if position == 0:
            return "background"
        if position == count - 1:
            return "conclusions"
    return "statement"
