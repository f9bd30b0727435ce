"""A loopback E-utilities server for tests: esearch.fcgi and efetch.fcgi on 127.0.0.1, with real recordings.

The PubMed records are the real efetch replies in ``tests/fixtures/pubmed-xml/`` (each ``<PubmedArticle>`` kept
byte for byte); esearch replies have NCBI's layout (as in ``esearch2.xml``) or are served verbatim from a
recording. Every request is logged (endpoint, parameters, arrival time) so tests can assert on what the client
sent; ``faults`` script bad replies (429, 500, cut-off bodies, HTML pages, redirects, replies that stream
without end or trickle, pages that echo the request) for matching requests.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "pubmed-xml"
_RECORD = re.compile(rb"<PubmedArticle\b.*?</PubmedArticle>", re.DOTALL)
_PMID = re.compile(rb"<PMID[^>]*>(\d+)</PMID>")
_DOI = re.compile(rb'<ArticleId IdType="doi">([^<]+)</ArticleId>')
_DOI_TERM = re.compile(r'"?([^"\s]+)"?\[doi\]', re.IGNORECASE)
EFETCH_HEAD = (
    b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC '
    b'"-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>\n'
)
EFETCH_TAIL = b"</PubmedArticleSet>\n"
HISTORY_ERROR = (
    b'<?xml version="1.0" ?>\n<eFetchResult>\n\t<ERROR>Unable to obtain query #1</ERROR>\n</eFetchResult>\n'
)


def load_records() -> dict[str, bytes]:
    """PMID -> the recorded ``<PubmedArticle>`` element, in file order."""
    records: dict[str, bytes] = {}
    for path in sorted(FIXTURES.glob("pubmed*.xml")):
        for element in _RECORD.findall(path.read_bytes()):
            found = _PMID.search(element)
            assert found, path
            records[found.group(1).decode()] = element
    return records


@dataclass
class Logged:
    endpoint: str
    params: dict[str, str]
    at: float  # time.monotonic() at arrival
    path: str = ""  # the request path, e.g. /entrez/eutils/efetch.fcgi


@dataclass
class Fault:
    """Answer the next ``times`` matching requests with this instead of the real reply."""

    endpoint: str
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1  # -1: forever
    when: Callable[[dict[str, str]], bool] | None = None
    missing_bytes: int = 0  # announce this many more bytes than are sent, then hang up (a cut connection)
    # Send these pieces instead of ``body``, one write each, ``pace`` seconds apart: chunked unless ``headers``
    # give a Content-Length (which may lie). Called once per reply, so a generator can be endless.
    stream: Callable[[], Iterable[bytes]] | None = None
    pace: float = 0.0
    reflect: bool = False  # replace b"{request}" in ``body`` with the request's parameters (an echoing page)
    # What the server saw of the streamed replies: bytes written, and whether the client hung up before the end.
    sent: int = 0
    hung_up: bool = False
    finished: threading.Event = field(default_factory=threading.Event)  # a streamed reply ended, either way


class EutilsStub:
    """Owns the server thread; ``url`` is what LITBOT_EUTILS_URL should be."""

    def __init__(self) -> None:
        self.records = load_records()
        self.entry_dates: dict[str, date] = dict.fromkeys(self.records, date(2020, 1, 1))
        self.results: list[str] = list(self.records)  # what any non-DOI search matches, most recent first
        self.esearch_reply: bytes | None = None  # serve this recording verbatim instead
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.webenvs: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/entrez/eutils/"

    def start(self) -> EutilsStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requests(self, endpoint: str) -> list[Logged]:
        return [entry for entry in self.log if entry.endpoint == endpoint]

    def fetched_pmids(self) -> list[str]:
        """Every PMID some efetch reply carried, in order (history positions resolved)."""
        pmids: list[str] = []
        for entry in self.requests("efetch"):
            pmids += self._efetch_ids(entry.params) or []
        return pmids

    # --- the protocol ------------------------------------------------------------------------------------
    def reply(
        self, endpoint: str, params: dict[str, str], path: str = ""
    ) -> tuple[int, dict[str, str], bytes, Fault | None]:
        """Status, headers, body and the fault that scripted them (``None`` for a real reply)."""
        with self._lock:
            self.log.append(Logged(endpoint, params, time.monotonic(), path))
            fault = self._fault_for(endpoint, params)
        if fault is not None:
            headers = dict(fault.headers)
            body = fault.body
            if fault.reflect:
                body = body.replace(b"{request}", "; ".join(f"{k}: {v}" for k, v in params.items()).encode())
            if fault.missing_bytes:
                headers["Content-Length"] = str(len(body) + fault.missing_bytes)
            return fault.status, headers, body, fault
        return (*self._real_answer(endpoint, params), None)

    def _fault_for(self, endpoint: str, params: dict[str, str]) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint == endpoint and fault.times != 0 and (fault.when is None or fault.when(params)):
                fault.times -= 1 if fault.times > 0 else 0
                return fault
        return None

    def _real_answer(self, endpoint: str, params: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        if endpoint == "esearch":
            return 200, {"Content-Type": "text/xml"}, self._esearch(params)
        if endpoint == "efetch":
            ids = self._efetch_ids(params)
            if ids is None:
                return 200, {"Content-Type": "text/xml"}, HISTORY_ERROR
            body = (
                EFETCH_HEAD
                + b"".join(self.records[i] + b"\n" for i in ids if i in self.records)
                + EFETCH_TAIL
            )
            return 200, {"Content-Type": "text/xml"}, body
        return 404, {"Content-Type": "text/plain"}, b"unknown endpoint"

    def _esearch(self, params: dict[str, str]) -> bytes:
        if self.esearch_reply is not None:
            return self.esearch_reply
        term = params.get("term", "")
        dois = [d.lower() for d in _DOI_TERM.findall(term)]
        if dois:
            hits = [p for p, rec in self.records.items() if any(d in dois for d in self._dois(rec))]
        else:
            hits = [p for p in self.results if self._in_window(p, params)]
        retstart, retmax = int(params.get("retstart", 0)), int(params.get("retmax", 20))
        history = ""
        if params.get("usehistory") == "y":
            webenv = f"MCID_{len(self.webenvs) + 1:024x}"
            self.webenvs[webenv] = hits
            history = f"<QueryKey>1</QueryKey><WebEnv>{webenv}</WebEnv>"
        ids = "".join(f"<Id>{p}</Id>\n" for p in hits[retstart : retstart + retmax])
        return (
            '<?xml version="1.0" encoding="UTF-8" ?>\n'
            '<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n'
            f"<eSearchResult><Count>{len(hits)}</Count><RetMax>{min(retmax, len(hits))}</RetMax>"
            f"<RetStart>{retstart}</RetStart>{history}<IdList>\n{ids}</IdList><TranslationSet/>"
            f"<QueryTranslation>{term}</QueryTranslation></eSearchResult>"
        ).encode()

    def _efetch_ids(self, params: dict[str, str]) -> list[str] | None:
        if "id" in params:
            return [i for i in params["id"].split(",") if i]
        hits = self.webenvs.get(params.get("WebEnv", ""))
        if hits is None or params.get("query_key") != "1":
            return None
        start = int(params.get("retstart", 0))
        return hits[start : start + int(params.get("retmax", 20))]

    def _in_window(self, pmid: str, params: dict[str, str]) -> bool:
        """Entry-date filtering (what watches rely on); publication-date windows are not modelled."""
        if params.get("datetype") != "edat" or "mindate" not in params:
            return True
        low = _parse_date(params["mindate"], start=True)
        high = _parse_date(params.get("maxdate", "3000"), start=False)
        return low <= self.entry_dates[pmid] <= high

    @staticmethod
    def _dois(record: bytes) -> list[str]:
        return [d.decode().lower() for d in _DOI.findall(record)]


def _parse_date(text: str, start: bool) -> date:
    parts = [int(p) for p in text.split("/")]
    year = min(parts[0], 9999)
    month = parts[1] if len(parts) > 1 else (1 if start else 12)
    day = parts[2] if len(parts) > 2 else (1 if start else 28)
    return date(year, month, day)


def _handler(stub: EutilsStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._serve(urlsplit(self.path).query)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            self._serve(self.rfile.read(length).decode())

        def _serve(self, query: str) -> None:
            path = urlsplit(self.path).path
            endpoint = path.rsplit("/", 1)[-1].split(".")[0]
            params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
            status, headers, body, fault = stub.reply(endpoint, params, path)
            if fault is not None and fault.stream is not None:
                self._stream(status, headers, fault)
                return
            self.send_response(status)
            headers.setdefault("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, status: int, headers: dict[str, str], fault: Fault) -> None:
            """Write ``fault.stream`` piece by piece, noting how much went out before the client hung up."""
            assert fault.stream is not None
            chunked = "Content-Length" not in headers
            if chunked:
                self.protocol_version = "HTTP/1.1"  # chunked needs 1.1; this connection still closes after
                headers = {**headers, "Transfer-Encoding": "chunked", "Connection": "close"}
            self.close_connection = True
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            try:
                for piece in fault.stream():
                    if fault.pace:
                        time.sleep(fault.pace)
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    fault.sent += len(piece)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            except OSError:  # BrokenPipeError, ConnectionResetError: the client stopped reading
                fault.hung_up = True
            finally:
                fault.finished.set()

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

    return Handler


def running_stub() -> Iterator[EutilsStub]:
    """For a pytest fixture: ``yield from running_stub()``."""
    stub = EutilsStub().start()
    try:
        yield stub
    finally:
        stub.stop()
