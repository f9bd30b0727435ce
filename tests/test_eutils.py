"""PubMed by query and by identifiers, against a loopback E-utilities server serving real recorded replies."""

from __future__ import annotations

import json
import logging
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from bot.cli.ingest import ingest_command
from ingest import redact
from ingest.embeddings import Embedder, make_embedder
from ingest.pipeline import Ingestor
from ingest.pubmed.cursor import Cursor
from ingest.pubmed.eutils import EutilsClient, EutilsError, RequestPacer
from ingest.pubmed.fetch import PubmedFetcher, PubmedQuery
from ingest.settings import Settings, load_settings
from ingest.store import open_store
from tests.eutils_stub import EFETCH_HEAD, EFETCH_TAIL, FIXTURES, EutilsStub, Fault, running_stub
from tests.store_snapshots import tear_vector_index

KEY = "k3y-that-must-not-leak-0123456789"
# Real recorded records with short abstracts keep embedding cheap; 12091962 has no abstract.
TINY = ["9997", "12091962", "11700088"]


@pytest.fixture
def stub() -> Iterator[EutilsStub]:
    yield from running_stub()


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return make_embedder(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture
def ncbi(settings: Settings, stub: EutilsStub) -> Settings:
    """Settings pointing at the stub, with an API key (10 requests/s keeps the tests quick)."""
    return settings.model_copy(
        update={"eutils_url": stub.url, "ncbi_api_key": SecretStr(KEY), "ncbi_email": "dev@example.org"}
    )


def make_fetcher(
    settings: Settings, embedder: Embedder, batch_size: int = 3, retries: int = 3
) -> PubmedFetcher:
    client = EutilsClient(settings, max_retries=retries, backoff=0.01)
    ingestor = Ingestor(open_store(settings, embedder.name), embedder, settings)
    return PubmedFetcher(client, ingestor, settings.data_dir, batch_size=batch_size)


def cli() -> typer.Typer:
    app = typer.Typer()
    app.command()(ingest_command)
    return app


def test_query_uses_history_server_and_fetches_in_batches(
    ncbi: Settings, stub: EutilsStub, embedder: Embedder
) -> None:
    stub.results = TINY
    fetcher = make_fetcher(ncbi, embedder, batch_size=2)
    outcome = fetcher.fetch_query(PubmedQuery("gut microbiota AND hepatocellular carcinoma"))

    assert outcome.error is None
    assert (outcome.count, outcome.fetched) == (3, 3)
    assert (outcome.report.new, outcome.report.skipped_no_abstract) == (2, 1)
    search = stub.requests("esearch")
    assert len(search) == 1
    assert search[0].params["usehistory"] == "y"
    assert search[0].params["term"] == "gut microbiota AND hepatocellular carcinoma"
    assert (search[0].params["tool"], search[0].params["email"], search[0].params["api_key"]) == (
        "litbot",
        "dev@example.org",
        KEY,
    )
    fetches = stub.requests("efetch")
    assert [(f.params["retstart"], f.params["retmax"]) for f in fetches] == [("0", "2"), ("2", "1")]
    assert all(
        f.params["WebEnv"] == "MCID_" + "1".zfill(24) and f.params["query_key"] == "1" for f in fetches
    )
    assert all((f.params["retmode"], f.params["rettype"]) == ("xml", "abstract") for f in fetches)
    stored = fetcher.ingestor.store.stored_hashes(["pmid:9997", "pmid:11700088", "pmid:12091962"])
    assert sorted(stored) == ["pmid:11700088", "pmid:9997"]
    assert not list((ncbi.data_dir / "eutils").glob("cursor-*.json")), "a finished fetch leaves no cursor"


def test_cli_json_summary_then_rerun_dedups(stub: EutilsStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    stub.results = TINY
    args = ["--pubmed", "gut microbiota", "--since", "2020", "--json"]
    first = CliRunner().invoke(cli(), args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert (summary["query"], summary["count"], summary["fetched"]) == ("pubmed: gut microbiota", 3, 3)
    assert (summary["read"], summary["new"], summary["skipped"]) == (3, 2, 1)  # read = new + ... + skipped
    assert {
        "updated",
        "unchanged",
        "chunks",
        "seconds",
        "store",
        "embedding_model",
        "error",
    } <= summary.keys()
    esearch = stub.requests("esearch")[0].params
    assert (esearch["mindate"], esearch["maxdate"], esearch["datetype"]) == ("2020", "3000", "pdat")

    second = json.loads(CliRunner().invoke(cli(), args).output)
    assert (second["new"], second["unchanged"]) == (0, 2)


def test_dry_run_reports_the_recorded_hit_count_without_fetching(
    stub: EutilsStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    stub.esearch_reply = (FIXTURES / "esearch2.xml").read_bytes()
    args = [
        "--pubmed",
        "cancer",
        "--dry-run",
        "--since",
        "2025/09/27",
        "--until",
        "2025-11-26",
        "--date-type",
        "edat",
    ]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    assert "42249 PubMed records match 'cancer'" in result.output
    assert "2025/09/27:2025/11/26[Date - Entry]" in result.output
    assert stub.requests("efetch") == []
    params = stub.requests("esearch")[0].params
    assert (params["mindate"], params["maxdate"], params["datetype"]) == ("2025/09/27", "2025/11/26", "edat")
    assert "usehistory" not in params


def test_max_caps_what_is_fetched(ncbi: Settings, stub: EutilsStub, embedder: Embedder) -> None:
    stub.results = ["12091962", "9997", "11700088", "29768149"]
    outcome = make_fetcher(ncbi, embedder, batch_size=1).fetch_query(PubmedQuery("x", max=2))
    assert (outcome.count, outcome.fetched, outcome.report.new) == (4, 2, 1)
    assert [(f.params["retstart"], f.params["retmax"]) for f in stub.requests("efetch")] == [
        ("0", "1"),
        ("1", "1"),
    ]
    assert stub.fetched_pmids() == ["12091962", "9997"]


def test_bad_dates_and_options_are_one_line_errors(stub: EutilsStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    result = CliRunner().invoke(cli(), ["--pubmed", "x", "--since", "last year"])
    assert result.exit_code == 2
    assert "is not a date" in result.output and "Traceback" not in result.output
    result = CliRunner().invoke(cli(), ["--pubmed", "x", "--date-type", "mdat"])
    assert result.exit_code == 2 and "--date-type" in result.output
    assert stub.log == []


def search_x(client: EutilsClient) -> tuple[str, str]:
    result = client.esearch("x")
    assert result.webenv and result.query_key
    return result.webenv, result.query_key


def test_throttled_request_waits_for_retry_after(ncbi: Settings, stub: EutilsStub) -> None:
    stub.faults.append(Fault("efetch", 429, b'{"error":"API rate limit exceeded"}', {"Retry-After": "1"}))
    with EutilsClient(ncbi, backoff=0.01) as client:
        body = client.efetch_history(*search_x(client), 0, 2)
    assert body.count(b"<PubmedArticle>") == 2
    throttled, retried = stub.requests("efetch")
    assert retried.params == throttled.params
    assert retried.at - throttled.at >= 0.9  # the server asked for 1 s; backoff alone would be 0.01 s


def test_server_error_mid_batch_is_retried(ncbi: Settings, stub: EutilsStub, embedder: Embedder) -> None:
    stub.results = ["12091962", "9997"]
    stub.faults.append(
        Fault("efetch", 500, b"Internal Server Error", times=2, when=lambda p: p["retstart"] == "1")
    )
    outcome = make_fetcher(ncbi, embedder, batch_size=1).fetch_query(PubmedQuery("x"))
    assert outcome.error is None and outcome.report.new == 1
    assert [f.params["retstart"] for f in stub.requests("efetch")] == ["0", "1", "1", "1"]


def test_truncated_body_is_retried_then_reported(ncbi: Settings, stub: EutilsStub) -> None:
    record = stub.records["9997"]
    cut = EFETCH_HEAD + record[: len(record) // 2]
    stub.faults.append(Fault("efetch", 200, cut, {"Content-Type": "text/xml"}, times=1))
    with EutilsClient(ncbi, backoff=0.01) as client:
        history = search_x(client)
        assert client.efetch_history(*history, 0, 3).rstrip().endswith(b"</PubmedArticleSet>")
        assert len(stub.requests("efetch")) == 2

        stub.faults.append(Fault("efetch", 200, cut, times=-1))
        with pytest.raises(EutilsError) as caught:
            client.efetch_history(*history, 3, 3)
    assert caught.value.user_message.startswith(
        "NCBI efetch failed 3 times; last: a PubMed XML reply that breaks off before its end"
    )
    assert caught.value.retryable
    assert len(stub.requests("efetch")) == 5  # a reply that stays broken is retried twice, not five times


def test_connection_cut_mid_body_is_retried(
    ncbi: Settings, stub: EutilsStub, caplog: pytest.LogCaptureFixture
) -> None:
    whole = (FIXTURES / "pubmed2.xml").read_bytes()
    stub.faults.append(Fault("efetch", 200, whole[: len(whole) // 2], missing_bytes=len(whole) // 2))
    with EutilsClient(ncbi, backoff=0.01) as client:
        body = client.efetch_ids(["11748933", "11700088"])
    assert body.count(b"<PubmedArticle>") == 2
    assert len(stub.requests("efetch")) == 2
    assert "network error (RemoteProtocolError)" in caplog.text


def test_html_error_page_is_a_clear_error(ncbi: Settings, stub: EutilsStub) -> None:
    page = (FIXTURES / "pubmed3.html").read_bytes()
    stub.faults.append(Fault("efetch", 200, page, {"Content-Type": "text/html"}, times=-1))
    with EutilsClient(ncbi, backoff=0.01) as client, pytest.raises(EutilsError) as caught:
        client.efetch_ids(["19304878"])
    assert "an HTML page ('PmFetch response') instead of PubMed XML" in caught.value.user_message
    assert "check LITBOT_EUTILS_URL" in caught.value.user_message


def test_refused_query_is_one_line_without_the_key(stub: EutilsStub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    monkeypatch.setenv("LITBOT_NCBI_API_KEY", KEY)
    stub.faults.append(Fault("esearch", 400, json.dumps({"error": f"bad key {KEY}"}).encode(), times=-1))
    result = CliRunner().invoke(cli(), ["--pubmed", "x"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: NCBI refused the esearch request (HTTP 400): bad key ***"
    ]
    assert len(stub.log) == 1  # a refusal is not retried


def test_interrupted_fetch_resumes_where_it_stopped(
    ncbi: Settings, stub: EutilsStub, embedder: Embedder
) -> None:
    stub.results = TINY
    stub.faults.append(Fault("efetch", 503, b"busy", times=-1, when=lambda p: p["retstart"] == "1"))
    fetcher = make_fetcher(ncbi, embedder, batch_size=1, retries=1)
    first = fetcher.fetch_query(PubmedQuery("x"))
    assert first.error is not None and "HTTP 503" in first.error
    assert first.report.failed_inputs == ["pubmed: x"]
    assert fetcher.ingestor.store.count_articles() == 1  # batch 1 is in
    assert len(list((ncbi.data_dir / "eutils").glob("cursor-*.json"))) == 1

    stub.faults.clear()
    seen = len(stub.log)
    second = fetcher.fetch_query(PubmedQuery("x"))
    assert second.error is None and second.resumed
    rerun = stub.log[seen:]
    assert [r.endpoint for r in rerun] == ["efetch", "efetch"]  # no new search, batch 1 not fetched again
    assert [r.params["retstart"] for r in rerun] == ["1", "2"]
    assert (second.report.new, fetcher.ingestor.store.count_articles()) == (1, 2)


def test_resume_after_the_history_server_forgot(ncbi: Settings, stub: EutilsStub, embedder: Embedder) -> None:
    stub.results = TINY
    stub.faults.append(Fault("efetch", 503, b"busy", times=-1, when=lambda p: p["retstart"] == "1"))
    fetcher = make_fetcher(ncbi, embedder, batch_size=1, retries=0)
    assert fetcher.fetch_query(PubmedQuery("x")).error is not None
    stub.faults.clear()
    stub.webenvs.clear()  # NCBI forgot the WebEnv
    seen = len(stub.log)
    outcome = fetcher.fetch_query(PubmedQuery("x"))
    assert outcome.error is None and outcome.resumed
    rerun = stub.log[seen:]
    assert [r.endpoint for r in rerun] == ["efetch", "esearch", "efetch", "efetch"]  # refused, searched again
    assert "usehistory" not in rerun[1].params
    assert [r.params["id"] for r in rerun[2:]] == ["12091962", "11700088"]  # 9997 was done
    assert fetcher.ingestor.store.count_articles() == 2


def test_a_stale_cursor_searches_again_and_skips_what_was_done(
    ncbi: Settings, stub: EutilsStub, embedder: Embedder
) -> None:
    stub.results = TINY
    stub.faults.append(Fault("efetch", 503, b"busy", times=-1, when=lambda p: p["retstart"] == "1"))
    fetcher = make_fetcher(ncbi, embedder, batch_size=1, retries=0)
    assert fetcher.fetch_query(PubmedQuery("x")).error is not None
    [path] = (ncbi.data_dir / "eutils").glob("cursor-*.json")
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "searched_at": state["searched_at"] - 24 * 3600}))  # a day old
    stub.faults.clear()
    seen = len(stub.log)
    assert fetcher.fetch_query(PubmedQuery("x")).error is None
    assert [(r.endpoint, r.params.get("id")) for r in stub.log[seen:]] == [
        ("esearch", None),
        ("efetch", "12091962"),
        ("efetch", "11700088"),
    ]


def test_more_than_pubmed_serves_is_said(ncbi: Settings, stub: EutilsStub, embedder: Embedder) -> None:
    stub.esearch_reply = (FIXTURES / "esearch2.xml").read_bytes()  # 42,249 hits
    stub.faults.append(Fault("efetch", 400, b'{"error":"stop here"}', times=-1))
    outcome = make_fetcher(ncbi, embedder).fetch_query(PubmedQuery("cancer"))
    assert outcome.count == 42249
    assert outcome.warnings == [
        "42249 records match; PubMed serves only the first 10,000 of a search "
        "(narrow it, e.g. with --since/--until)"
    ]
    assert outcome.error == "NCBI refused the efetch request (HTTP 400): stop here"


@pytest.mark.slow
def test_rate_limit_spaces_requests_without_a_key(settings: Settings, stub: EutilsStub) -> None:
    plain = settings.model_copy(update={"eutils_url": stub.url})
    with EutilsClient(plain) as client:
        assert client.limiter.interval == pytest.approx(1 / 3)
        history = search_x(client)
        for start in range(6):
            client.efetch_history(*history, start, 1)
    arrivals = [entry.at for entry in stub.log]
    assert len(arrivals) == 7 and "api_key" not in stub.log[0].params
    # Sent at least 1/3 s apart; arrival times jitter on a busy machine, so compare spans, generously:
    # 6 intervals take >= 2 s, and any 4 consecutive requests span >= 1 s (unthrottled: a few ms).
    assert arrivals[-1] - arrivals[0] >= 1.5
    assert min(b - a for a, b in zip(arrivals, arrivals[3:], strict=False)) >= 0.6


def test_rate_limiter_is_shared_by_threads() -> None:
    limiter = RequestPacer(20.0)
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        limiter.wait()
        with lock:
            stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Six calls in 0.05 s slots: the last cannot return before five slots have passed (however loaded the
    # machine, load only makes this later; a pacer that let threads race for one slot returns them together).
    assert max(stamps) - started >= 5 * 0.05 - 0.01


def test_api_key_is_sent_but_never_logged_or_printed(
    stub: EutilsStub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    monkeypatch.setenv("LITBOT_NCBI_API_KEY", KEY)
    stub.results = ["12091962"]  # no abstract: nothing to embed
    throttled = json.dumps({"error": "API rate limit exceeded", "api-key": KEY}).encode()
    stub.faults.append(Fault("efetch", 429, throttled, {"Retry-After": "0"}))
    caplog.set_level(logging.DEBUG)
    result = CliRunner().invoke(cli(), ["--pubmed", "x"])
    assert result.exit_code == 0, result.output
    assert "1 matching, 1 fetched" in result.output
    assert all(entry.params["api_key"] == KEY for entry in stub.log)
    assert len(stub.requests("efetch")) == 2  # the 429 was retried (and logged)
    assert "retrying" in caplog.text and "127.0.0.1" in caplog.text  # httpx logged its requests too
    assert KEY not in result.output and KEY not in caplog.text
    assert all(KEY not in p.read_text(errors="ignore") for p in tmp_path.rglob("*.json"))


def test_pmids_and_an_ids_file_with_dois(
    stub: EutilsStub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    ids = tmp_path / "ids.txt"
    ids.write_text(
        "# my reading list\n11700088\nhttps://doi.org/10.1117/1.JMI.5.2.026002\n10.9999/none\nnonsense\n"
    )
    args = ["--pmid", "9997,12091962", "9997", "--ids-file", str(ids), "--json"]  # `--pmid A B` works too
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)  # one list: the PMIDs given and those in the file
    assert (summary["new"], summary["skipped_no_abstract"], summary["count"]) == (3, 1, 4)
    [fetch] = stub.requests("efetch")
    assert fetch.params["id"] == "9997,12091962,11700088,29963580"
    assert (
        stub.requests("esearch")[-1].params["term"]
        == '"10.1117/1.jmi.5.2.026002"[doi] OR "10.9999/none"[doi]'
    )
    assert any("10.9999/none" in p and "not found" in p for p in summary["problems"])
    assert any("'nonsense'" in p for p in summary["problems"])


def test_cursor_file_is_written_atomically(ncbi: Settings) -> None:
    cursor = Cursor("abc", count=5, done=["1", "2"])
    cursor.save(ncbi.data_dir)
    assert Cursor.load(ncbi.data_dir, "abc") == cursor
    assert [p.name for p in (ncbi.data_dir / "eutils").iterdir()] == ["cursor-abc.json"]


# --- replies that must not be trusted: size, time, redirects, echoed keys ------------------------------------
MB = 2**20


def flood(total: int) -> Callable[[], Iterator[bytes]]:
    """A reply that starts like PubMed XML and keeps coming, fast: ``total`` bytes in 64 KB pieces."""
    piece = b"<!-- padding -->" * 4096

    def pieces() -> Iterator[bytes]:
        yield EFETCH_HEAD
        for _ in range(total // len(piece)):
            yield piece

    return pieces


@pytest.mark.parametrize("claimed", [5 * 10**9, None], ids=["content-length-5GB", "chunked-endless"])
def test_a_reply_over_the_size_cap_is_cut_off_early(
    ncbi: Settings, stub: EutilsStub, claimed: int | None
) -> None:
    headers = {"Content-Length": str(claimed)} if claimed else {}
    big = Fault("efetch", headers=headers, stream=flood(64 * MB))
    stub.faults.append(big)
    tracemalloc.start()
    try:
        with (
            EutilsClient(ncbi, backoff=0.01, max_reply_bytes=MB) as client,
            pytest.raises(EutilsError) as caught,
        ):
            client.efetch_ids(["9997"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "larger than the 1 MB cap per reply" in caught.value.user_message
    assert (
        not caught.value.retryable and len(stub.requests("efetch")) == 1
    )  # the same request would do it again
    assert big.finished.wait(10) and big.hung_up
    assert big.sent < 16 * MB  # the client hung up long before the 64 MB were out...
    assert peak < 8 * MB  # ...and never held more than about the cap


def test_a_trickling_reply_hits_the_deadline_and_is_retried(
    ncbi: Settings, stub: EutilsStub, caplog: pytest.LogCaptureFixture
) -> None:
    whole = EFETCH_HEAD + stub.records["9997"] + b"\n" + EFETCH_TAIL
    pieces = [whole[i : i + 128] for i in range(0, len(whole), 128)]  # ~40 pieces, 0.2 s apart: 8 s in all
    trickle = Fault("efetch", headers={"Content-Length": str(len(whole))}, stream=lambda: pieces, pace=0.2)
    stub.faults.append(trickle)
    started = time.monotonic()
    with EutilsClient(
        ncbi, backoff=0.01, deadline=1.0
    ) as client:  # each read is quick: the 60 s timeout never trips
        body = client.efetch_ids(["9997"])
    assert time.monotonic() - started < 4.0
    assert body == whole  # from the second, prompt reply
    assert len(stub.requests("efetch")) == 2
    assert "network error (no complete reply within 1 s)" in caplog.text
    assert trickle.finished.wait(5) and trickle.hung_up


@pytest.fixture
def elsewhere() -> Iterator[EutilsStub]:
    """A second loopback E-utilities server: another host as far as the client can tell (another port)."""
    yield from running_stub()


def origin(url: str) -> str:
    return url.split("/entrez/")[0]


@pytest.mark.parametrize("status", [307, 302])
def test_a_redirect_to_another_host_is_refused_and_that_host_gets_nothing(
    ncbi: Settings, stub: EutilsStub, elsewhere: EutilsStub, status: int
) -> None:
    away = f"{elsewhere.url}efetch.fcgi?api_key={KEY}"
    stub.faults.append(Fault("efetch", status, headers={"Location": away}, times=-1))
    with EutilsClient(ncbi, backoff=0.01) as client, pytest.raises(EutilsError) as caught:
        client.efetch_ids(["9997"])
    assert elsewhere.log == []  # neither the form (with the key) nor anything else went there
    message = caught.value.user_message
    assert f"from {origin(stub.url)} to another host, {origin(elsewhere.url)}" in message
    assert KEY not in message and not caught.value.retryable
    assert len(stub.requests("efetch")) == 1


@pytest.mark.parametrize("status", [302, 307])
def test_a_redirect_on_the_same_host_is_followed_with_the_same_form(
    ncbi: Settings, stub: EutilsStub, status: int
) -> None:
    stub.faults.append(Fault("efetch", status, headers={"Location": "/moved/efetch.fcgi"}))
    with EutilsClient(ncbi, backoff=0.01) as client:
        body = client.efetch_ids(["9997"])
    assert body.count(b"<PubmedArticle>") == 1
    first, moved = stub.requests("efetch")
    assert (first.path, moved.path) == ("/entrez/eutils/efetch.fcgi", "/moved/efetch.fcgi")
    assert moved.params == first.params  # the parameters went along (a GET without them would be useless)


def test_endless_redirects_on_the_same_host_are_a_clear_error(ncbi: Settings, stub: EutilsStub) -> None:
    stub.faults.append(Fault("efetch", 307, headers={"Location": "efetch.fcgi"}, times=-1))
    with EutilsClient(ncbi, backoff=0.01) as client, pytest.raises(EutilsError) as caught:
        client.efetch_ids(["9997"])
    assert "redirected more than 3 times" in caught.value.user_message
    assert len(stub.requests("efetch")) == 4


ECHO_PAGE = b"<html><head><title>Error: {request}</title></head><body><pre>{request}</pre></body></html>"


@pytest.mark.parametrize(
    ("endpoint", "status", "body"),
    [
        ("efetch", 500, ECHO_PAGE),  # retried, then given up
        ("efetch", 200, ECHO_PAGE),  # a page instead of XML: its title goes into the retry lines
        ("efetch", 200, b"<eFetchResult><ERROR>Cannot serve {request}</ERROR></eFetchResult>"),
        ("esearch", 200, b"<eSearchResult><ERROR>Invalid {request}</ERROR></eSearchResult>"),
    ],
    ids=["efetch-500-page", "efetch-200-page", "efetch-error", "esearch-error"],
)
def test_a_server_echoing_the_request_never_gets_the_key_into_a_log_line_or_an_error(
    settings: Settings,
    stub: EutilsStub,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    status: int,
    body: bytes,
) -> None:
    key = f"echoed-{uuid.uuid4().hex}"  # registered by nobody but the client (settings built directly)
    ncbi = settings.model_copy(update={"eutils_url": stub.url, "ncbi_api_key": SecretStr(key)})
    stub.faults.append(Fault(endpoint, status, body, {"Content-Type": "text/html"}, times=-1, reflect=True))
    caplog.set_level(logging.DEBUG)
    with EutilsClient(ncbi, max_retries=2, backoff=0.01) as client, pytest.raises(EutilsError) as caught:
        client.esearch("x") if endpoint == "esearch" else client.efetch_ids(["9997"])
    assert stub.log[0].params["api_key"] == key  # sent, and echoed back in the reply
    for text in (caplog.text, str(caught.value), caught.value.user_message):
        assert key not in text
    assert redact.redact(f"later: {key}") == "later: ***"  # registered for every other log line too


def test_a_store_torn_by_a_killed_process_is_repaired_before_a_fetch(
    stub: EutilsStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`litbot ingest --pubmed` after a litbot process died writing the store: repaired first, then the fetch
    runs as it would have (what is stored is skipped)."""
    monkeypatch.setenv("LITBOT_EUTILS_URL", stub.url)
    stub.results = TINY
    args = ["--pubmed", "gut microbiota", "--json"]
    assert CliRunner().invoke(cli(), args).exit_code == 0
    tear_vector_index(load_settings().chroma_path, died_during_its_turn=True)
    again = CliRunner().invoke(cli(), args)
    assert again.exit_code == 0, again.output
    assert "stopped while writing it; repairing it first" in again.stderr and "repaired in" in again.stderr
    summary = json.loads(again.stdout)
    assert (summary["new"], summary["unchanged"], summary["error"]) == (0, 2, None)
