"""Saved PubMed queries: add/list/remove, and runs that fetch only what entered PubMed since the last one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.pubmed import watch_app
from ingest.embeddings import make_embedder
from ingest.pipeline import Ingestor
from ingest.pubmed.eutils import EutilsClient
from ingest.pubmed.watches import WatchBook, run_due_watches
from ingest.settings import Settings
from ingest.store import open_store
from tests.eutils_stub import EutilsStub, Fault, running_stub


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[EutilsStub]:
    for running in running_stub():
        monkeypatch.setenv("LITBOT_EUTILS_URL", running.url)
        yield running


def cli(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    app.add_typer(watch_app, name="watch")
    result = CliRunner().invoke(app, ["watch", *args])
    return result.exit_code, result.output


def test_add_list_remove(settings: Settings) -> None:
    assert cli("add", "hcc", "gut microbiota AND hepatocellular carcinoma", "--since", "2020") == (
        0,
        "watching 'hcc': gut microbiota AND hepatocellular carcinoma\n",
    )
    code, output = cli("add", "hcc", "anything")
    assert (
        code == 1 and output.strip() == "error: a watch named 'hcc' exists — `litbot watch remove hcc` first"
    )
    code, output = cli("add", "no spaces please", "x")
    assert code == 1 and "not a usable watch name" in output
    assert cli("add", "sepsis", "sepsis AND probiotics")[0] == 0

    code, output = cli("list", "--json")
    listed = json.loads(output)
    assert [(w["name"], w["query"], w["since"], w["last_run"]) for w in listed] == [
        ("hcc", "gut microbiota AND hepatocellular carcinoma", "2020", None),
        ("sepsis", "sepsis AND probiotics", None, None),
    ]
    assert "hcc: gut microbiota AND hepatocellular carcinoma (since 2020) — never run" in cli("list")[1]
    assert json.loads((settings.data_dir / "watches.json").read_text())["version"] == 1

    assert cli("remove", "hcc") == (0, "removed 'hcc'\n")
    assert [w["name"] for w in json.loads(cli("list", "--json")[1])] == ["sepsis"]
    code, output = cli("remove", "hcc")
    assert code == 1 and "no watch named 'hcc'" in output

    (settings.data_dir / "watches.json").write_text('{"watches": [{"nme": "typo"}]}')
    code, output = cli("list")
    assert code == 1 and output.startswith("error: cannot read the saved watches in ")
    assert len(output.strip().splitlines()) == 1


@pytest.mark.slow
def test_run_fetches_only_what_is_new_since_the_last_run(settings: Settings, stub: EutilsStub) -> None:
    stub.results = ["9997", "12091962"]  # entered PubMed long ago
    assert cli("add", "hcc", "gut microbiota", "--since", "2020")[0] == 0

    code, output = cli("run", "--json")
    assert code == 0, output
    [first] = json.loads(output)
    assert (first["name"], first["new"], first["count"], first["fetched"]) == ("hcc", 1, 2, 2)
    first_search = stub.requests("esearch")[0].params
    assert first_search["term"] == "(gut microbiota) AND 2020:3000[pdat]"
    assert "mindate" not in first_search  # the first run takes everything (up to --max)

    today = datetime.now(UTC).date()
    stub.results = ["11700088", "9997", "12091962"]
    stub.entry_dates["11700088"] = today  # a new record
    stub.entry_dates["9997"] = today  # re-entered (revised), but already stored
    seen = len(stub.log)
    code, output = cli("run", "hcc", "--json")
    assert code == 0, output
    [second] = json.loads(output)
    assert (second["new"], second["count"], second["fetched"]) == (1, 2, 1)
    search, fetch = stub.log[seen:]
    window = (today - timedelta(days=1)).strftime("%Y/%m/%d")
    assert (search.params["datetype"], search.params["mindate"], search.params["maxdate"]) == (
        "edat",
        window,
        "3000",
    )
    assert fetch.params["id"] == "11700088"  # 9997 was skipped: it is stored

    seen = len(stub.log)
    code, output = cli("run")
    assert code == 0
    assert output == "hcc: 0 new abstracts (2 matching, 0 not yet stored fetched)\n"
    assert [entry.endpoint for entry in stub.log[seen:]] == ["esearch"]  # nothing left to fetch
    [listed] = json.loads(cli("list", "--json")[1])
    assert (listed["last_new"], listed["total_new"]) == (0, 2)
    assert listed["last_run"] is not None


@pytest.mark.slow
def test_run_due_watches_respects_the_interval_and_isolates_failures(
    settings: Settings, stub: EutilsStub
) -> None:
    ncbi = settings.model_copy(update={"eutils_url": stub.url, "watch_interval_hours": 24.0})
    embedder = make_embedder(ncbi)
    ingestor = Ingestor(open_store(ncbi, embedder.name), embedder, ncbi)
    book = WatchBook(ncbi.data_dir)
    book.add("a", "alpha")
    book.add("b", "beta")
    stub.results = ["9997"]
    stub.entry_dates["9997"] = date(2030, 1, 1)  # inside every window below
    stub.faults.append(Fault("esearch", 503, b"busy", times=1, when=lambda p: p["term"] == "alpha"))
    client = EutilsClient(ncbi, max_retries=0)
    start = datetime(2030, 1, 1, 12, tzinfo=UTC)

    results = run_due_watches(ncbi, ingestor, client=client, now=start)
    assert [(r.name, r.new, r.error is not None) for r in results] == [("a", 0, True), ("b", 1, False)]
    assert "HTTP 503" in (results[0].error or "")
    assert [r.note() for r in results] == [
        f"watch a: could not check PubMed ({results[0].error})",
        "1 new abstract on beta (watch b)",
    ]
    assert [w.last_run for w in book.list()] == [None, start.isoformat()]  # a failed run is not recorded

    results = run_due_watches(ncbi, ingestor, client=client, now=start + timedelta(hours=1))
    assert [(r.name, r.new, r.count, r.fetched) for r in results] == [
        ("a", 0, 1, 0)
    ]  # b is not due; 9997 stored
    assert results[0].note() is None

    later = start + timedelta(hours=25)
    assert [r.name for r in run_due_watches(ncbi, ingestor, client=client, now=later)] == ["a", "b"]
    assert run_due_watches(ncbi, ingestor, client=client, now=later) == []
