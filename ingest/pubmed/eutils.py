"""A small NCBI E-utilities client: esearch (with the history server) and efetch of PubMed XML.

Why not Biopython's Entrez: it reads its settings from module globals and sleeps inside the library, which
makes a base URL per test, a shared rate limit per process and a clean retry policy harder than ~200 lines.

Every request is a POST with form parameters, so neither the API key nor a long id list ever appears in a URL
(httpx logs URLs at INFO). NCBI allows 3 requests/s per IP, 10 with an API key: one limiter per base URL is
shared by every client in the process (CLI, Discord watches), so concurrent users stay under it together.
429, 5xx, network errors and broken replies (cut off, an HTML page instead of XML) are retried with
exponential backoff, honouring Retry-After; what still fails becomes one :class:`EutilsError` line. A host name
that does not resolve (offline) is tried twice, not six times, and the error names it.

Replies are untrusted: one is read as a stream and refused past :data:`MAX_REPLY_BYTES` (64 MB; 200 PubMed
records are a few MB) — at once when its Content-Length says so, else as the bytes arrive — with a
:class:`ReplyTooLarge` naming the cap, not retried. A request gets :data:`DEADLINE` (120 s) from sending to the
last byte of its reply, since httpx's timeout is per read and a trickling server never trips it; missing the
deadline counts as a network error (retried). It is checked as the body arrives, and no single read may outlast
it; headers that trickle in escape it (httpcore reads them in one call, each read bounded by the timeout only).

Redirects are followed by hand, at most :data:`MAX_REDIRECTS`, and only on the configured server: scheme, host
and port must equal ``LITBOT_EUTILS_URL``'s (the form, API key included, is posted there again). A redirect to
any other host is never followed — nothing is sent there — and becomes a :class:`RedirectRefused` naming both
hosts.

Every message of this client, logged or raised, passes through :func:`ingest.redact.redact` (a server may echo
the request, key included, in an error page), and the client registers its key with
:func:`~ingest.redact.remember_secrets` itself, so that holds for settings not built by ``load_settings`` too.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from lxml import etree

from ingest import network, redact
from ingest.articles import clean_text
from ingest.errors import LitbotError
from ingest.files import retry_after
from ingest.settings import Settings

log = logging.getLogger(__name__)

MAX_DELAY = 120.0  # seconds: the longest single wait, even when Retry-After asks for more
# Bytes of one reply, at most: an efetch of 200 records is a few MB and an esearch a few KB, so anything near
# this is a proxy or server gone wrong (an endless stream, a bogus Content-Length) that must not fill memory.
MAX_REPLY_BYTES = 64 * 2**20
# Seconds one request may take, from sending it to the last byte of its reply: httpx's timeout is per read,
# so a server trickling a byte every few seconds would otherwise hold a fetch (and a watch) forever.
DEADLINE = 120.0
MAX_REDIRECTS = 3  # same-host redirects followed per request (another host is never followed)
_RETRY_STATUS = {429, 500, 502, 503, 504}
_HISTORY_WORDS = ("webenv", "query_key", "query #", "history")
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class EutilsError(LitbotError):
    """NCBI could not be reached or kept answering badly; trying again later may work."""

    retryable = True

    def __init__(self, message: str, hint: str | None = None) -> None:
        # Messages quote replies, and a server may echo the request (API key included): redact them all here.
        super().__init__(redact.redact(message), redact.redact(hint) if hint else hint)


class EutilsQueryError(EutilsError):
    """NCBI refused the request itself (bad query syntax, bad parameter); retrying will not help."""

    retryable = False


class HistoryExpired(EutilsError):
    """The WebEnv/query_key of an earlier esearch is no longer known to the history server."""


class ReplyTooLarge(EutilsError):
    """A reply over the size cap: something between litbot and NCBI misbehaves, and would again on a retry."""

    retryable = False


class RedirectRefused(EutilsError):
    """NCBI's address redirected to another host (which would receive the form, API key included) or in a loop."""

    retryable = False


class _TooSlow(Exception):
    """The reply did not complete within the deadline; retried like any network error."""


class _Malformed(Exception):
    """A reply that arrived but cannot be used (cut off, HTML instead of XML)."""


@dataclass(frozen=True)
class SearchResult:
    count: int
    ids: list[str] = field(default_factory=list)
    webenv: str | None = None
    query_key: str | None = None
    translation: str | None = None


class RequestPacer:
    """At most ``per_second`` calls, evenly spaced; thread-safe (each caller reserves the next free slot)."""

    def __init__(self, per_second: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()
        self._sleep = sleep

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self._sleep(slot - now)


_limiters: dict[tuple[str, float], RequestPacer] = {}
_limiters_lock = threading.Lock()


def shared_limiter(base_url: str, per_second: float) -> RequestPacer:
    """The process-wide limiter for one E-utilities server and rate."""
    with _limiters_lock:
        return _limiters.setdefault((base_url, per_second), RequestPacer(per_second))


class EutilsClient:
    """esearch/efetch against ``settings.eutils_url`` with NCBI's etiquette built in."""

    def __init__(
        self,
        settings: Settings,
        *,
        max_retries: int = 5,
        malformed_retries: int = 2,
        backoff: float = 1.0,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        deadline: float = DEADLINE,
    ) -> None:
        self.base_url = settings.eutils_url.rstrip("/") + "/"
        self._origin = _origin(httpx.URL(self.base_url))
        self._host = httpx.URL(self.base_url).host
        self._key = settings.ncbi_api_key.get_secret_value() if settings.ncbi_api_key else ""
        redact.remember_secrets(self._key)  # load_settings does too, but settings may be built directly
        self._common = {"tool": settings.ncbi_tool, "db": "pubmed"}
        if settings.ncbi_email:
            self._common["email"] = settings.ncbi_email
        if self._key:
            self._common["api_key"] = self._key
        self.limiter = shared_limiter(self.base_url, 10.0 if self._key else 3.0)
        self.max_retries = max_retries
        self.malformed_retries = min(malformed_retries, max_retries)  # a page that stays broken is not flaky
        self.backoff = backoff
        self.max_reply_bytes = max_reply_bytes
        self.deadline = deadline
        self._sleep = sleep
        # No single read may outlast the deadline either: the deadline is checked as bytes arrive, so this
        # bounds the overrun when a server falls silent just before it.
        self._http = httpx.Client(timeout=min(timeout, deadline), follow_redirects=False)  # see _follow

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EutilsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the two calls ---------------------------------------------------------------------------------
    def esearch(
        self,
        term: str,
        *,
        retmax: int = 0,
        usehistory: bool = True,
        dates: Mapping[str, str] | None = None,
    ) -> SearchResult:
        """Hit count, the first ``retmax`` PMIDs and (with ``usehistory``) the WebEnv/query_key.

        ``dates`` holds ``mindate``/``maxdate``/``datetype`` (NCBI needs both ends of a range).
        """
        params: dict[str, str] = {"term": term, "retmax": str(retmax), "retmode": "xml", **(dates or {})}
        if usehistory:
            params["usehistory"] = "y"
        root = self._request("esearch.fcgi", params, _check_esearch)
        error = root.findtext("ERROR")
        if error and root.find("Count") is None:
            raise EutilsQueryError(f"PubMed refused the search: {error.strip()}")
        return SearchResult(
            count=int(root.findtext("Count") or 0),
            ids=[str(int(i.text)) for i in root.iterfind("IdList/Id") if i.text],
            webenv=root.findtext("WebEnv"),
            query_key=root.findtext("QueryKey"),
            translation=root.findtext("QueryTranslation"),
        )

    def efetch_history(self, webenv: str, query_key: str, retstart: int, retmax: int) -> bytes:
        """PubMed XML for positions ``retstart`` .. ``retstart + retmax - 1`` of a history-server result."""
        params = {"WebEnv": webenv, "query_key": query_key, "retstart": str(retstart), "retmax": str(retmax)}
        return self._efetch(params)

    def efetch_ids(self, pmids: list[str]) -> bytes:
        """PubMed XML for these PMIDs (sent in the POST body, so a few hundred are fine)."""
        return self._efetch({"id": ",".join(pmids)})

    def _efetch(self, params: dict[str, str]) -> bytes:
        params.update(retmode="xml", rettype="abstract")
        body: bytes = self._request("efetch.fcgi", params, _check_efetch)
        return body

    # --- transport -------------------------------------------------------------------------------------
    def _request(self, endpoint: str, params: dict[str, str], check: Callable[[bytes], Any]) -> Any:
        data = {**self._common, **params}
        problem = ""
        malformed = unresolved = 0
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            delay = min(self.backoff * 2**attempt, MAX_DELAY)
            try:
                status, headers, body = self._exchange(endpoint, data)
            except httpx.TransportError as exc:
                if network.unresolvable(exc) or isinstance(exc, httpx.ConnectError):
                    problem = network.describe(exc, self._host)
                else:
                    problem = f"network error ({type(exc).__name__})"
                # A name that did not resolve twice will not on a third try (offline, or a typo in the URL):
                # say so in a second instead of after half a minute of backoff.
                unresolved += network.unresolvable(exc)
                if unresolved > 1:
                    raise EutilsError(
                        f"cannot reach NCBI: {problem}",
                        hint="check the connection (or LITBOT_EUTILS_URL), then rerun the same command",
                    ) from None
            except _TooSlow:
                problem = f"network error (no complete reply within {self.deadline:g} s)"
            else:
                if status in _RETRY_STATUS:
                    problem = f"HTTP {status}"
                    asked = retry_after(headers, MAX_DELAY)
                    delay = delay if asked is None else asked
                elif status >= 400:
                    raise self._refusal(endpoint, status, body)
                else:
                    try:
                        return check(body)
                    except _Malformed as exc:
                        problem = str(exc)
                        malformed += 1
                        if malformed > self.malformed_retries:
                            break
            if attempt < self.max_retries:
                (log.info if unresolved else log.warning)(  # the one quiet retry of a failed lookup
                    "NCBI %s: %s; retrying in %.1f s (%d/%d)",
                    endpoint,
                    redact.redact(problem),  # it may quote an echoing page; install() may not have run
                    delay,
                    attempt + 1,
                    self.max_retries,
                )
                self._sleep(delay)
        raise EutilsError(
            f"NCBI {endpoint.split('.')[0]} failed {attempt + 1} times; last: {problem}",
            hint="try again later (rerun the same command to resume)",
        )

    def _exchange(self, endpoint: str, data: dict[str, str]) -> tuple[int, httpx.Headers, bytes]:
        """POST the form, following redirects on the configured server only; the final reply's status, headers
        and body (streamed, so the cap and the deadline hold while it arrives)."""
        deadline = time.monotonic() + self.deadline
        url = httpx.URL(self.base_url + endpoint)
        for _ in range(MAX_REDIRECTS + 1):
            with self._http.stream("POST", url, data=data) as response:
                if not response.is_redirect:
                    return response.status_code, response.headers, self._read(endpoint, response, deadline)
                url = self._follow(endpoint, response)
            _check_deadline(deadline)
        raise RedirectRefused(
            f"NCBI {endpoint.split('.')[0]} redirected more than {MAX_REDIRECTS} times on {self._origin}",
            hint="check LITBOT_EUTILS_URL",
        )

    def _follow(self, endpoint: str, response: httpx.Response) -> httpx.URL:
        """Where a redirect points, if that is the configured server (same scheme, host and port): the form is
        posted there again, whatever the status (301/302/303 included — without its parameters the request
        would be useless). Another host is refused before anything is sent: it would receive the API key, and
        its reply would be ingested as if NCBI's. Only the hosts are named: the Location may hold the key."""
        name = endpoint.split(".")[0]
        try:
            target = response.url.join(response.headers["location"])
        except httpx.InvalidURL:
            raise RedirectRefused(f"NCBI {name} redirected to an unusable address") from None
        if _origin(target) != self._origin:
            raise RedirectRefused(
                f"NCBI {name} redirected from {self._origin} to another host, {_origin(target)}; not followed, "
                "as it would receive the request (with any API key)",
                hint="check LITBOT_EUTILS_URL (use the address that answers, not one that forwards)",
            )
        return target

    def _read(self, endpoint: str, response: httpx.Response, deadline: float) -> bytes:
        """The reply's body, refused as soon as it is known to pass the cap: by its Content-Length before a byte
        is read, otherwise (chunked, or a length that lies) as the bytes arrive; abandoned when the deadline
        passes. Leaving the stream unread closes the connection, so the server stops sending too."""
        _check_deadline(deadline)
        cap = self.max_reply_bytes
        claimed = _content_length(response.headers)
        if claimed is not None and claimed > cap:
            raise self._too_large(endpoint, f"it announced {claimed:,} bytes")
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise self._too_large(endpoint, "it kept coming past the cap")
            _check_deadline(deadline)
            parts.append(chunk)
        return b"".join(parts)

    def _too_large(self, endpoint: str, detail: str) -> ReplyTooLarge:
        name = endpoint.split(".")[0]
        return ReplyTooLarge(
            f"NCBI {name}'s reply is larger than the {self.max_reply_bytes / 2**20:g} MB cap per reply "
            f"({detail}); not read further",
            hint="NCBI's replies are a few MB: check LITBOT_EUTILS_URL and any proxy in between",
        )

    def _refusal(self, endpoint: str, status: int, body: bytes) -> EutilsError:
        message = _error_text(body) or "no reason given"
        if any(word in message.lower() for word in _HISTORY_WORDS):
            return HistoryExpired(f"NCBI no longer knows the earlier search ({message})")
        name = endpoint.split(".")[0]
        return EutilsQueryError(f"NCBI refused the {name} request (HTTP {status}): {message}")


def _origin(url: httpx.URL) -> str:
    """``scheme://host:port``, the port spelt out, so ``https://h`` and ``https://h:443`` compare equal."""
    port = url.port or {"http": 80, "https": 443}.get(url.scheme)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}:{port}"


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise _TooSlow


def _content_length(headers: httpx.Headers) -> int | None:
    try:
        return int(headers["content-length"])
    except (KeyError, ValueError):
        return None


def _error_text(body: bytes) -> str:
    """NCBI's reason from a JSON ``{"error": ...}`` or an XML ``<ERROR>`` body, never the whole body."""
    text = body[:2000].decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            return str(json.loads(text).get("error", ""))[:200]
        except (ValueError, AttributeError):
            return ""
    start, end = text.find("<ERROR>"), text.find("</ERROR>")
    return text[start + 7 : end].strip()[:200] if 0 <= start < end else ""


def _html_title(body: bytes) -> str | None:
    head = body[:4000].decode("utf-8", "replace")
    lowered = head.lower()
    if "<html" not in lowered[:600] and "<!doctype html" not in lowered[:600]:
        return None
    start, end = lowered.find("<title>"), lowered.find("</title>")
    return head[start + 7 : end].strip() if 0 <= start < end else "untitled"


def _check_esearch(body: bytes) -> Any:
    title = _html_title(body)
    if title is not None:
        raise _Malformed(f"an HTML page ({title!r}) instead of an esearch reply; check LITBOT_EUTILS_URL")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise _Malformed(f"a broken esearch reply ({exc.msg})") from None
    if root.tag != "eSearchResult":
        raise _Malformed(f"an unexpected esearch reply <{root.tag}>")
    # A count or an id that is not a whole number would fail later, or be taken for a real one ("-5")
    for element in [*root.iterfind("Count"), *root.iterfind("IdList/Id")]:
        text = (element.text or "").strip()
        if not (text.isdecimal() and len(text) <= 20):
            shown = clean_text(text)[:40]
            raise _Malformed(f"an esearch reply whose <{element.tag}> is {shown!r}, not a whole number")
    return root


def _check_efetch(body: bytes) -> bytes:
    """Cheap completeness checks; the streaming parser reads the records themselves."""
    title = _html_title(body)
    if title is not None:
        raise _Malformed(f"an HTML page ({title!r}) instead of PubMed XML; check LITBOT_EUTILS_URL")
    tail = body[-200:].rstrip()
    if b"<eFetchResult" in body[:1000] or (b"<ERROR>" in body[:1000] and b"<PubmedArticle" not in body):
        raise _history_or_query_error(_error_text(body))
    if b"<PubmedArticleSet" not in body[:2000]:
        raise _Malformed("a reply that is not PubMed XML")
    if not (tail.endswith(b"</PubmedArticleSet>") or tail.endswith(b"<PubmedArticleSet/>")):
        raise _Malformed("a PubMed XML reply that breaks off before its end")
    return body


def _history_or_query_error(message: str) -> EutilsError:
    if any(word in message.lower() for word in _HISTORY_WORDS):
        return HistoryExpired(f"NCBI no longer knows the earlier search ({message})")
    return EutilsQueryError(f"NCBI refused the efetch request: {message or 'no reason given'}")
