"""What the read side hands to front ends: filters in, an :class:`Answer` out.

Front ends (``litbot ask``, the REPL, Discord) render these objects and hold no retrieval or prompt logic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ingest.articles import DOI_URL, PUBMED_URL

#: The one refusal sentence, shared by the prompts (as {refusal}), the code and the tests.
REFUSAL = "I couldn't find this in the indexed literature."


class Filters(BaseModel):
    """Metadata filters applied to retrieval (all optional, combined with AND)."""

    year_from: int | None = None
    year_to: int | None = None
    journal: str | None = None  # case-insensitive substring of the journal name

    def is_empty(self) -> bool:
        return self.year_from is None and self.year_to is None and not self.journal

    def describe(self) -> str:
        parts = []
        if self.year_from is not None:
            parts.append(f"year>={self.year_from}")
        if self.year_to is not None:
            parts.append(f"year<={self.year_to}")
        if self.journal:
            parts.append(f'journal="{self.journal}"')
        return " ".join(parts)


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
    passages: list[str] = Field(default_factory=list)  # the text the answer drew on

    @property
    def link(self) -> str | None:
        """The link a reader opens: the record's own URL, else PubMed by PMID, else doi.org."""
        if self.url:
            return self.url
        if self.pmid:
            return PUBMED_URL.format(pmid=self.pmid)
        if self.doi:
            return DOI_URL.format(doi=self.doi)
        return None

    @property
    def label(self) -> str:
        """A readable name even for untitled records (PubMedQA has no titles)."""
        if self.title:
            return self.title
        first = self.passages[0] if self.passages else ""
        return (first[:90] + "…") if len(first) > 90 else (first or self.id)


class Usage(BaseModel):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None  # known OpenAI models only


class Answer(BaseModel):
    """An answer with its numbered citations; every [n] in ``text`` is in ``citations`` and vice versa."""

    question: str
    standalone_question: str = ""  # the follow-up rewritten to stand alone (equals question for a first turn)
    text: str
    mode: Literal["llm", "extractive"]
    citations: list[Citation] = Field(default_factory=list)
    refused: bool = False
    filters: Filters = Field(default_factory=Filters)
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
            "citations": [c.model_dump(exclude={"passages"}) for c in self.citations],
            "filters": self.filters.model_dump(exclude_none=True),
            "timings": self.timings,
            "usage": self.usage.model_dump() if self.usage else None,
        }
