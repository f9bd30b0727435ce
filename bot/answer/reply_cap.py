"""A byte cap on every reply from the LLM server, below the OpenAI client, streamed or not.

``max_tokens`` asks the model to stop; a server that ignores it (or a proxy gone wrong) could still send a
60 MB reply, which the OpenAI client would read whole — and a single server-sent event of that size is one
line it holds in memory before parsing it. The HTTP client built here refuses a reply whose Content-Length is
over the cap before reading it, and stops reading one that keeps coming past it (:class:`ReplyTooLarge`), so
memory stays bounded whatever the server sends. ``bot.answer.llm`` keeps a streamed answer read up to the
cap (marked cut off) and reports a non-streamed one as too large.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2


class ReplyTooLarge(Exception):
    """The LLM server's reply passed the byte cap; nothing more of it was read."""

    def __init__(self, cap: int, detail: str) -> None:
        super().__init__(f"the reply is larger than {cap:,} bytes ({detail})")
        self.cap = cap


def too_large_in(exc: BaseException | None) -> ReplyTooLarge | None:
    """The :class:`ReplyTooLarge` behind ``exc``, if any (the OpenAI client and LangChain wrap it)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ReplyTooLarge):
            return exc
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


class _CappedStream(httpx2.SyncByteStream):
    """The body of one response, read through a byte counter."""

    def __init__(self, inner: httpx2.SyncByteStream, cap: int) -> None:
        self.inner = inner
        self.cap = cap

    def __iter__(self) -> Iterator[bytes]:
        size = 0
        for chunk in self.inner:
            size += len(chunk)
            if size > self.cap:
                raise ReplyTooLarge(self.cap, "it kept coming past the cap")
            yield chunk

    def close(self) -> None:
        self.inner.close()


def capped_client(cap: int) -> httpx2.Client:
    """An HTTP client for the OpenAI client whose every response body stops at ``cap`` bytes."""
    import openai

    def cap_response(response: httpx2.Response) -> None:
        claimed = response.headers.get("content-length", "")
        if claimed.isdigit() and int(claimed) > cap:
            response.close()
            raise ReplyTooLarge(cap, f"it announced {int(claimed):,} bytes")
        if isinstance(response.stream, httpx2.SyncByteStream):  # the sync client's, always
            response.stream = _CappedStream(response.stream, cap)

    return openai.DefaultHttpxClient(event_hooks={"response": [cap_response]})
