"""LLM mode: the chat model (LangChain over the openai client) and the cited answer it writes.

This is the only module that imports LangChain or the OpenAI chat client, and it is imported only when an LLM
is configured, so extractive mode starts without them. Retries are ours, not the client's: the whole request
is retried on timeouts, connection errors, 429 and 5xx with exponential backoff (honouring Retry-After), but
never after text has reached the caller, so a stream is never duplicated.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bot.answer.budget import PER_MESSAGE, ContextTooSmall, TokenCounter, answer_room, fit_passages
from bot.answer.citations import CitationRewriter, Composed, citations_for
from bot.answer.evidence import finding_of
from bot.answer.gate import Verdict
from bot.answer.prompting import Prompts, format_passages
from bot.answer.reply_cap import capped_client, too_large_in
from bot.errors import (
    Cancelled,
    LLMContextOverflow,
    LLMError,
    LLMRateLimited,
    LLMRejected,
    LLMUnavailable,
)
from bot.types import REFUSAL, Usage
from ingest.articles import untrusted
from ingest.files import retry_after
from ingest.safe_text import safe_text
from ingest.settings import Settings

log = logging.getLogger(__name__)

#: USD per million (input, output) tokens of OpenAI's own models; dated snapshots match by prefix.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60), "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60), "gpt-4.1-nano": (0.10, 0.40), "gpt-4-turbo": (10.00, 30.00),
    "gpt-3.5-turbo": (0.50, 1.50), "o3-mini": (1.10, 4.40), "o4-mini": (1.10, 4.40),
    "gpt-5": (1.25, 10.00), "gpt-5-mini": (0.25, 2.00), "gpt-5-nano": (0.05, 0.40),
}  # fmt: skip
_WS = re.compile(r"\s+")
#: A reply is read up to this many characters per max_tokens, then cut off: no tokenizer's tokens are that long
#: on average, so only a server that ignores max_tokens (or repeats itself without end) ever reaches it.
REPLY_CHARS_PER_TOKEN = 16
#: Bytes of one HTTP reply, at most (bot.answer.reply_cap): streamed events carry ~250 bytes of JSON per token.
REPLY_BYTES_PER_TOKEN = 1024
REPLY_BYTES_FLOOR = 256 * 1024
#: What servers say when the prompt does not fit (llama.cpp, llama-cpp-python, OpenAI, vLLM).
_CONTEXT_FULL = re.compile(
    r"context (?:length|window|size)|exceeds? (?:the )?(?:available )?context|maximum context|n_ctx"
    r"|prompt is too long|too many tokens",
    re.IGNORECASE,
)
#: Tokens the follow-up rewrite may take: one question on one line.
CONDENSE_MAX_TOKENS = 120
CUT_OFF_NOTE = " … (cut off: the answer reached its length limit)"


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Price of a call for a known OpenAI model (longest matching name), else None."""
    name = model.lower().removeprefix("openai/")
    known = [m for m in PRICES_PER_MTOK if name == m or name.startswith(m + "-")]
    if not known:
        return None
    price_in, price_out = PRICES_PER_MTOK[max(known, key=len)]
    return round((prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000, 6)


@dataclass
class LLMResult:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False  # the server reported no usage: counted here (bot.answer.budget)
    cut_off: bool = False  # the reply reached max_tokens or the reply cap; ``text`` is what came before


class ChatLLM:
    """One chat model shared by every thread (the openai client is thread-safe)."""

    def __init__(self, settings: Settings, backoff: float = 1.0, max_backoff: float = 20.0) -> None:
        from langchain_openai import ChatOpenAI

        self.model_name = settings.llm_model
        self.max_retries = settings.llm_max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.server = settings.openai_base_url or "the OpenAI API"
        self.max_tokens = settings.llm_max_tokens
        self.context = settings.llm_context
        self.max_reply_chars = REPLY_CHARS_PER_TOKEN * self.max_tokens
        self.max_reply_bytes = REPLY_BYTES_FLOOR + REPLY_BYTES_PER_TOKEN * self.max_tokens
        self.tokens = TokenCounter()
        # OpenAI takes max_completion_tokens (LangChain sends max_tokens as that); llama.cpp, Ollama, vLLM and
        # LM Studio all read max_tokens, and some ignore the other name: each gets its own.
        base = settings.openai_base_url
        self._openai = base is None or "api.openai.com" in base
        self._chat = ChatOpenAI(
            model=settings.llm_model,
            api_key=settings.openai_api_key or SecretStr("not-needed"),  # Ollama, vLLM... want none
            base_url=base,
            timeout=settings.llm_timeout,
            max_retries=0,
            temperature=settings.llm_temperature,
            stream_usage=True,
            http_client=capped_client(self.max_reply_bytes),
        )

    def count_prompt(self, system: str | None, user: str) -> int:
        """Estimated prompt tokens of one request (chat-template markers included)."""
        messages = [m for m in (system, user) if m]
        return sum(self.tokens.count(m) for m in messages) + PER_MESSAGE * len(messages)

    def count_prompt_part(self, user: str) -> int:
        """Estimated tokens of a user message, its template markers included."""
        return self.tokens.count(user) + PER_MESSAGE

    def generate(
        self,
        system: str | None,
        user: str,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
        max_tokens: int | None = None,
    ) -> LLMResult:
        """Send one request (streamed when ``on_text`` is given), retrying what is worth retrying; the model
        may write ``max_tokens`` (default: the setting). Usage the server does not report is counted here."""
        emitted = [False]
        limit = max(1, min(max_tokens or self.max_tokens, self.max_tokens))

        def forward(piece: str) -> None:
            emitted[0] = True
            if on_text is not None:
                try:
                    on_text(piece)
                except BaseException as exc:  # the caller's problem, not the server's: never retried
                    raise _CallerError(exc) from exc

        for attempt in range(self.max_retries + 1):
            _check(cancel)
            try:
                try:
                    result = self._once(system, user, forward if on_text else None, cancel, limit)
                except _Silent:
                    # A stream that ended before its first event: llama.cpp's servers do that when the prompt
                    # does not fit. The same request unstreamed says why (a 400, not retried) or answers.
                    result = self._once(system, user, None, cancel, limit)
                    if on_text is not None and result.text:
                        forward(result.text)
                if not (result.prompt_tokens or result.completion_tokens):  # e.g. stream_options ignored
                    result.prompt_tokens = self.count_prompt(system, user)
                    result.completion_tokens = self.tokens.count(result.text)
                    result.estimated = True
                return result
            except (Cancelled, LLMError):
                raise
            except _CallerError as wrapped:
                raise wrapped.error from None
            except Exception as exc:
                error, wait = self._translate(exc)
                if not error.retryable or attempt == self.max_retries or emitted[0]:
                    raise error from exc
                delay = min(
                    wait if wait is not None else self.backoff * 2**attempt * random.uniform(0.5, 1.0),
                    self.max_backoff,
                )
                log.info("LLM request failed (%s); retry %d in %.1f s", error.message, attempt + 1, delay)
                if cancel is not None and cancel.wait(delay):
                    raise Cancelled() from None
                if cancel is None:
                    time.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(
        self,
        system: str | None,
        user: str,
        on_text: Callable[[str], None] | None,
        cancel: threading.Event | None,
        max_tokens: int,
    ) -> LLMResult:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(user)]
        model = self._chat.bind(
            **({"max_tokens": max_tokens} if self._openai else {"extra_body": {"max_tokens": max_tokens}})
        )
        if on_text is None:
            reply = model.invoke(messages)
            usage: dict[str, Any] = dict(reply.usage_metadata or {})
            text = untrusted(_text(reply.content))
            cut_off = reply.response_metadata.get("finish_reason") == "length"
            if len(text) > self.max_reply_chars:
                text, cut_off = text[: self.max_reply_chars], True
            return LLMResult(
                text, usage.get("input_tokens", 0), usage.get("output_tokens", 0), cut_off=cut_off
            )
        result = LLMResult("")
        parts: list[str] = []
        size = 0
        finished = silent = False
        stream = model.stream(messages)
        try:
            silent = True
            for chunk in stream:
                silent = False
                _check(cancel)
                piece = untrusted(_text(chunk.content))  # a model may echo escape codes from its input
                if size + len(piece) > self.max_reply_chars:  # a server ignoring max_tokens: read no further
                    piece, result.cut_off = piece[: self.max_reply_chars - size], True
                if piece:
                    parts.append(piece)
                    size += len(piece)
                    on_text(piece)
                if result.cut_off:
                    break
                reason = chunk.response_metadata.get("finish_reason")
                finished = finished or bool(reason)
                result.cut_off = result.cut_off or reason == "length"
                if chunk.usage_metadata:
                    result.prompt_tokens = chunk.usage_metadata.get("input_tokens", 0)
                    result.completion_tokens = chunk.usage_metadata.get("output_tokens", 0)
        except Exception as exc:
            if silent and isinstance(exc, ValueError):  # LangChain's "No generation chunks were returned"
                raise _Silent() from exc
            if too_large_in(exc) is None or not parts:
                raise
            result.cut_off = True  # past the byte cap mid-answer: keep what came, as for max_tokens
        finally:
            getattr(stream, "close", lambda: None)()  # closes the HTTP response when cancelled mid-stream
        if silent:
            raise _Silent()
        if not (finished or result.cut_off):  # the connection closed mid-answer: not a whole answer
            raise _CutOff()
        result.text = "".join(parts)
        return result

    def _translate(self, exc: Exception) -> tuple[LLMError, float | None]:
        """Our error for a client exception, and the server's Retry-After (seconds) if it sent one."""
        import httpx
        import openai

        where = f"the LLM server ({self.server}, model {self.model_name!r})"
        said = _server_message(exc)
        if _CONTEXT_FULL.search(said):  # the same prompt would fail again: no retry
            return LLMContextOverflow(
                f"the prompt is longer than {where} can take ({said})",
                f"set LITBOT_LLM_CONTEXT to the server's context size (now {self.context}); litbot then "
                "fits the passages to it",
            ), None
        if (too_large := too_large_in(exc)) is not None:
            return LLMRejected(
                f"{where} sent a reply larger than {too_large.cap:,} bytes; not read further",
                "check the server: it seems to ignore max_tokens",
            ), None
        if isinstance(exc, _CutOff):
            return LLMUnavailable(f"the reply from {where} was cut off before it finished", "try again"), None
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            return LLMUnavailable(
                f"{where} did not answer in time", "try again, or raise LITBOT_LLM_TIMEOUT"
            ), None
        if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
            return LLMUnavailable(
                f"cannot reach {where}", "check OPENAI_BASE_URL and that the server is up"
            ), None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            wait = retry_after(exc.response.headers, self.max_backoff)
            if status == 429:
                return LLMRateLimited(
                    f"{where} is rate-limiting requests (429)", "wait a minute and retry"
                ), wait
            if status >= 500 or status in (408, 409):
                return LLMUnavailable(f"{where} failed with HTTP {status}", "try again later"), wait
            if status in (401, 403):
                return LLMRejected(
                    f"{where} rejected the API key (HTTP {status})", "check OPENAI_API_KEY"
                ), None
            if status == 404:
                return LLMRejected(f"{where} does not know the model (404)", "check LITBOT_LLM_MODEL"), None
            return LLMRejected(f"{where} refused the request (HTTP {status}: {said})"), None
        return LLMUnavailable(f"{where} failed: {type(exc).__name__}" + (f": {said}" if said else "")), None


def _server_message(exc: Exception) -> str:
    """What the server said about a failure, in one short, inert line ("" when it said nothing): an error
    body's message (HTTP 4xx/5xx, an error event mid-stream, or a 200 reply holding an error object, which
    LangChain raises as a ValueError)."""
    import openai

    if isinstance(exc, openai.APIError):
        said: object = exc.message
        body = exc.body
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            said = body["message"]
    elif isinstance(exc, ValueError) and exc.args:
        said = exc.args[0]
        if isinstance(said, dict):
            said = said.get("message") or said
    else:
        return ""
    text = safe_text(str(said), one_line=True).strip()
    return text[:200] + ("…" if len(text) > 200 else "")


class _Silent(Exception):
    """The stream ended before its first event (the server refused the request after its 200)."""


class _CutOff(Exception):
    """The stream ended without a finish reason (the server or a proxy dropped the connection)."""


class _CallerError(Exception):
    """An exception raised by the caller's ``on_text`` callback, carried through LangChain unchanged."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content if b)
    return ""


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()


def is_refusal(text: str) -> bool:
    """Whether the model's text opens with the refusal sentence (quotes and case aside)."""
    norm = _WS.sub(" ", text.replace("’", "'")).strip().lower()
    return norm.startswith(REFUSAL.lower().rstrip("."))


class LLMAnswerer:
    """Numbered passages in, a streamed answer with renumbered, checked citations out."""

    mode = "llm"

    def __init__(self, llm: ChatLLM, prompts: Prompts) -> None:
        self.llm = llm
        self.prompts = prompts

    def answer(
        self,
        question: str,
        verdict: Verdict,
        on_token: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> Composed:
        """Stream the model's answer from the articles that cleared the gate (for a partial verdict, told
        what none of them covers); text is held back until it cites a passage, so a refusal or an uncited
        answer never reaches ``on_token`` as anything but the refusal sentence."""
        evidence = [c.evidence for c in verdict.coverage]
        missing = verdict.missing_text if verdict.outcome == "partial" else []
        system = self.prompts.system_message()
        passages = self._fit(
            question,
            system,
            [Passage(e.article.metadata, [" ".join(s.text for s in e.sentences)]) for e in evidence],
            missing,
        )
        evidence = evidence[: len(passages)]
        articles = [e.article for e in evidence]
        user = self.prompts.answer_message(question, format_passages(passages), len(passages), missing)
        room = self.llm.context - self.llm.count_prompt(system, user)
        rewriter = CitationRewriter(len(articles))
        held: list[str] = []
        sent: list[str] = []

        def on_text(piece: str) -> None:
            out = rewriter.feed(piece)
            if sent:
                _send(out)
                return
            held.append(out)
            if rewriter.has_citations and not is_refusal("".join(held)):
                _send("".join(held).lstrip())
                held.clear()

        def _send(out: str) -> None:
            if out:
                sent.append(out)
                if on_token is not None:
                    on_token(out)

        result = self.llm.generate(system, user, on_text, cancel, max_tokens=room)
        tail = rewriter.finish() + (CUT_OFF_NOTE if result.cut_off else "")
        usage = Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=cost_usd(self.llm.model_name, result.prompt_tokens, result.completion_tokens),
            estimated=result.estimated,
        )
        text = ("".join(sent) + "".join(held) + tail).strip()
        if not rewriter.has_citations or is_refusal(text):
            if not sent and on_token is not None:
                on_token(REFUSAL)
            return Composed(REFUSAL, refused=True, usage=usage, missing=verdict.missing_text)
        if sent and tail and on_token is not None:
            on_token(tail)
        used = {n: a.passages for n, a in enumerate(articles, start=1)}
        findings = {n: finding_of(e) for n, e in enumerate(evidence, start=1)}
        citations = citations_for(rewriter.order, articles, used, findings)
        return Composed(text, citations, usage=usage, missing=missing)

    def _fit(
        self, question: str, system: str, passages: list[Passage], missing: Sequence[str]
    ) -> list[Passage]:
        """The passages (best first) that fit in the model's context with the instructions, the question and
        room for the answer: the weakest dropped first, the best one shortened if it alone is too long."""
        llm = self.llm
        room = answer_room(llm.max_tokens, llm.context)
        budget = llm.context - room - llm.count_prompt(system, "")

        def render(chosen: Sequence[Passage]) -> str:
            return self.prompts.answer_message(question, format_passages(chosen), len(chosen), missing)

        try:
            fitted = fit_passages(passages, render, Passage.shortened, llm.count_prompt_part, budget)
        except ContextTooSmall as exc:
            raise LLMContextOverflow(
                f"the instructions, the question and one passage need about {exc.needed} tokens more than the "
                f"system message; LITBOT_LLM_CONTEXT={llm.context} leaves {max(exc.window, 0)} for them after "
                f"the system message and {room} tokens kept for the answer",
                "raise the server's context size and LITBOT_LLM_CONTEXT, or lower LITBOT_LLM_MAX_TOKENS",
            ) from None
        if len(fitted) < len(passages) or fitted[:1] != passages[:1]:
            log.info(
                "prompt fitted to a %d-token context: %d of %d passages%s",
                llm.context,
                len(fitted),
                len(passages),
                " (the best one shortened)" if fitted[:1] != passages[:1] else "",
            )
        return fitted


@dataclass(frozen=True)
class Passage:
    """What the model is shown of one article: its metadata and its whole abstract."""

    metadata: Mapping[str, Any]
    passages: list[str]

    def shortened(self, words: int) -> Passage:
        """The same passage with only its first ``words`` words of text."""
        text = " ".join(self.passages).split()
        return self if len(text) <= words else Passage(self.metadata, [" ".join(text[:words]) + " …"])
