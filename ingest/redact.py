"""Secrets never reach a log line or a message: every configured secret and every password in a URL is masked.

:func:`remember_secrets` registers the secrets of a :class:`~ingest.settings.Settings` (the LLM and NCBI API
keys, the Chroma and Discord tokens, credentials in any configured URL) — :func:`ingest.settings.load_settings`
calls it — and :func:`install` makes every log record pass through :func:`redact` whatever logger or handler
emits it. Front ends also pass their error lines and debug tracebacks through :func:`redact`. A server that
echoes the key back in an error page, or a URL written as ``http://user:secret@host``, therefore shows ``***``.
"""

from __future__ import annotations

import logging
import re
import threading

from ingest.safe_text import safe_text

MASK = "***"
# user:password@ (or token@) in a URL: the credentials part is masked, the host kept.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]+(?::[^/\s@]*)?@")
# Header and query forms a server may echo: "Bearer xxx", "api_key=xxx".
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")
_KEY_PARAM = re.compile(r"(?i)\b(api[_-]?key|access[_-]?token|token)=([^&\s\"'<>]+)")

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def remember_secrets(*values: str | None) -> None:
    """Mask these values from now on (short ones are ignored: masking "a" would garble every line)."""
    with _lock:
        _secrets.update(v for v in values if v and len(v) >= 6)


def redact(text: str) -> str:
    """``text`` with every remembered secret, URL password, bearer token and ``api_key=`` value masked."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _KEY_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def safe_line(text: str) -> str:
    """One line fit to show anyone: secrets masked, and nothing in it a terminal would obey or that could
    start a line of its own (:func:`ingest.safe_text.safe_text`). Every error line litbot prints is one."""
    return safe_text(redact(text), one_line=True)


def install() -> None:
    """Make every log record redacted as it is created (any logger, any handler, including libraries')."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it to logging's own error report
            return record
        clean = safe_text(redact(message))  # a log line may quote a server's reply or a record
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            if redact(str(exc)) != str(exc):
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
