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
