"""What a new user meets in the first hour, each once a rough edge: offline PubMed, re-ingest summaries, filters
on the bundled sample, wording of notes and counts, the same sources and limits in every front end."""

from __future__ import annotations

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
    assert caught.value.user_message.startswith("cannot reach NCBI: cannot resolve eutils.invalid — are you offline?")


def test_offline_ingest_pubmed_is_one_line_naming_the_host(tmp_path: Path) -> None:
    done = run_litbot("ingest", "--pubmed", "aspirin", env={"LITBOT_EUTILS_URL": OFFLINE_EUTILS})
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: cannot reach NCBI: cannot resolve eutils.invalid — are you offline? — check the connection "
        "(or LITBOT_EUTILS_URL), then rerun the same command"
    ]
