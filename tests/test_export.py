"""BibTeX and RIS exports parse with third-party parsers, keep keys unique and keep hostile text inert."""

from __future__ import annotations

import bibtexparser
import rispy

from bot.export import export, file_format, to_bibtex, to_ris
from bot.types import Citation

HOSTILE = "Evil } title {with @misc{x, title={pwned}} \x1b[2J\nER  - \r\nTY  - JOUR & 50% $5 #1 a_b ~ ^ \\end"


def _citation(n: int, **fields: object) -> Citation:
    base: dict[str, object] = {
        "n": n,
        "id": f"pmid:{n}",
        "title": "Metformin and cancer risk",
        "journal": "BMJ",
        "year": 2020,
        "pmid": str(n),
        "doi": f"10.1000/x{n}",
        "authors": ["Smith, John", "Doe, Jane"],
        "study_types": ["meta-analysis", "systematic-review"],
    }
    base.update(fields)
    return Citation.model_validate(base)


def test_bibtex_keys_are_unique_and_entries_complete() -> None:
    citations = [_citation(1), _citation(2), _citation(3, authors=[], title="", passages=["A finding."])]
    text = to_bibtex(citations)
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks and len(library.entries) == 3
    keys = [e.key for e in library.entries]
    assert keys[:2] == ["smith2020metformin", "smith2020metformina"] and len(set(keys)) == 3
    first = library.entries[0]
    assert first["author"] == "Smith, John and Doe, Jane"
    assert (first["journal"], first["year"], first["pmid"]) == ("BMJ", "2020", "1")
    assert first["doi"] == "10.1000/x1" and first["url"] == "https://pubmed.ncbi.nlm.nih.gov/1/"
    assert first["keywords"] == "meta-analysis"
    assert library.entries[2]["title"] == "Untitled: “A finding.”"


def test_hostile_text_cannot_forge_entries_or_fields() -> None:
    citation = _citation(
        7, title=HOSTILE, journal="J {Broken", authors=["O'Brien, Seán", "The {GROUP} and Co"]
    )
    library = bibtexparser.parse_string(to_bibtex([citation]))
    assert not library.failed_blocks and len(library.entries) == 1
    (entry,) = library.entries
    assert set(entry.fields_dict) == {"author", "title", "journal", "year", "doi", "pmid", "url", "keywords"}
    assert "\x1b" not in entry["title"] and "\n" not in entry["title"]
    assert r"\&" in entry["title"] and r"\%" in entry["title"] and r"\textbackslash{}end" in entry["title"]
    assert entry["author"] == "O'Brien, Seán and {The {GROUP} and Co}"  # a group name stays one author
    assert entry["journal"] == "J Broken"  # the unbalanced brace is dropped

    ris = to_ris([citation])
    records = rispy.loads(ris)
    assert len(records) == 1 and ris.count("ER  - ") == ris.count("TY  - ") == 1
    assert records[0]["title"].startswith("Evil } title {with @misc{x")
    assert "\x1b" not in ris and "\r" not in ris


def test_retracted_and_et_al() -> None:
    citation = _citation(9, retraction="retracted", authors=["A, B", "C, D", "et al."], study_types=[])
    entry = bibtexparser.parse_string(to_bibtex([citation])).entries[0]
    assert entry["note"] == "RETRACTED" and entry["author"] == "A, B and C, D and others"
    assert "keywords" not in entry.fields_dict
    record = rispy.loads(to_ris([citation]))[0]
    assert record["authors"] == ["A, B", "C, D"] and "RETRACTED" in record["notes"]


def test_formats_by_name() -> None:
    assert (
        file_format("refs.BIB") == "bibtex" and file_format("x.ris") == "ris" and file_format("x.txt") is None
    )
    assert export([], "ris") == "" and export([], "bibtex") == ""


def test_and_inside_one_author_name_does_not_make_two_authors() -> None:
    """BibTeX splits an author field on the word "and": a name holding it would become two authors."""
    from bibtexparser.middlewares import SeparateCoAuthors

    citation = _citation(5, authors=["Evil, A and Other, B", "Smith, John AND Co", "Anderson, Band"])
    parsed = bibtexparser.parse_string(to_bibtex([citation]), append_middleware=[SeparateCoAuthors()])
    (entry,) = parsed.entries
    assert entry["author"] == ["Evil, A {and} Other, B", "Smith, John {AND} Co", "Anderson, Band"]
