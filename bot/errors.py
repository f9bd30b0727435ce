"""Errors of the answering side (the language model and cancellation), on top of litbot's domain errors.

Front ends show ``user_message`` (one line, never a secret); ``retryable`` tells them whether "try again in a
moment" is honest advice.
"""

from __future__ import annotations

from ingest.errors import ConfigError, LitbotError

__all__ = [
    "Cancelled",
    "ConfigError",
    "LLMContextOverflow",
    "LLMError",
    "LLMRateLimited",
    "LLMRejected",
    "LLMUnavailable",
]


class LLMError(LitbotError):
    """The language model could not produce an answer."""


class LLMUnavailable(LLMError):
    """The LLM server timed out, could not be reached or failed (5xx), even after retries."""

    retryable = True


class LLMRateLimited(LLMUnavailable):
    """The LLM server kept answering 429 (rate limit or quota) after retries."""


class LLMRejected(LLMError):
    """The LLM server refused the request for a reason retrying cannot fix (bad key, unknown model, 4xx)."""


class LLMContextOverflow(LLMRejected):
    """The prompt does not fit in the model's context window; the same request would fail again."""


class Cancelled(LitbotError):
    """The caller cancelled the question (a new question, Ctrl-C, a closed Discord interaction)."""

    def __init__(self, message: str = "cancelled", hint: str | None = None) -> None:
        super().__init__(message, hint)
