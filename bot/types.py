"""What the read side hands to front ends: filters in, an :class:`Answer` out.

Front ends (``litbot ask``, the REPL, Discord) render these objects and hold no retrieval or prompt logic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ingest.articles import doi_link, pubmed_link
from ingest.studytypes import RETRACTED, label_of

#: Words of an untitled source's finding that stand in for its title.
UNTITLED_WORDS = 12

#: The one refusal sentence, shared by the prompts (as {refusal}), the code and the tests.
REFUSAL = "I couldn't find this in the indexed literature."


class Filters(BaseModel):
    """Metadata filters applied to retrieval (all optional, combined with AND)."""

    year_from: int | None = None
    year_to: int | None = None
    journal: str | None = None  # case-insensitive substring of the journal name
    #: Study type codes (ingest.studytypes); an article matches when it has any of them.
    types: tuple[str, ...] = ()
    #: Retracted articles are left out of answers (and named in a note) unless this is set; not a filter.
    include_retracted: bool = False
    #: Articles hidden from retrieval (evaluation only: leave-gold-out); never shown, never in JSON.
    exclude_ids: frozenset[str] = Field(default_factory=frozenset, exclude=True)

    def is_empty(self) -> bool:
        """Whether no user-visible filter is set (``exclude_ids`` is not one)."""
        return self.year_from is None and self.year_to is None and not self.journal and not self.types

    def describe(self) -> str:
        """The filters as the REPL's /filter takes them: ``year=2015-2020 journal="Gut"`` ("" when none)."""
        parts = []
        low, high = self.year_from, self.year_to
        if low is not None and high is not None:
            parts.append(f"year={low}" if low == high else f"year={low}-{high}")
        elif low is not None:
            parts.append(f"year>={low}")
        elif high is not None:
            parts.append(f"year<={high}")
        if self.journal:
            parts.append(f'journal="{self.journal}"')
        if self.types:
            parts.append("type=" + ",".join(self.types))
        return " ".join(parts)

    def as_json(self) -> dict[str, object]:
        """The filters as ``--json`` shows them: only what is set."""
        data = self.model_dump(exclude_none=True)
        if not self.types:
            del data["types"]
        if not self.include_retracted:
            del data["include_retracted"]
        return data


class Citation(BaseModel):
    """One cited article, numbered in order of first use in the answer text."""

    n: int
    id: str
    title: str = ""
    journal: str | None = None
    year: int | None = None
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    authors: list[str] = Field(default_factory=list)  # "Last, First" as stored (at most 12, then "et al.")
    study_types: list[str] = Field(default_factory=list)  # vocabulary codes, most specific first
    publication_types: list[str] = Field(default_factory=list)  # PubMed's own names
    retraction: str | None = None  # "retracted", "retraction notice", "expression of concern"
    passages: list[str] = Field(default_factory=list)  # the text the answer drew on
    finding: str = ""  # the article's own finding (its conclusion), for untitled records' names

    @property
    def link(self) -> str | None:
        """The link a reader opens, built only from a validated PMID (PubMed) or DOI (doi.org): never a
        stored URL, which a record could have made point anywhere."""
        return pubmed_link(self.pmid) or doi_link(self.doi)

    @property
    def study_type(self) -> str:
        """The short study-type label ("RCT", "meta-analysis", ...); "" when unknown (nothing is shown)."""
        return label_of(self.study_types)

    @property
    def retracted(self) -> bool:
        return self.retraction == RETRACTED

    @property
    def tags(self) -> list[str]:
        """What every front end shows after a source's name: its study type, and loudly its status."""
        tags = [self.study_type] if self.study_type else []
        if self.retraction == RETRACTED:
            tags.insert(0, "RETRACTED")
        elif self.retraction:
            tags.append(self.retraction)
        return tags

    @property
    def label(self) -> str:
        """How every front end names the source: its title, else (a record that truly has none) the first
        words of its finding in quotes, else its id."""
        if self.title:
            return self.title.rstrip(".")
        words = (self.finding or (self.passages[0] if self.passages else "")).split()
        if not words:
            return self.id
        head = " ".join(words[:UNTITLED_WORDS])
        return f"Untitled: “{head}…”" if len(words) > UNTITLED_WORDS else f"Untitled: “{head}”"


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # known OpenAI models only
    estimated: bool = False  # counted by litbot: the server reported no usage (e.g. a stream without it)


class Answer(BaseModel):
    """An answer with its numbered citations; every [n] in ``text`` is in ``citations`` and vice versa."""

    question: str
    standalone_question: str = ""  # the follow-up rewritten to stand alone (equals question for a first turn)
    text: str
    mode: Literal["llm", "extractive"]
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    #: Concepts of the question that no evidence covers: empty for a complete answer; for a partial one, what
    #: it leaves out; for a refusal, the concepts no retrieved article mentions (possibly empty).
    missing: list[str] = Field(default_factory=list)
    filters: Filters = Field(default_factory=Filters)
    #: Retracted articles that matched the question but were left out of the answer (not numbered: n = 0).
    withheld: list[Citation] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # seconds: retrieve, generate, total
    usage: Usage | None = None

    def to_json_dict(self) -> dict[str, object]:
        """The `--json` shape shared by `litbot ask` and `litbot chat --json`."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.text,
            "mode": self.mode,
            "refused": self.refused,
            "missing": self.missing,
            "citations": [_citation_json(c) for c in self.citations],
            "retracted_withheld": [_citation_json(c, numbered=False) for c in self.withheld],
            "filters": self.filters.as_json(),
            "timings": self.timings,
            "usage": self.usage.model_dump() if self.usage else None,
        }


def _citation_json(citation: Citation, numbered: bool = True) -> dict[str, object]:
    data = citation.model_dump(exclude={"passages", "finding"} | (set() if numbered else {"n"}))
    data.update(
        label=citation.label,
        link=citation.link,
        study_type=citation.study_type or None,
        retracted=citation.retracted,
    )
    return data
