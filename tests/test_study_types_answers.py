"""End to end through `litbot ingest` and `litbot ask`: study types on every citation, the retracted-article
rule (left out with a note by default, marked with --include-retracted), --type filters and --cite exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bibtexparser
import pytest
import rispy
from typer.testing import CliRunner

from bot.cli.app import app
from bot.types import REFUSAL
from ingest.settings import Settings

from .conftest import FIXTURES, built_once, private_copy

XML = FIXTURES / "pubmed-xml"
RETRACTED_QUESTION = "Do synaptic transmitters stimulate the incorporation of oleate into synaptic membranes?"
ASTHMA = "Is as-needed budesonide-formoterol effective in mild asthma?"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="session")
def typed_store_template(mini_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The mini corpus plus real PubMed records with types, ingested once per run through `litbot ingest`: a
    retracted paper (PMID 993), an RCT, a systematic review/meta-analysis, reviews and an observational
    study. Tests read private copies (typed_settings)."""

    def build(path: Path) -> None:
        shutil.copytree(mini_store_template, path)
        files = [XML / "retracted-993.xml", XML / "pubmed-29768149.xml", XML / "test_current_medline.xml.gz"]
        files.append(XML / "pubmed4.xml")
        with pytest.MonkeyPatch.context() as env:
            env.setenv("LITBOT_CHROMA_PATH", str(path))
            env.setenv("LITBOT_DATA_DIR", str(path.parent / "data"))
            env.setenv("LITBOT_MODEL_CACHE_DIR", str(mini_store_template.parents[1] / "model-cache"))
            code, out, err = run("ingest", *map(str, files))
        assert code == 0, out + err

    return built_once(tmp_path_factory, "typed-store", build)


@pytest.fixture
def typed_settings(typed_store_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return private_copy(typed_store_template, tmp_path, monkeypatch)


def test_retracted_article_is_left_out_with_a_note(typed_settings: Settings) -> None:
    code, out, _ = run("ask", "--json", RETRACTED_QUESTION)
    assert code == 0
    payload = json.loads(out)
    assert all(c["pmid"] != "993" for c in payload["citations"])
    assert [w["pmid"] for w in payload["retracted_withheld"]] == ["993"]
    assert payload["retracted_withheld"][0]["retracted"] is True
    assert payload["refused"] is True and payload["answer"] == REFUSAL  # nothing else is about this

    code, out, _ = run("ask", RETRACTED_QUESTION)
    assert code == 0
    assert "1 retracted article matched and was left out of the answer" in out
    assert "The stimulation by synaptic transmitters" in out and "(PMID 993)" in out
    assert "--include-retracted" in out


def test_include_retracted_answers_from_it_with_a_loud_marker(typed_settings: Settings) -> None:
    code, out, _ = run("ask", "--json", "--include-retracted", RETRACTED_QUESTION)
    assert code == 0
    payload = json.loads(out)
    assert payload["refused"] is False and payload["retracted_withheld"] == []
    (cited,) = [c for c in payload["citations"] if c["pmid"] == "993"]
    assert cited["retracted"] is True and cited["retraction"] == "retracted"
    assert cited["study_type"] is None  # "Journal Article" says nothing about the design
    assert payload["filters"] == {"include_retracted": True}

    code, out, _ = run("ask", "--include-retracted", RETRACTED_QUESTION)
    assert code == 0
    n = cited["n"]
    assert f"[{n}] [RETRACTED] The stimulation by synaptic transmitters" in out
    assert f"Source [{n}] is RETRACTED" in out


def test_citations_carry_their_study_type(typed_settings: Settings) -> None:
    code, out, _ = run("ask", "--json", ASTHMA)
    assert code == 0
    payload = json.loads(out)
    first = payload["citations"][0]
    assert first["pmid"] == "29768149"
    assert (first["study_type"], first["retracted"], first["study_types"]) == (
        "RCT",
        False,
        ["rct", "clinical-trial"],
    )
    assert "Randomized Controlled Trial" in first["publication_types"]
    assert first["authors"][:2] == ["O'Byrne, Paul M", "FitzGerald, J Mark"]
    unknown = [c for c in payload["citations"] if not c["study_types"]]
    assert all(c["study_type"] is None for c in unknown)

    code, out, _ = run("ask", ASTHMA)
    assert "[1] [RCT] Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma." in out


def test_type_filter_keeps_only_those_types_and_says_so_when_nothing_is_left(
    typed_settings: Settings,
) -> None:
    code, out, _ = run("ask", "--json", "--type", "RCT", ASTHMA)
    payload = json.loads(out)
    assert code == 0 and payload["filters"] == {"types": ["rct"]}
    assert payload["citations"] and all("rct" in c["study_types"] for c in payload["citations"])

    code, out, _ = run("ask", "--type", "meta-analysis,case-report", ASTHMA)
    assert code == 0
    assert out.startswith(REFUSAL)
    assert "Filters are active (type=meta-analysis,case-report)" in out

    code, out, _ = run(
        "ask", "--json", "--type", "systematic review", "tuberculosis testing in foreign-born people"
    )
    payload = json.loads(out)
    assert payload["citations"][0]["pmid"] == "28786991"
    assert payload["citations"][0]["study_type"] == "meta-analysis"


def test_type_filter_errors_are_one_line(typed_settings: Settings) -> None:
    code, _, err = run("ask", "--type", "rct,anecdote", ASTHMA)
    assert code == 2 and "unknown study type 'anecdote'" in err
    code, _, err = run("ask", "--cite", "endnote", ASTHMA)
    assert code == 2 and "--cite takes bibtex or ris" in err


def test_cite_prints_parseable_references_on_stdout(typed_settings: Settings) -> None:
    code, out, err = run("ask", "--cite", "bibtex", ASTHMA)
    assert code == 0
    assert "Sources:" in err and "Sources:" not in out  # the answer goes to stderr, stdout is the file
    library = bibtexparser.parse_string(out)
    assert not library.failed_blocks
    entry = library.entries[0]
    assert entry.entry_type == "article"
    assert entry["title"] == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma"
    assert entry["pmid"] == "29768149" and entry["doi"] == "10.1056/nejmoa1715274"
    assert entry["year"] == "2018" and entry["keywords"] == "RCT"
    assert entry["author"].startswith("O'Byrne, Paul M and FitzGerald, J Mark")
    assert len({e.key for e in library.entries}) == len(library.entries)

    code, out, _ = run("ask", "--cite", "ris", ASTHMA)
    assert code == 0
    records = rispy.loads(out)
    assert records[0]["type_of_reference"] == "JOUR"
    first = records[0]
    assert first["title"] == "Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma"
    assert first["secondary_title"] == "The New England journal of medicine" and first["year"] == "2018"
    assert first["authors"][:2] == ["O'Byrne, Paul M", "FitzGerald, J Mark"]
    assert (first["doi"], first["accession_number"]) == ("10.1056/nejmoa1715274", "29768149")
    assert first["urls"] == ["https://pubmed.ncbi.nlm.nih.gov/29768149/"] and first["keywords"] == ["RCT"]
    assert out.count("TY  - ") == out.count("ER  - ") == len(records)


def test_prefer_syntheses_reorders_only_by_the_margin(typed_settings: Settings) -> None:
    from bot.retrieval.retriever import SYNTHESIS_MARGIN, Retriever, kinds_of
    from ingest.embeddings import make_embedder
    from ingest.store import open_store

    embedder = make_embedder(typed_settings)
    store = open_store(typed_settings, embedder.name, create=False)
    question = "treatment trial outcomes in adults"
    plain = Retriever(store, embedder, typed_settings, synthesis_margin=0.0).search(
        question, k=30, apply_floor=False
    )
    syntheses = [
        r.article_id for r in plain if kinds_of(r.metadata) & {"rct", "meta-analysis", "systematic-review"}
    ]
    assert syntheses, "the question should reach a typed article"
    forced = Retriever(store, embedder, typed_settings, synthesis_margin=10.0).search(
        question, k=30, apply_floor=False
    )
    order = [r.article_id for r in forced]
    assert order[: len(syntheses)] == syntheses  # every synthesis/RCT first, in its own order
    assert order[len(syntheses) :] == [r.article_id for r in plain if r.article_id not in syntheses]
    shipped = Retriever(store, embedder, typed_settings.model_copy(update={"prefer_syntheses": True}))
    assert shipped.synthesis_margin == SYNTHESIS_MARGIN
    gaps = {r.article_id: r.score for r in plain}
    for before, after in zip(plain, shipped.search(question, k=30, apply_floor=False), strict=False):
        if before.article_id != after.article_id:  # a move happens only across a gap smaller than the margin
            assert abs(gaps[before.article_id] - gaps[after.article_id]) <= SYNTHESIS_MARGIN + 1e-9


def test_stats_counts_study_types_and_retractions(typed_settings: Settings) -> None:
    code, out, _ = run("stats", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["retracted"] == 1
    kinds = info["study_types"]
    assert (kinds["RCT"], kinds["meta-analysis"], kinds["review"]) == (1, 1, 2)
    assert kinds["observational"] >= 1  # PMID 27797938 (PubMedQA records have no types: unknown)
    assert sum(kinds.values()) == info["articles"] and kinds["unknown"] > 0
    code, out, _ = run("stats")
    assert "study_types: unknown " in out and "RCT 1" in out and "retracted: 1" in out
