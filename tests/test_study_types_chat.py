"""`litbot chat`: /filter type=… and retracted=…, /export, and study types and retraction marks on sources."""

from __future__ import annotations

import subprocess
from pathlib import Path

import bibtexparser
import pytest
import rispy
from typer.testing import CliRunner

from bot.cli.app import app
from bot.terminal.commands import CommandError, parse_filter
from bot.types import REFUSAL, Filters
from ingest.settings import Settings
from tests.cli_runner import run_litbot
from tests.repl_screen import chat_env

from .conftest import FIXTURES
from .test_study_types_answers import ASTHMA, RETRACTED_QUESTION

XML = FIXTURES / "pubmed-xml"


def test_filter_types_and_retracted() -> None:
    filters = parse_filter("type=RCT,meta-analysis year>=2010", Filters())
    assert filters.types == ("meta-analysis", "rct") and filters.year_from == 2010
    assert filters.describe() == "year>=2010 type=meta-analysis,rct"
    assert parse_filter("type=off", filters).types == () and not parse_filter("type=off", filters).is_empty()
    shown = parse_filter("retracted=show", filters)
    assert shown.include_retracted and shown.types == filters.types
    assert not parse_filter("retracted=hide", shown).include_retracted
    assert parse_filter("off", shown) == Filters()
    with pytest.raises(CommandError, match="unknown study type 'anecdote'"):
        parse_filter("type=anecdote", Filters())
    with pytest.raises(CommandError, match="retracted= takes show or hide"):
        parse_filter("retracted=maybe", Filters())


def _chat(lines: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_litbot("chat", input=lines, env=chat_env(), cwd=cwd)


@pytest.mark.slow
def test_chat_filters_marks_and_exports(mini_settings: Settings, tmp_path: Path) -> None:
    files = [XML / "retracted-993.xml", XML / "pubmed-29768149.xml", XML / "test_current_medline.xml.gz"]
    assert CliRunner().invoke(app, ["ingest", *map(str, files)]).exit_code == 0
    lines = [
        "/export",  # nothing yet
        "/filter type=meta-analysis",
        ASTHMA,  # no meta-analysis on asthma: refused, filters named
        "/export",  # a refusal cites nothing
        "/filter type=rct",
        ASTHMA,
        "/export refs.bib",
        RETRACTED_QUESTION,  # the type filter is still on, and the paper is retracted anyway
        "/filter type=off",
        RETRACTED_QUESTION,  # left out, named, with the way to include it
        "/filter retracted=show",
        RETRACTED_QUESTION,
        "/export all everything.ris",
        "/export notes.txt",
    ]
    done = _chat("\n".join(lines) + "\n", tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "No sources to export yet" in out
    assert "The last answer cited no sources." in out
    refused, rest = out.split(f"> {ASTHMA}", 2)[1:]
    assert REFUSAL in refused and "Filters are active (type=meta-analysis)" in refused
    assert "[1] [RCT] Inhaled Combined Budesonide-Formoterol as Needed in Mild Asthma." in rest
    assert "Wrote 1 reference to refs.bib (bibtex)" in out
    filtered, hidden, shown = out.split(f"> {RETRACTED_QUESTION}")[1:]
    assert REFUSAL in filtered and "type=rct" in filtered  # the type filter was still on: not searched
    assert "1 retracted article matched and was left out" in hidden and "(PMID 993)" in hidden
    assert "note: /filter retracted=show answers from them too" in hidden
    assert "[RETRACTED]" not in hidden
    assert "Retracted articles are answered from too" in hidden  # /filter's reply, before the last question
    assert "[RETRACTED] The stimulation by synaptic transmitters" in shown
    assert "is RETRACTED" in shown
    assert "cannot tell the format of 'notes.txt'" in out

    library = bibtexparser.parse_string((tmp_path / "refs.bib").read_text())
    assert [e["pmid"] for e in library.entries] == ["29768149"]
    records = rispy.loads((tmp_path / "everything.ris").read_text())
    pmids = [r.get("accession_number") for r in records]
    assert pmids[0] == "29768149" and "993" in pmids and len(pmids) == len(set(pmids))
    retracted = next(r for r in records if r.get("accession_number") == "993")
    assert "RETRACTED" in retracted["notes"]


def test_terminal_and_prompt_show_type_and_retraction() -> None:
    from rich.console import Console

    from bot.answer.prompting import format_passages
    from bot.retrieval.retriever import RetrievedArticle
    from bot.terminal.render import print_source
    from bot.types import Citation

    console = Console(record=True, width=200, color_system=None)
    retracted = Citation(n=2, id="pmid:993", title="Oleate study", pmid="993", retraction="retracted")
    print_source(console, retracted, links=False)
    typed = Citation(n=1, id="pmid:1", title="A trial", study_types=["rct", "preprint"], retraction=None)
    print_source(console, typed, links=False)
    shown = console.export_text()
    assert "[2] [RETRACTED] Oleate study." in shown and "[1] [RCT, preprint] A trial." in shown

    meta = {"title": "Oleate study", "study_types": "rct", "retraction": "retracted"}
    prompt = format_passages([RetrievedArticle("pmid:993", 1.0, 0.9, meta, ["Oleate rose."])])
    assert "Study type: RCT" in prompt and "Status: RETRACTED" in prompt
