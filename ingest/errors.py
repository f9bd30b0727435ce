"""litbot's domain errors. The core raises them; each front end translates them for its user.

``user_message`` is one line a person can act on (it never holds a secret); ``retryable`` says whether trying
again later may succeed (a server that is down, a rate limit), as opposed to a problem the user must fix.
"""

from __future__ import annotations


class LitbotError(Exception):
    """Base of every error litbot expects and explains."""

    retryable = False

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def user_message(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ConfigError(LitbotError):
    """A setting is missing or contradicts the store."""


class StoreError(LitbotError):
    """The Chroma store could not be opened, read or written."""


class CollectionMissing(StoreError):
    """The store holds no litbot collection yet (nothing was ingested)."""


class StoreUnavailable(StoreError):
    """The Chroma server did not answer."""

    retryable = True


class EmbeddingError(LitbotError):
    """The embedding model could not be loaded or called."""


class InputError(LitbotError):
    """A whole input could not be read (not a format litbot knows, an HTML page, unreadable gzip...)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message
