"""A real HTTP server on 127.0.0.1 that speaks OpenAI's /v1/chat/completions, scripted per test.

It answers plain JSON or server-sent events (``stream: true``, with a final usage chunk when
``stream_options.include_usage`` is set), and can be told to be slow, rate-limit (429) or fail (5xx). Tests
point ``OPENAI_BASE_URL`` at :attr:`OpenAIStub.url` and drive the real openai client and LangChain through it.

``OpenAIStub(llama_cpp=2048)`` behaves as llama-cpp-python's server with a 2,048-token context does (seen on
2026-12-04 with llama-cpp-python 0.3.36 serving Gemma 3 270M): no usage in a stream, whatever
``stream_options`` says; ``max_tokens`` obeyed (finish_reason "length") and cut to what the context leaves; a
prompt of ``context`` tokens or more refused — a 400 ``context_length_exceeded`` when not streamed, a 200 whose
event stream ends before its first event when streamed. Its tokens are :func:`tokens`'s, rougher than a
model's. ``Reply.repeat`` and ``Reply.endless`` make a reply that ignores ``max_tokens``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class Reply:
    """One scripted response."""

    text: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before anything is sent
    chunk_delay: float = 0.0  # seconds between streamed chunks
    headers: dict[str, str] = field(default_factory=dict)
    usage: tuple[int, int] = (120, 30)  # prompt, completion tokens
    cut: bool = False  # stream only: close the connection after the text, without finish_reason or [DONE]
    repeat: int = 1  # the text this many times over (a server ignoring max_tokens)
    endless: bool = False  # stream only: the text again and again until the client hangs up (or 100 MB)


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    def content(self, role: str) -> str:
        return "\n".join(str(m.get("content", "")) for m in self.messages if m.get("role") == role)


def tokens(text: str) -> list[str]:
    """Split text roughly as a model streams it: words with their leading space, brackets apart."""
    return re.findall(r"\s*[^\s\[\]]+|\s*[\[\]]|\s+", text)


def prompt_tokens(body: dict[str, Any]) -> int:
    """The stub's count of a request's prompt: its messages' tokens, plus 4 per message for the template."""
    messages = body.get("messages", [])
    return sum(len(tokens(str(m.get("content", "")))) + 4 for m in messages)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        stub = self.server.stub
        request = Request(self.path, body, {k.lower(): v for k, v in self.headers.items()})
        reply = stub.side_reply(request)
        if reply is None:
            stub.requests.append(request)
            reply = stub.next_reply()
        try:
            if reply.delay and stub.stopping.wait(reply.delay):
                return
            context = stub.llama_cpp
            if not self.path.endswith("/chat/completions"):
                self._json(
                    404, {"error": {"message": f"unknown path {self.path}", "type": "invalid_request"}}
                )
            elif context and prompt_tokens(body) >= context:
                self._context_exceeded(body, context)
            elif reply.status != 200:
                error = {"message": f"scripted HTTP {reply.status}", "type": "server_error", "code": None}
                self._json(reply.status, {"error": error}, reply.headers)
            elif body.get("stream"):
                self._stream(body, reply)
            else:
                self._json(200, self._completion(body, reply))
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout under test)
            pass

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _context_exceeded(self, body: dict[str, Any], context: int) -> None:
        """llama-cpp-python's refusal of a prompt that fills the context (its own words and status)."""
        if body.get("stream"):  # the event stream has started (200) when the model refuses: it just ends
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        asked = prompt_tokens(body)
        message = (
            f"This model's maximum context length is {context} tokens. However, you requested "
            f"{asked + int(body.get('max_tokens') or 0)} tokens ({asked} in the messages, "
            f"{body.get('max_tokens')} in the completion). Please reduce the length of the messages or completion."
        )
        error = {"message": message, "type": "invalid_request_error", "param": "messages",
                 "code": "context_length_exceeded"}  # fmt: skip
        self._json(400, {"error": error})

    def _text(self, body: dict[str, Any], reply: Reply) -> tuple[list[str], str]:
        """The reply's tokens and finish reason, as a server obeying max_tokens (llama_cpp) would send them."""
        pieces = tokens(reply.text) * reply.repeat
        context = self.server.stub.llama_cpp
        if not context:
            return pieces, "stop"
        limit = min(int(body.get("max_tokens") or context), context - prompt_tokens(body))
        return (pieces[:limit], "length") if len(pieces) > limit else (pieces, "stop")

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        prompt, completion = reply.usage
        pieces, reason = self._text(body, reply)
        return {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                         "finish_reason": reason, "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        }  # fmt: skip

    def _stream(self, body: dict[str, Any], reply: Reply) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": body.get("model", "stub")}  # fmt: skip
        pieces, reason = self._text(body, reply)
        deltas = [{"role": "assistant", "content": ""}] + [{"content": t} for t in pieces]
        for i, delta in enumerate(deltas):
            if i and reply.chunk_delay and self.server.stub.stopping.wait(reply.chunk_delay):
                return
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        sent = 0
        while reply.endless and sent < 100 * 2**20:  # until the client hangs up (BrokenPipeError)
            event = {
                **base,
                "choices": [{"index": 0, "delta": {"content": reply.text}, "finish_reason": None}],
            }
            sent += self._event(event)
        if reply.cut:
            return
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
        if body.get("stream_options", {}).get("include_usage") and not self.server.stub.llama_cpp:
            prompt, completion = reply.usage
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
            self._event({**base, "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any]) -> int:
        data = b"data: " + json.dumps(payload).encode() + b"\n\n"
        self.wfile.write(data)
        self.wfile.flush()
        return len(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: OpenAIStub


#: What an unscripted side request reports it used (a real server reports usage; 0/0 would read as "not
#: reported", and litbot would count the tokens itself).
SIDE_USAGE = (30, 1)
#: The side requests litbot makes for plain-language questions (bot/answer/lay_llm.py), told apart by the first
#: line of their prompt files: they have queues of their own, so scripts for the answer stay in order.
PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
SIDE_PROMPTS = {
    name: (PROMPTS / f"{name}.md").read_text(encoding="utf-8").splitlines()[0]
    for name in ("lay_terms", "coverage")
}


class OpenAIStub:
    """Start with ``with OpenAIStub() as stub:``; script replies with :meth:`script` (a queue, then
    :attr:`default` for every later request); inspect :attr:`requests` afterwards. The lay-term and coverage
    requests are answered from :meth:`script_side` (default "none") and recorded in :attr:`side_requests`."""

    def __init__(self, default: Reply | None = None, llama_cpp: int | None = None) -> None:
        self.default = default or Reply("No scripted reply.")
        self.llama_cpp = llama_cpp  # context tokens: behave as llama-cpp-python's server (module docstring)
        self.replies: deque[Reply] = deque()
        self.requests: list[Request] = []
        self.side_replies: dict[str, deque[Reply]] = {name: deque() for name in SIDE_PROMPTS}
        self.side_requests: dict[str, list[Request]] = {name: [] for name in SIDE_PROMPTS}
        self.side_used: list[tuple[int, int] | None] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-stub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply | str) -> None:
        with self._lock:
            self.replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self.replies.popleft() if self.replies else self.default

    def script_side(self, name: str, *replies: Reply | str) -> None:
        """Replies to the ``lay_terms`` or ``coverage`` requests, in order (then "none")."""
        with self._lock:
            self.side_replies[name].extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def side_reply(self, request: Request) -> Reply | None:
        text = request.content("user")
        for name, first_line in SIDE_PROMPTS.items():
            if text.startswith(first_line):
                with self._lock:
                    self.side_requests[name].append(request)
                    queue = self.side_replies[name]
                    reply = queue.popleft() if queue else Reply("none", usage=SIDE_USAGE)
                    self.side_used.append(reply.usage)
                    return reply
        return None

    def side_tokens(self) -> tuple[int, int]:
        """(prompt, completion) tokens the side requests so far reported: what an answer's usage adds."""
        with self._lock:
            used = [u for u in self.side_used if u is not None]
            return sum(u[0] for u in used), sum(u[1] for u in used)

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
