"""What a new user meets in the first hour, each once a rough edge: offline PubMed, re-ingest summaries, filters
on the bundled sample, wording of notes and counts, the same sources and limits in every front end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.pubmed.eutils import EutilsClient, EutilsError
from ingest.settings import Settings
from tests.cli_runner import run_litbot

OFFLINE_EUTILS = "https://eutils.invalid/entrez/eutils/"  # .invalid never resolves (RFC 2606)


def test_an_unresolvable_ncbi_is_named_and_tried_only_twice(settings: Settings) -> None:
    waits: list[float] = []
    offline = settings.model_copy(update={"eutils_url": OFFLINE_EUTILS})
    with EutilsClient(offline, sleep=waits.append) as client, pytest.raises(EutilsError) as caught:
        client.esearch("aspirin")
    assert len(waits) == 1  # one retry (a lookup may fail once in passing), not five with backoff
    assert caught.value.user_message.startswith(
        "cannot reach NCBI: cannot resolve eutils.invalid — are you offline?"
    )


def test_offline_ingest_pubmed_is_one_line_naming_the_host(tmp_path: Path) -> None:
    done = run_litbot("ingest", "--pubmed", "aspirin", env={"LITBOT_EUTILS_URL": OFFLINE_EUTILS})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: cannot reach NCBI: cannot resolve eutils.invalid — are you offline? — check the connection "
        "(or LITBOT_EUTILS_URL), then rerun the same command"
    ]


def _csv(path: Path, version: str, count: int = 7) -> Path:
    rows = [
        f"{i},Title {i},Abstract {i} about rugby headgear and concussion in {version} players."
        for i in range(1, count + 1)
    ]
    path.write_text("pmid,title,abstract\n" + "\n".join(rows) + "\n")
    return path


def test_a_re_ingest_names_what_it_updated(tmp_path: Path, hashed_embeddings: object) -> None:
    one = _csv(tmp_path / "one.csv", "first", count=1)
    first = run_litbot("ingest", str(one))
    assert "1 chunk written" in first.stdout and "1 chunks" not in first.stdout
    assert "100% read, embedding the first articles…" in first.stderr and "0 articles" not in first.stderr
    assert "updated:" not in first.stdout
    again = run_litbot("ingest", str(_csv(one, "second", count=1)))
    assert again.stdout.splitlines()[1:] == ["  updated: pmid:1 “Title 1”"]

    many = _csv(tmp_path / "many.csv", "first")
    run_litbot("ingest", str(many))
    done = run_litbot("ingest", str(_csv(many, "second")))
    assert "0 new, 7 updated" in done.stdout
    assert done.stdout.splitlines()[1:] == [
        *(f"  updated: pmid:{i} “Title {i}”" for i in range(1, 6)),
        "  ... and 2 more updated (see --json)",
    ]
    report = json.loads(run_litbot("ingest", str(_csv(many, "third")), "--json").stdout)
    assert report["updated_articles"] == [{"id": f"pmid:{i}", "title": f"Title {i}"} for i in range(1, 8)]


NEJM = "The New England journal of medicine"
ARTICLES = (
    "pmid,title,abstract,journal,year,retracted\n"
    "11,Arnica after rhinoplasty,Arnica reduced bruising after rhinoplasty in a randomised trial of 40 patients.,"
    f"Plast Surg,2015,true\n"
    "12,Budesonide-formoterol as needed in mild asthma,As-needed budesonide-formoterol reduced severe asthma "
    f"exacerbations compared with terbutaline in patients with mild asthma.,{NEJM},2018,\n"
    "13,Headgear in rugby,Rugby headgear did not prevent concussion in this cohort of school players.,,2002,\n"
)


@pytest.fixture
def small_store(tmp_path: Path) -> Path:
    data = tmp_path / "articles.csv"
    data.write_text(ARTICLES)
    assert run_litbot("ingest", str(data)).returncode == 0
    return data


def test_the_medline_abbreviation_of_a_journal_matches_it(small_store: Path) -> None:
    question = "Does as-needed budesonide-formoterol reduce asthma exacerbations?"
    done = run_litbot("ask", question, "--journal", "N Engl J Med", "--json")
    citations = json.loads(done.stdout)["citations"]
    assert [c["pmid"] for c in citations] == ["12"]
    assert json.loads(run_litbot("ask", question, "--journal", "Lancet", "--json").stdout)["refused"]


def test_a_filter_no_article_can_match_says_so(small_store: Path) -> None:
    done = run_litbot(
        "ask", "Does rugby headgear prevent concussion?", "--journal", "surgery", "--type", "rct"
    )
    notes = [line for line in done.stderr.splitlines() if line.startswith("note: ")]
    assert notes == [
        'note: no article\'s journal is "surgery" (articles in this store with a journal name: 2 of 3); no '
        "article is of type rct (articles in this store with a study type: 0 of 3; study types come from PubMed's "
        "publication types, which the bundled sample lacks)"
    ]


def test_a_withheld_retracted_article_is_not_contradicted_by_the_not_found_note(small_store: Path) -> None:
    done = run_litbot("ask", "Does arnica reduce bruising after rhinoplasty?")
    assert "1 retracted article matched and was left out of the answer" in done.stdout
    assert "Not found in the indexed abstracts" not in done.stdout  # they hold it: it is the retracted one


def test_the_not_found_note_beside_a_withheld_article_speaks_of_the_others() -> None:
    from bot.render import answer_notes
    from bot.types import REFUSAL, Answer, Citation

    withheld = [
        Citation(n=1, id="pmid:11", title="Arnica after rhinoplasty", pmid="11", retraction="retracted")
    ]
    kwargs = {
        "question": "q",
        "standalone_question": "q",
        "text": REFUSAL,
        "mode": "extractive",
        "refused": True,
    }
    answer = Answer(**kwargs, missing=["arnica", "rhinoplasty"], withheld=withheld)  # type: ignore[arg-type]
    assert answer_notes(answer)[1] == "Not found in the other indexed abstracts: arnica, rhinoplasty."
    alone = Answer(**kwargs, missing=["arnica"])  # type: ignore[arg-type]
    assert answer_notes(alone) == ["Not found in the indexed abstracts: arnica."]


def test_a_title_ending_in_a_question_mark_gets_no_second_stop() -> None:
    from bot.render import source_line
    from bot.types import Citation

    asked = Citation(n=1, id="pmid:1", title="Is it safe during IVF?", year=2011, pmid="1")
    assert source_line(asked) == "[1] Is it safe during IVF? 2011. https://pubmed.ncbi.nlm.nih.gov/1/"
    plain = Citation(n=2, id="pmid:2", title="A trial.", journal="Gut", year=2020)
    assert source_line(plain) == "[2] A trial. Gut, 2020."


def test_stats_mode_means_what_chat_stats_means(small_store: Path) -> None:
    from bot.chat import ChatHandler
    from ingest.settings import load_settings

    cli = json.loads(run_litbot("stats", "--json").stdout)
    chat = ChatHandler.from_settings(load_settings()).stats()
    assert cli["mode"] == chat["mode"] == "extractive" and cli["llm_model"] == chat["llm_model"]
    assert cli["store_type"] == "embedded" and cli["articles"] == chat["articles"] == 3


@pytest.mark.parametrize("command", ["ask", "chat"])
def test_k_has_the_same_bounds_in_ask_and_chat(command: str) -> None:
    args = ["Does rugby headgear prevent concussion?"] if command == "ask" else []
    for k, bound in (("0", "greater than or equal to 1"), ("51", "less than or equal to 50")):
        done = run_litbot(command, *args, "--k", k)
        assert done.returncode == 2 and "Invalid value for '--k'" in done.stderr and bound in done.stderr
