"""The REPL's pure parts: the /filter language, command suggestions, word-wrapped streaming, plain output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bot.terminal.commands import CommandError, parse_command, parse_filter
from bot.terminal.render import StreamWriter, plain_answer
from bot.types import Answer, Citation, Filters


@pytest.mark.parametrize(
    ("typed", "year_from", "year_to", "label"),
    [
        ("year>=2020", 2020, None, "year>=2020"),
        ("year >= 2020", 2020, None, "year>=2020"),
        ("year<=2019", None, 2019, "year<=2019"),
        ("year=2019", 2019, 2019, "year=2019"),
        ("year=2015-2020", 2015, 2020, "year=2015-2020"),
        ("year>2019 year<2021", 2020, 2020, "year=2020"),
    ],
)
def test_year_filters(typed: str, year_from: int | None, year_to: int | None, label: str) -> None:
    filters = parse_filter(typed, Filters())
    assert (filters.year_from, filters.year_to) == (year_from, year_to)
    assert filters.describe() == label


def test_filters_combine_and_clear() -> None:
    both = parse_filter('journal="Gut Microbes"', parse_filter("year>=2020", Filters()))
    assert (both.year_from, both.journal) == (2020, "Gut Microbes")
    assert both.describe() == 'year>=2020 journal="Gut Microbes"'
    assert parse_filter("year<=2010", both).year_from is None  # a new year term replaces the old range
    assert parse_filter("", both) == both  # bare /filter only shows them
    assert parse_filter("off", both).is_empty()


@pytest.mark.parametrize(
    "typed", ["year>=20", "yeer>=2020", "year>=2020 year<=2010", 'journal="Gut', "journal="]
)
def test_bad_filters_say_what_is_expected(typed: str) -> None:
    with pytest.raises(CommandError):
        parse_filter(typed, Filters())


def test_commands_and_suggestions() -> None:
    assert parse_command("how do statins work?") is None
    command = parse_command("/filter  year>=2020 ")
    assert command is not None and (command.name, command.arg) == ("filter", "year>=2020")
    assert parse_command("/exit") == parse_command("/quit")
    with pytest.raises(CommandError, match=r"did you mean /sources\?"):
        parse_command("/sorces")
    with pytest.raises(CommandError, match="/help lists"):
        parse_command("/xyzzy")


def test_streamed_tokens_wrap_between_words_within_the_width() -> None:
    out = io.StringIO()
    writer = StreamWriter(Console(file=out, width=30, force_terminal=False))
    text = (
        "- The microbiota and its metabolites regulate gene expression in the liver [1].\n\n- Next point [2]."
    )
    for start in range(0, len(text), 3):  # tokens cut words anywhere
        writer.write(text[start : start + 3])
    writer.finish()
    lines = out.getvalue().splitlines()
    assert writer.text == text
    assert all(len(line) < 30 and line == line.strip(" ") for line in lines)
    assert " ".join(out.getvalue().split()) == " ".join(text.split())  # no word split, none lost
    assert "" in lines  # the paragraph break survives


def test_plain_answer_has_question_answer_and_full_urls() -> None:
    answer = Answer(
        question="Does X help?",
        text="Yes [1].",
        mode="extractive",
        citations=[
            Citation(n=1, id="pmid:1", pmid="1", year=2001, journal="BMJ", title="X helps"),
        ],
    )
    assert plain_answer(answer) == (
        "> Does X help?\nYes [1].\n\nSources:\n[1] X helps. BMJ, 2001. https://pubmed.ncbi.nlm.nih.gov/1/"
    )
    assert Citation(n=2, id="doi:10.1000/x", doi="10.1000/x").link == "https://doi.org/10.1000/x"
    assert Citation(n=3, id="doi:bad", doi="10.1/x)[click](http://evil)").link is None  # not a DOI: no link
