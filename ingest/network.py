"""What went wrong on the network, said so a person can act on it: the host, and the cause in plain words.

httpx reports a name that does not resolve and a server that refuses the connection alike, as a ``ConnectError``
whose text is the operating system's ("[Errno -2] Name or service not known"); the cause is in its chain.
"""

from __future__ import annotations

import socket

import httpx


def unresolvable(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a failed DNS lookup: offline, or a name that does not exist."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _os_reason(exc: BaseException) -> str | None:
    """The innermost OS error's own words ("Connection refused"), if the chain holds one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    reason = None
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.strerror:
            reason = current.strerror
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return reason


def describe(exc: httpx.TransportError, host: str) -> str:
    """One phrase for a failed request to ``host``: "cannot resolve eutils.ncbi.nlm.nih.gov — are you
    offline?", "cannot connect to 127.0.0.1 (Connection refused)", "pypi.org did not answer in time"."""
    if unresolvable(exc):
        return f"cannot resolve {host} — are you offline?"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return f"not an http(s) address ({exc})"
    if isinstance(exc, httpx.TimeoutException):
        return f"{host} did not answer in time"
    reason = _os_reason(exc)
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}" + (f" ({reason})" if reason else "")
    return f"network error talking to {host} ({reason or type(exc).__name__})"
