"""Faults at the edges: the Chroma server going away and coming back, and LLM servers that are slow, throttle,
fail, or send broken bytes (bad JSON, an HTML page, a cut body, a stream that stops or stalls mid-way).

Every fault must end as one clear :class:`LitbotError` line (retryable where waiting helps) and never as a hang
or a traceback; the Chroma case must recover on the same handler once the server is back.

The byte-level LLM failures come from :class:`BrokenLLMStub` below (tests/openai_stub.py scripts only
well-formed replies); both are real HTTP servers on 127.0.0.1 driven through the real openai client.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.chat import ChatHandler
from bot.errors import LLMRateLimited, LLMUnavailable
from ingest.embeddings import make_embedder
from ingest.errors import LitbotError, StoreUnavailable
from ingest.pipeline import Ingestor, ingest_inputs
from ingest.settings import Settings
from ingest.store import open_store

from .conftest import MINI_CORPUS
from .openai_stub import OpenAIStub, Reply

RUGBY, RUGBY_PMID = "Does rugby headgear prevent concussion?", "11867487"
BIN = Path(sys.executable).parent


MODES = (
    "bad_json",
    "html_page",
    "cut_body",
    "empty_choices",
    "stream_cut",
    "stream_stall",
    "stream_bad_event",
    "stream_error_event",
)
_BASE = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "created": 0, "model": "stub"}


def _chunk(text: str) -> bytes:
    payload = {**_BASE, "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        stub = self.server.stub
        stub.requests.append(body)
        mode = stub.mode
        try:
            if mode.startswith("stream_") and body.get("stream"):
                self._stream(mode)
            else:
                self._plain(mode)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _plain(self, mode: str) -> None:
        if mode == "html_page":
            data, kind = b"<html><body>502 Bad Gateway</body></html>", "text/html"
        elif mode == "empty_choices":
            data, kind = (
                json.dumps({"id": "x", "object": "chat.completion", "choices": []}).encode(),
                "application/json",
            )
        else:
            data, kind = b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "Pla', "application/json"
        self.send_response(200)
        self.send_header("content-type", kind)
        length = len(data) + (500 if mode == "cut_body" else 0)
        self.send_header("content-length", str(length))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        if mode == "cut_body":
            self.close_connection = True

    def _stream(self, mode: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(_chunk("Players wear headgear [1]"))
        self.wfile.write(_chunk(" but the study"))
        self.wfile.flush()
        if mode == "stream_stall":
            self.server.stub.stopping.wait(30)
        elif mode == "stream_bad_event":
            self.wfile.write(b"data: {this is not json\n\n")
        elif mode == "stream_error_event":
            error = {"error": {"message": "upstream overloaded", "type": "server_error"}}
            self.wfile.write(b"data: " + json.dumps(error).encode() + b"\n\n")
        self.wfile.flush()  # stream_cut: no finish_reason, no [DONE]; the connection just closes


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: BrokenLLMStub


class BrokenLLMStub:
    """``with BrokenLLMStub("stream_cut") as stub:``; point OPENAI_BASE_URL at ``stub.url``."""

    def __init__(self, mode: str) -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> BrokenLLMStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        time.sleep(0.05)
        self._server.shutdown()
        self._server.server_close()


# --- the Chroma server stopped and restarted under a live handler --------------------------------------------


class ChromaServer:
    """`chroma run` on 127.0.0.1 that can be stopped and started again on the same port and data folder."""

    def __init__(self, data: Path, log: Path) -> None:
        self.data, self.log = data, log
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        command = [str(BIN / "chroma"), "run", "--path", str(self.data), "--host", "127.0.0.1"]
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([*command, "--port", str(self.port)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def settings(self, data_dir: Path) -> Settings:
        return Settings(_env_file=None, chroma_host="127.0.0.1", chroma_port=self.port, data_dir=data_dir)  # type: ignore[call-arg]


def small_corpus(folder: Path, pmids: tuple[str, ...] = (RUGBY_PMID,), extra: int = 7) -> Path:
    """A few real PubMedQA lines (the given PMIDs + the first ``extra``): cheap to embed."""
    lines = (MINI_CORPUS / "pubmedqa-mini.jsonl").read_text(encoding="utf-8").splitlines()
    chosen = [line for line in lines if json.loads(line)["pmid"] in pmids]
    chosen += [line for line in lines if line not in chosen][:extra]
    path = folder / "small.jsonl"
    path.write_text("\n".join(chosen) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "server-data", tmp_path / "chroma.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.server
@pytest.mark.slow
def test_chroma_server_restart_mid_session_recovers_on_the_same_handler(
    chroma: ChromaServer, tmp_path: Path
) -> None:
    settings = chroma.settings(tmp_path / "data")
    embedder = make_embedder(settings)
    ingest_inputs(
        [str(small_corpus(tmp_path))], Ingestor(open_store(settings, embedder.name), embedder, settings)
    )
    handler = ChatHandler.from_settings(settings)
    session = handler.new_session()
    assert RUGBY_PMID in [c.pmid for c in session.ask(RUGBY).citations]

    chroma.stop()
    for _ in range(2):  # twice: a failed request must not leave the handler broken for the next one
        with pytest.raises(LitbotError) as caught:
            session.ask("Does a special interest in laparoscopy affect the treatment of cholecystitis?")
        error = caught.value
        assert isinstance(error, StoreUnavailable) and error.retryable
        assert "Chroma server" in error.user_message and str(chroma.port) in error.user_message
        assert "Traceback" not in error.user_message and "\n" not in error.user_message

    chroma.start()
    again = session.ask(RUGBY)
    assert RUGBY_PMID in [c.pmid for c in again.citations]
    assert RUGBY_PMID in [c.pmid for c in handler.new_session().ask(RUGBY).citations]


# --- LLM faults ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(mini_store_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One read-only copy of the mini store for the LLM cases here."""
    path = tmp_path_factory.mktemp("faults-store") / "chroma"
    shutil.copytree(mini_store_template, path)
    return Settings(_env_file=None, chroma_path=path, data_dir=path.parent / "data")  # type: ignore[call-arg]


def llm_handler(store: Settings, url: str, **overrides: object) -> ChatHandler:
    update = {"openai_base_url": url, "openai_api_key": SecretStr("sk-test"), "llm_timeout": 1.0,
              "llm_max_retries": 1, **overrides}  # fmt: skip
    handler = ChatHandler.from_settings(store.model_copy(update=update), llm_backoff=0.01)
    assert handler.mode == "llm"
    return handler


@pytest.fixture(scope="module")
def broken(store: Settings) -> Iterator[tuple[BrokenLLMStub, ChatHandler]]:
    with BrokenLLMStub("bad_json") as stub:
        yield stub, llm_handler(store, stub.url)


@pytest.fixture(scope="module")
def scripted(store: Settings) -> Iterator[tuple[OpenAIStub, ChatHandler]]:
    with OpenAIStub() as stub:
        yield stub, llm_handler(store, stub.url, llm_timeout=0.5)


def ask_in_thread(handler: ChatHandler, stream: bool, limit: float = 120.0) -> BaseException | object:
    """Ask on a worker thread and wait at most ``limit``: a hang fails the test instead of blocking it."""
    outcome: list[BaseException | object] = []
    tokens: list[str] = []

    def work() -> None:
        try:
            outcome.append(handler.new_session().ask(RUGBY, on_token=tokens.append if stream else None))
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(limit)
    assert outcome, "the question hung"
    return outcome[0]


def assert_clear(error: object) -> LitbotError:
    assert isinstance(error, LitbotError), repr(error)
    message = error.user_message
    assert message and "\n" not in message and "Traceback" not in message and "sk-test" not in message
    return error


@pytest.mark.parametrize("mode", MODES)  # stream_cut: was returned as a complete answer until c3fbb80
def test_broken_llm_replies_are_one_clear_error(broken: tuple[BrokenLLMStub, ChatHandler], mode: str) -> None:
    stub, handler = broken
    stub.mode, before = mode, len(stub.requests)
    error = assert_clear(ask_in_thread(handler, stream=True))
    assert isinstance(error, LLMUnavailable) and error.retryable
    assert len(stub.requests) > before


@pytest.mark.parametrize(
    ("reply", "expected", "fragment"),
    [
        (Reply("late [1].", delay=3.0), LLMUnavailable, "did not answer in time"),
        (Reply("Players rarely wear it [1]. It stalls here", chunk_delay=2.0), LLMUnavailable, "in time"),
        (Reply(status=429, headers={"retry-after": "0"}), LLMRateLimited, "429"),
        (Reply(status=500), LLMUnavailable, "HTTP 500"),
    ],
    ids=["slow-first-byte", "stream-stalls", "rate-limited", "server-error"],
)
def test_slow_throttled_and_failing_llm_never_hangs(
    scripted: tuple[OpenAIStub, ChatHandler], reply: Reply, expected: type[LitbotError], fragment: str
) -> None:
    stub, handler = scripted
    stub.default, before = reply, len(stub.requests)
    error = assert_clear(ask_in_thread(handler, stream=True))
    assert isinstance(error, expected) and error.retryable and fragment in error.user_message
    assert len(stub.requests) > before
