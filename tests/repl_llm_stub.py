"""A loopback OpenAI-compatible server for the REPL tests: streams an answer word by word, slow on demand.

It answers ``POST /v1/chat/completions`` (streamed as server-sent events, or as one JSON reply) with a fixed
text citing passage [1]. When the request mentions ``SLOW`` each word waits ``slow_delay`` seconds, so a test
can press Ctrl-C mid-answer; a client that hangs up is counted in ``disconnects``. Bounded: at most
``max_words`` words per reply, and it serves only 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = (
    "Headgear did not clearly prevent concussion in the rugby players studied [1]. "
    "The authors found no significant difference in concussion rates between players who wore it and "
    "players who did not [1]."
)


class StubLLM(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, slow_delay: float = 0.5, max_words: int = 400) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.slow_delay = slow_delay
        self.max_words = max_words
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self._thread = threading.Thread(target=self.serve_forever, name="stub-llm", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def __enter__(self) -> StubLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: StubLLM

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        self.server.requests.append(body)
        prompt = json.dumps(body.get("messages", []))
        slow = "SLOW" in prompt
        words = ANSWER.split(" ")
        if slow:  # long enough that the test has time to interrupt it
            words = (words * (self.server.max_words // len(words) + 1))[: self.server.max_words]
        if not body.get("stream"):
            self._send_json(_completion(body, " ".join(words)))
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        try:
            for i, word in enumerate(words):
                self._event(_chunk(body, word if i == 0 else " " + word))
                if slow:
                    time.sleep(self.server.slow_delay)
            self._event(_chunk(body, None, finish="stop"))
            self._event({**_chunk(body, None), "choices": [], "usage": _usage(len(words))})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.server.disconnects += 1

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()

    def _send_json(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _usage(words: int) -> dict[str, int]:
    return {"prompt_tokens": 100, "completion_tokens": words, "total_tokens": 100 + words}


def _chunk(body: dict[str, Any], text: str | None, finish: str | None = None) -> dict[str, Any]:
    delta = {"role": "assistant", "content": text} if text is not None else {}
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(body: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": _usage(len(text.split())),
    }


if __name__ == "__main__":  # for trying the REPL by hand: OPENAI_BASE_URL=<printed url> litbot chat
    with StubLLM() as stub:
        print(stub.base_url, flush=True)
        threading.Event().wait(600)
