"""The normalised article record every source parser produces, and the parse events around it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, Field, ValidationError, computed_field, field_validator

from ingest.errors import InputError
from ingest.limits import MAX_ABSTRACT_CHARS, MAX_LIST_ITEMS, MAX_TITLE_CHARS
from ingest.safe_text import safe_text
from ingest.studytypes import study_kinds

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"

_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)
_WS = re.compile(r"\s+")
# C0 and C1 control characters (ESC, NUL, bell...) and the Unicode line/paragraph separators: never text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u2028\u2029]")


def untrusted(text: str) -> str:
    """Text from an abstract, a record or a model, made safe to show (:func:`ingest.safe_text.safe_text`:
    control and invisible format characters removed, everything else kept as written)."""
    return safe_text(text)


#: A DOI as registered: "10.", a registrant code, "/", a suffix without spaces, quotes or angle brackets.
VALID_DOI = re.compile(r"10\.\d{4,9}/[^\s\"<>\\]+")


def doi_link(doi: str | None) -> str | None:
    """The doi.org link of a valid DOI, its suffix percent-encoded (brackets too, so it cannot close or open
    a Markdown link); None for anything that is not a DOI."""
    if not doi or not VALID_DOI.fullmatch(doi) or CONTROL.search(doi):
        return None
    return DOI_URL.format(doi=quote(doi, safe="/.-_;:"))


def pubmed_link(pmid: str | None) -> str | None:
    """The PubMed link of a PMID (digits only), else None."""
    return PUBMED_URL.format(pmid=pmid) if pmid and pmid.isascii() and pmid.isdigit() else None


def clean_text(text: str | None) -> str:
    """Collapse runs of whitespace (abstracts come wrapped, indented and with stray tabs) and drop control
    characters: an escape sequence in a title must never reach a terminal."""
    return _WS.sub(" ", CONTROL.sub("", text or "")).strip()


def normalise_doi(doi: str | None) -> str | None:
    """``https://doi.org/10.1/X`` / ``doi:10.1/X`` / ``10.1/X.`` -> ``10.1/x`` (DOIs are case-insensitive)."""
    if not doi:
        return None
    doi = _DOI_PREFIX.sub("", doi.strip()).strip().rstrip(".").lower()
    return doi if doi.startswith("10.") and "/" in doi else None


def normalise_pmid(pmid: object) -> str | None:
    text = str(pmid).strip() if pmid is not None else ""
    return text if text.isdigit() and int(text) > 0 else None


class Section(BaseModel):
    """One labelled part of a structured abstract (label may be empty)."""

    label: str = ""
    text: str


class Article(BaseModel):
    """One article, whatever format it came from."""

    abstract: str = Field(min_length=1)
    title: str = ""
    sections: list[Section] = Field(default_factory=list)
    journal: str | None = None
    year: int | None = None
    date: str | None = None  # ISO-ish: "2025-12", "2002-09-16"
    authors: list[str] = Field(default_factory=list)
    affiliations: list[str] = Field(default_factory=list)
    doi: str | None = None
    pmid: str | None = None
    mesh: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    #: PubMed publication types as written ("Randomized Controlled Trial", "Journal Article", ...)
    publication_types: list[str] = Field(default_factory=list)
    #: "retracted", "retraction notice", "expression of concern" or None (see ingest.studytypes)
    retraction: str | None = None
    source_id: str | None = None  # the source's own id (BEIR _id, CSV id column) when not a PMID/DOI
    source: str = ""  # where it was read from, for messages: "file.xml:PMID 123", "data.csv:line 7"

    @field_validator("abstract", "title", mode="before")
    @classmethod
    def _clean(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) or value is None else value

    @field_validator("title")
    @classmethod
    def _title_size(cls, value: str) -> str:
        if len(value) > MAX_TITLE_CHARS:
            raise ValueError(
                f"the title has {len(value):,} characters, over the {MAX_TITLE_CHARS:,} a title may have"
            )
        return value

    @field_validator("abstract")
    @classmethod
    def _abstract_size(cls, value: str) -> str:
        if len(value) > MAX_ABSTRACT_CHARS:
            raise ValueError(
                f"the abstract has {len(value):,} characters, over the {MAX_ABSTRACT_CHARS:,} an abstract may have"
            )
        return value

    @field_validator("authors", "affiliations", "mesh", "keywords", "sections", "publication_types")
    @classmethod
    def _list_size(cls, value: list[Any]) -> list[Any]:
        if len(value) > MAX_LIST_ITEMS:
            raise ValueError(f"{len(value):,} entries, over the {MAX_LIST_ITEMS:,} a list may hold")
        return value

    @field_validator("doi", mode="before")
    @classmethod
    def _doi(cls, value: object) -> object:
        return normalise_doi(value) if isinstance(value, str) or value is None else value

    @field_validator("pmid", mode="before")
    @classmethod
    def _pmid(cls, value: object) -> object:
        return normalise_pmid(value)

    @field_validator("year")
    @classmethod
    def _year(cls, value: int | None) -> int | None:
        return value if value is None or 1000 <= value <= 2999 else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Stable id: ``pmid:<n>``, else ``doi:<doi>``, else ``src:<source id>``, else a content hash."""
        if self.pmid:
            return f"pmid:{self.pmid}"
        if self.doi:
            return f"doi:{self.doi}"
        if self.source_id:
            return f"src:{self.source_id}"
        return "hash:" + hashlib.sha256(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str | None:
        """The canonical link: PubMed when there is a PMID, else the DOI resolver."""
        if self.pmid:
            return PUBMED_URL.format(pmid=self.pmid)
        if self.doi:
            return DOI_URL.format(doi=self.doi)
        return None

    def content_hash(self) -> str:
        """Hash of everything that is stored; equal hashes mean re-ingesting changes nothing."""
        payload = self.model_dump(exclude={"source"}, mode="json")
        # the derived study types are stored too (a MeSH design heading alone can give one, and the mapping may
        # change); each of these is left out when empty, so an article without any hashes as it always did
        payload["study_types"] = self.study_types
        for key in ("publication_types", "retraction", "study_types"):
            if not payload[key]:
                del payload[key]
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]

    @property
    def study_types(self) -> list[str]:
        """Vocabulary codes of its design, most specific first ([] = unknown); see ingest.studytypes."""
        return study_kinds(self.publication_types, self.mesh)

    def body_text(self) -> str:
        """The abstract as it is embedded: section labels kept ("METHODS: ...")."""
        if self.sections:
            parts = [f"{s.label}: {s.text}" if s.label else s.text for s in self.sections]
            return "\n".join(clean_text(p) for p in parts if p.strip())
        return self.abstract


def unusable(error: ValidationError) -> str:
    """Why a record could not become an Article, in one line: ``unusable year: ...``, or a limit's own words."""
    problem = error.errors()[0]
    field = ".".join(str(part) for part in problem["loc"]) or "record"
    message = str(problem["msg"]).removeprefix("Value error, ")
    return message if problem["type"] == "value_error" else f"unusable {field}: {message}"


@dataclass(frozen=True)
class Skipped:
    """A record a parser could not turn into an :class:`Article`.

    ``reason`` is ``"no_abstract"`` for records that are valid but carry no abstract (counted, not an error),
    ``"malformed"`` for records that could not be read.
    """

    source: str  # file name
    locator: str  # "line 12", "PMID 123", "record 4"
    reason: str
    message: str

    def describe(self) -> str:
        return f"{self.source}: {self.locator}: {self.message}"


ParseEvent = Article | Skipped

__all__ = ["Article", "InputError", "ParseEvent", "Section", "Skipped"]
