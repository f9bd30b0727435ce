"""The normalised article record every source parser produces, and the parse events around it."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from pydantic import (
    BaseModel,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    computed_field,
    field_validator,
    model_validator,
)

from ingest.errors import InputError
from ingest.identifiers import MAX_IDENTIFIER_CHARS, legacy_doi, legacy_pmid, normalise_doi, normalise_pmid
from ingest.limits import (
    MAX_ABSTRACT_CHARS,
    MAX_LIST_ITEMS,
    MAX_METADATA_CHARS,
    MAX_NAME_CHARS,
    MAX_TITLE_CHARS,
)
from ingest.safe_text import safe_text
from ingest.studytypes import study_kinds

PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/{pmid}/"
DOI_URL = "https://doi.org/{doi}"

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
    # str.split() splits on exactly the characters regex \s matches, at under half the cost (this runs for
    # every field of every record)
    return " ".join(CONTROL.sub("", text or "").split())


# List fields stored whole with the article (see ingest.pipeline.chunk_metadata); of authors the first 12 are.
_STORED_WHOLE = {"mesh", "publication_types"}
# What each limited field is called in a message: (one of it, many of it).
_NAMES = {
    "authors": ("an author", "authors"),
    "affiliations": ("an affiliation", "affiliations"),
    "mesh": ("a MeSH heading", "MeSH headings"),
    "keywords": ("a keyword", "keywords"),
    "publication_types": ("a publication type", "publication types"),
    "sections": ("an abstract section", "abstract sections"),
    "journal": ("a journal name", "journal names"),
    "source_id": ("an id", "ids"),
    "pmid": ("a PMID", "PMIDs"),
    "doi": ("a DOI", "DOIs"),
}


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
    _legacy_id: str | None = PrivateAttr(default=None)

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
    def _list_size(cls, value: list[Any], info: ValidationInfo) -> list[Any]:
        one, many = _NAMES[str(info.field_name)]
        if len(value) > MAX_LIST_ITEMS:
            raise ValueError(f"{len(value):,} {many}, over the {MAX_LIST_ITEMS:,} a record may list")
        longest = max((len(v) for v in value if isinstance(v, str)), default=0)
        if longest > MAX_NAME_CHARS:
            raise ValueError(f"{one} of {longest:,} characters, over the {MAX_NAME_CHARS:,} one may have")
        total = sum(len(v) + 2 for v in value if isinstance(v, str))
        if info.field_name in _STORED_WHOLE and total > MAX_METADATA_CHARS:
            raise ValueError(
                f"{many} of {total:,} characters in all, over the {MAX_METADATA_CHARS:,} they may take"
            )
        return value

    @field_validator("journal", "source_id")
    @classmethod
    def _name_size(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and len(value) > MAX_NAME_CHARS:
            one, _ = _NAMES[str(info.field_name)]
            raise ValueError(f"{one} of {len(value):,} characters, over the {MAX_NAME_CHARS:,} one may have")
        return value

    @field_validator("doi", "pmid", mode="before")
    @classmethod
    def _identifier(cls, value: object, info: ValidationInfo) -> object:
        """The normal form (see ingest.identifiers); None for what is not one, a record skipped for an
        identifier too long to be anything but damage."""
        if isinstance(value, str) and len(value) > 3 * MAX_IDENTIFIER_CHARS:
            one, _ = _NAMES[str(info.field_name)]
            raise ValueError(f"{one} of {len(value):,} characters is not one")
        return normalise_doi(value) if info.field_name == "doi" else normalise_pmid(value)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_legacy_id(cls, data: Any, handler: ModelWrapValidatorHandler[Article]) -> Article:
        article = handler(data)
        if isinstance(data, dict):
            article._legacy_id = article.id_from(legacy_pmid(data.get("pmid")), legacy_doi(data.get("doi")))
        return article

    @field_validator("year")
    @classmethod
    def _year(cls, value: int | None) -> int | None:
        return value if value is None or 1000 <= value <= 2999 else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def id(self) -> str:
        """Stable id: ``pmid:<n>``, else ``doi:<doi>``, else ``src:<source id>``, else a content hash."""
        return self.id_from(self.pmid, self.doi)

    def id_from(self, pmid: str | None, doi: str | None) -> str:
        if pmid:
            return f"pmid:{pmid}"
        if doi:
            return f"doi:{doi}"
        if self.source_id:
            return f"src:{self.source_id}"
        return "hash:" + hashlib.sha256(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]

    @property
    def legacy_id(self) -> str:
        """The id litbot gave this record before identifiers were normalised (``pmid:0960001``): where an
        older ingest may have stored it. Equal to :attr:`id` for input that was already in normal form."""
        return self._legacy_id or self.id

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
