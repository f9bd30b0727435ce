"""A real HTTP server on 127.0.0.1 that speaks OpenAI's /v1/embeddings: cheap hashed bag-of-words vectors.

Tests whose point is not the embedding model (crash, kill and rerun, concurrency, hostile inputs, CLI plumbing)
point the `litbot` they run at it with :meth:`EmbeddingsStub.env`, through the real OpenAI embedder: the same
pipeline, store and lexical index, without loading MiniLM and running it on every chunk. Shared words mean
similar vectors, so retrieval still finds what it should. The MiniLM path stays covered by the tests whose
point it is (the model, its vectors, answers on the mini corpus).

It can be told to answer wrongly (a vector too many or too few, or too short), to delay each reply (an ingest that takes a while, to kill at a random moment) or to hold every
request from the n-th on until released (an ingest stopped exactly mid-run, whatever the machine's speed).
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

MODEL = "openai:hashed-words"
DIM = 128


def vector(text: str) -> list[float]:
    """A deterministic pseudo-embedding: words hashed into DIM buckets (the client normalises it)."""
    vec = np.zeros(DIM)
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        vec[zlib.crc32(word.encode()) % DIM] += 1.0
    if not vec.any():
        vec[0] = 1.0
    return [float(x) for x in vec]


@dataclass
class Request:
    path: str
    model: str
    inputs: list[str]
    auth: str | None


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm holds the body until the
    # client's delayed ACK (~40 ms on Linux), charged to every request.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        stub = self.server.stub
        number = stub.arrived(Request(self.path, body["model"], inputs, self.headers.get("Authorization")))
        stub.wait_turn(number)
        data = [{"object": "embedding", "index": i, "embedding": vector(t)} for i, t in enumerate(inputs)]
        if stub.miscount > 0:  # a broken server: vectors for texts it was not sent
            data += [
                {"object": "embedding", "index": len(data) + i, "embedding": vector("x")}
                for i in range(stub.miscount)
            ]
        elif stub.miscount < 0:
            data = data[: stub.miscount]
        if stub.dimension is not None:
            data = [{**d, "embedding": d["embedding"][: stub.dimension]} for d in data]
        data.reverse()  # the API does not promise order; litbot must sort by index
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        payload = json.dumps(
            {"object": "list", "data": data, "model": body["model"], "usage": usage}
        ).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client was killed while it waited
            pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: EmbeddingsStub


class EmbeddingsStub:
    """Start with ``with EmbeddingsStub() as stub:``; give a process :meth:`env`; inspect :attr:`requests`."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.delay = 0.0  # seconds before each reply
        self.miscount = 0  # vectors more (or fewer, when negative) than texts in each reply
        self.dimension: int | None = None  # cut every vector to this many numbers
        self._hold_from: int | None = None
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="embeddings-stub", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def env(self) -> dict[str, str]:
        """Environment for a `litbot` that embeds here; LITBOT_LLM=false keeps its answers extractive (the base
        URL would otherwise switch the LLM on)."""
        return {
            "LITBOT_EMBEDDING_MODEL": MODEL,
            "OPENAI_BASE_URL": self.url,
            "OPENAI_API_KEY": "sk-embeddings-stub",
            "LITBOT_LLM": "false",
            "LITBOT_LLM_MAX_RETRIES": "0",
        }

    def reset(self) -> None:
        """Forget earlier requests, delays and holds (the stub is shared by a worker's tests)."""
        with self._changed:
            self.requests.clear()
            self.delay = 0.0
            self.miscount = 0
            self.dimension = None
            self._hold_from = None
            self._changed.notify_all()

    def hold_from(self, number: int) -> None:
        """Answer requests 1..number-1 at once and hold every later one until :meth:`release`."""
        with self._changed:
            self._hold_from = number

    def release(self) -> None:
        with self._changed:
            self._hold_from = None
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 120) -> bool:
        """Wait until ``count`` requests have arrived (answered or held)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def arrived(self, request: Request) -> int:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()
            return len(self.requests)

    def wait_turn(self, number: int) -> None:
        if self.delay and self._stopping.wait(self.delay):
            return
        with self._changed:
            self._changed.wait_for(
                lambda: self._stopping.is_set() or self._hold_from is None or number < self._hold_from
            )

    def __enter__(self) -> EmbeddingsStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
