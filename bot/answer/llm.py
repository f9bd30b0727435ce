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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from bot.answer.citations import CitationRewriter, Composed, citations_for
from bot.answer.evidence import finding_of
from bot.answer.gate import Verdict
from bot.answer.prompting import Prompts, format_passages
from bot.errors import Cancelled, LLMError, LLMRateLimited, LLMRejected, LLMUnavailable
from bot.types import REFUSAL, Usage
from ingest.articles import untrusted
from ingest.files import retry_after
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


class ChatLLM:
    """One chat model shared by every thread (the openai client is thread-safe)."""

    def __init__(self, settings: Settings, backoff: float = 1.0, max_backoff: float = 20.0) -> None:
        from langchain_openai import ChatOpenAI

        self.model_name = settings.llm_model
        self.max_retries = settings.llm_max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.server = settings.openai_base_url or "the OpenAI API"
        self._chat = ChatOpenAI(
            model=settings.llm_model,
            api_key=settings.openai_api_key or SecretStr("not-needed"),  # Ollama, vLLM... want none
            base_url=settings.openai_base_url,
            timeout=settings.llm_timeout,
            max_retries=0,
            temperature=settings.llm_temperature,
            stream_usage=True,
        )

    def generate(
        self,
        system: str | None,
        user: str,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> LLMResult:
        """Send one request (streamed when ``on_text`` is given), retrying what is worth retrying."""
        emitted = [False]

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
                return self._once(system, user, forward if on_text else None, cancel)
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
    ) -> LLMResult:
        from langchain_core.messages import HumanMessage, SystemMessage

        messages = ([SystemMessage(system)] if system else []) + [HumanMessage(user)]
        if on_text is None:
            reply = self._chat.invoke(messages)
            usage: dict[str, Any] = dict(reply.usage_metadata or {})
            return LLMResult(
                untrusted(_text(reply.content)), usage.get("input_tokens", 0), usage.get("output_tokens", 0)
            )
        result = LLMResult("")
        parts: list[str] = []
        finished = False
        stream = self._chat.stream(messages)
        try:
            for chunk in stream:
                _check(cancel)
                piece = untrusted(_text(chunk.content))  # a model may echo escape codes from its input
                if piece:
                    parts.append(piece)
                    on_text(piece)
                finished = finished or bool(chunk.response_metadata.get("finish_reason"))
                if chunk.usage_metadata:
                    result.prompt_tokens = chunk.usage_metadata.get("input_tokens", 0)
                    result.completion_tokens = chunk.usage_metadata.get("output_tokens", 0)
        finally:
            getattr(stream, "close", lambda: None)()  # closes the HTTP response when cancelled mid-stream
        if not finished:  # the connection closed mid-answer: half an answer must not pass for a whole one
            raise _CutOff()
        result.text = "".join(parts)
        return result

    def _translate(self, exc: Exception) -> tuple[LLMError, float | None]:
        """Our error for a client exception, and the server's Retry-After (seconds) if it sent one."""
        import httpx
        import openai

        where = f"the LLM server ({self.server}, model {self.model_name!r})"
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
            return LLMRejected(f"{where} refused the request (HTTP {status})"), None
        return LLMUnavailable(f"{where} failed: {type(exc).__name__}"), None


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
        articles = [e.article for e in evidence]
        missing = verdict.missing_text if verdict.outcome == "partial" else []
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

        passages = [Passage(e.article.metadata, [" ".join(s.text for s in e.sentences)]) for e in evidence]
        user = self.prompts.answer_message(question, format_passages(passages), len(articles), missing)
        result = self.llm.generate(self.prompts.system_message(), user, on_text, cancel)
        tail = rewriter.finish()
        usage = Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=cost_usd(self.llm.model_name, result.prompt_tokens, result.completion_tokens),
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


@dataclass(frozen=True)
class Passage:
    """What the model is shown of one article: its metadata and its whole abstract."""

    metadata: Mapping[str, Any]
    passages: list[str]
