"""litbot's domain errors. The core raises them; each front end translates them for its user.

``user_message`` is one line a person can act on (it never holds a secret); ``retryable`` says whether trying
again later may succeed (a server that is down, a rate limit), as opposed to a problem the user must fix.
"""

from __future__ import annotations

import re

from ingest.safe_text import UNSAFE


class LitbotError(Exception):
    """Base of every error litbot expects and explains."""

    retryable = False

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    @property
    def user_message(self) -> str:
        """The message and hint in one line, any configured secret or URL password masked, and nothing in it
        that a terminal would obey (a message may quote a server's reply or a record)."""
        from ingest.redact import safe_line

        return safe_line(f"{self.message} — {self.hint}" if self.hint else self.message)


class ConfigError(LitbotError):
    """A setting is missing or contradicts the store."""


class StoreError(LitbotError):
    """The Chroma store could not be opened, read or written."""


class StoreDamaged(StoreError):
    """The store's vector index files are damaged. ``after_crash`` when a process died during its turn at the
    store (a torn write): then an ingest, and the read side's next question, repair the store first, as `litbot
    repair` would (bot.cli.check, bot.chat)."""

    def __init__(self, message: str, hint: str | None = None, after_crash: bool = False) -> None:
        super().__init__(message, hint)
        self.after_crash = after_crash


class CollectionMissing(StoreError):
    """The store holds no litbot collection yet (nothing was ingested)."""


class StoreUnavailable(StoreError):
    """The Chroma server did not answer."""

    retryable = True


class EmbeddingError(LitbotError):
    """The embedding model could not be loaded or called."""


def printable(name: str) -> str:
    """A file name safe to print and to store: bytes that are not UTF-8 as ``\\xff``, control characters
    (newline, ESC) as ``\\x1b`` and invisible ones (a right-to-left override) as ``\\u202e`` escapes, so a
    name can neither break a line, drive a terminal nor show itself reordered."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return UNSAFE.sub(_escaped, text.replace("\t", "\\x09").replace("\n", "\\x0a"))


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class InputError(LitbotError):
    """A whole input could not be read (not a format litbot knows, an HTML page, unreadable gzip...)."""

    def __init__(self, source: str, message: str) -> None:
        source = printable(source)
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message
