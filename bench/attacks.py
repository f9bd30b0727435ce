"""Issue 12's attacks on the `litbot` command, measured: exit status, peak RSS, lines of output, seconds, and
whether the good record beside the bad one was stored. Prints a Markdown table (RELIABILITY.md › Hardening).
Issue 26's attacks on what litbot shows and on its LLM path follow in a table of their own (``--only output``
runs just those; see "Output and LLM attacks" below).

    .venv/bin/python bench/attacks.py                                   # this checkout
    git worktree add /tmp/before <commit>                               # an older litbot, side by side:
    .venv/bin/python bench/attacks.py --tree /tmp/before --entry bot.cli:main

Each attack runs in a fresh folder under /tmp with its own store; a run that outlives ``--timeout`` seconds
is killed and reported as hung. Mounts (read-only view, a full tmpfs) need root; without it those rows say so.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

GOOD = {
    "pmid": "424242",
    "title": "Rugby headgear and concussion",
    "abstract": "Headgear did not prevent concussion in rugby players.",
}
QUESTION = "Does rugby headgear prevent concussion?"
_RUNNER = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "try:\n"
    "    done = subprocess.run(sys.argv[2:], capture_output=True, timeout=float(sys.argv[1]))\n"
    "    code, out = done.returncode, done.stdout + done.stderr\n"
    "except subprocess.TimeoutExpired as e:\n"
    "    code, out = 'hung', (e.stdout or b'') + (e.stderr or b'')\n"
    "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024\n"
    "sys.stdout.buffer.write(f'{code} {rss} {time.perf_counter() - t:.1f}\\n'.encode() + out)\n"
)


@dataclass
class Run:
    code: str
    rss_mb: int
    seconds: float
    output: str

    @property
    def lines(self) -> int:
        return len([line for line in self.output.splitlines() if line.strip()])


class Litbot:
    def __init__(self, tree: Path | None, entry: str, timeout: float) -> None:
        module, func = entry.split(":")
        self.command = [sys.executable, "-c", f"from {module} import {func}; {func}()"]
        self.env = {**os.environ, "PYTHONPATH": str(tree)} if tree else dict(os.environ)
        self.cwd = tree  # `python -c` puts the working folder first on sys.path, before PYTHONPATH
        self.timeout = timeout

    def run(
        self,
        *args: str | bytes,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
        stdin_file: Path | None = None,
        cwd: Path | None = None,
    ) -> Run:
        with open(stdin_file or os.devnull, "rb") as handle:
            done = subprocess.run(
                [sys.executable, "-c", _RUNNER, str(self.timeout), *self.command, *args],
                capture_output=True,
                cwd=cwd or self.cwd,
                env={**self.env, **(env or {})},
                input=stdin.encode() if stdin else None,
                stdin=handle if stdin_file else None,
                timeout=self.timeout + 60,
            )
        head, _, rest = done.stdout.partition(b"\n")
        code, rss, seconds = head.decode().split()
        return Run(code, int(rss), float(seconds), rest.decode("utf-8", "replace"))

    def articles(self, env: dict[str, str]) -> int:
        """How many articles the store holds (0 when there is no store)."""
        try:
            return int(json.loads(self.run("stats", "--json", env=env).output.splitlines()[0])["articles"])
        except (ValueError, IndexError, KeyError, TypeError):
            return 0

    def good_stored(self, env: dict[str, str]) -> bool:
        done = self.run("ask", QUESTION, "--json", env=env)
        try:
            return any(
                c.get("pmid") == GOOD["pmid"] for c in json.loads(done.output.splitlines()[0])["citations"]
            )
        except (ValueError, IndexError, KeyError, TypeError):
            return False


# One MiniLM graph cache for every run (it lives in the data folder by default, and building it in each fresh
# folder costs ~370 MB of peak memory and seconds that belong to no attack).
MODEL_CACHE = Path(tempfile.gettempdir()) / "litbot-attack-model-cache"


def _store_env(data: Path) -> dict[str, str]:
    # Both variables, so that an older litbot (whose store did not follow the data folder) stays inside too.
    return {
        "LITBOT_DATA_DIR": str(data),
        "LITBOT_CHROMA_PATH": str(data / "chroma"),
        "LITBOT_MODEL_CACHE_DIR": str(MODEL_CACHE),
    }


def _good_line() -> str:
    return json.dumps(GOOD) + "\n"


def _json_200mb(folder: Path) -> list[str]:
    data = folder / "huge.jsonl"
    with data.open("w") as out:
        out.write('{"pmid": "1", "abstract": "' + "x" * (200 * 1024 * 1024) + '"}\n' + _good_line())
    return [str(data)]


def _gzip_bomb(folder: Path) -> list[str]:
    bomb = folder / "bomb.jsonl.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with bomb.open("wb") as out:
        out.write(packer.compress(_good_line().encode()))
        block = b"y" * (64 * 1024 * 1024)
        for _ in range(96):  # 6 GiB of one line without a newline
            out.write(packer.compress(block))
        out.write(packer.flush())
    return [str(bomb)]


def _title(folder: Path) -> list[str]:
    data = folder / "title.jsonl"
    data.write_text(
        json.dumps({"pmid": "1", "title": "T" * 700_000, "abstract": "Short."}) + "\n" + _good_line()
    )
    return [str(data)]


def _medline(folder: Path) -> list[str]:
    data = folder / "big.txt"
    body = "\n      ".join(["Cells divided rapidly under stress and recovered afterwards."] * 170_000)
    data.write_text(
        f"PMID- 1\nTI  - Big\nAB  - {body}\n\nPMID- {GOOD['pmid']}\nTI  - {GOOD['title']}\nAB  - {GOOD['abstract']}\n"
    )
    return [str(data)]


def _nul(folder: Path) -> list[str]:
    data = folder / "nul.jsonl"
    data.write_bytes(b'{"pmid": "1", "abstract": "bad \x00 record"}\n' + _good_line().encode())
    return [str(data)]


def _xml_bomb(folder: Path) -> list[str]:
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10))
    good = (
        f"<PubmedArticle><MedlineCitation><PMID>{GOOD['pmid']}</PMID><Article><ArticleTitle>{GOOD['title']}"
        f"</ArticleTitle><Abstract><AbstractText>{GOOD['abstract']}</AbstractText></Abstract></Article>"
        "</MedlineCitation></PubmedArticle>"
    )
    bomb = good.replace(GOOD["pmid"], "1").replace(GOOD["abstract"], "&l9;")
    data = folder / "laughs.xml"
    data.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{laughs}]>\n<PubmedArticleSet>{good}{bomb}'
        "</PubmedArticleSet>\n"
    )
    return [str(data)]


def _bad_name(folder: Path) -> list[str]:
    inside = folder / "in"
    inside.mkdir()
    (inside / os.fsdecode(b"bad\xffname.jsonl")).write_text(_good_line())
    (inside / "n\x1b[2Jx\nl.jsonl").write_text('{"pmid": "9", "abstract": "Another record."}\n')
    return [str(inside)]


def _fifo(folder: Path) -> list[str]:
    inside = folder / "in"
    inside.mkdir()
    os.mkfifo(inside / "pipe.jsonl")
    (inside / "good.jsonl").write_text(_good_line())
    return [str(inside)]


INGESTS: dict[str, tuple[str, Callable[[Path], list[str]]]] = {
    "json-200mb-line": ("one 200 MB JSONL line, then a good record", _json_200mb),
    "gzip-bomb": ("a good record, then a gzip expanding to 6 GiB with no newline", _gzip_bomb),
    "title-700kb": ("a record with a 0.7 MB title, then a good one", _title),
    "medline-10mb": ("a MEDLINE record with a 10 MB abstract, then a good one", _medline),
    "nul-byte": ("a NUL byte in the first record, the good one on the next line", _nul),
    "xml-bomb-after": ("a good PubMed XML record, then a billion-laughs record", _xml_bomb),
    "bad-file-names": (
        "a folder: a file named with byte 0xff (good record), one with a newline and ESC[2J",
        _bad_name,
    ),
    "fifo-in-folder": ("a folder holding a FIFO and a good file", _fifo),
}
SETTINGS = {
    "LITBOT_CHROMA_PORT": "abc",
    "LITBOT_TOP_K": "abc",
    "LITBOT_CHROMA_SSL": "maybe",
    "LITBOT_EMBEDDING_BATCH_SIZE": "0",
    "LITBOT_LLM_TEMPERATURE": "abc",
    "LITBOT_DISCORD_GUILD_ID": "abc",
    "LITBOT_LLM_TIMEOUT": "-1",
    "LITBOT_COLLECTION": "bad name!",
    "LITBOT_EUTILS_URL": "notaurl",
}


CANARY = "ncbi-canary-5f1e2d"
ESEARCH = (
    b"<eSearchResult><Count>1</Count><RetMax>1</RetMax><RetStart>0</RetStart><QueryKey>1</QueryKey>"
    b"<WebEnv>W</WebEnv><IdList><Id>1</Id></IdList></eSearchResult>"
)
PIECE = b"<!-- padding -->" * 4096  # 64 KB


class _Host(http.server.ThreadingHTTPServer):
    """The loopback host: how it misbehaves, where it redirects to, and every request it saw."""

    daemon_threads = True

    def __init__(self, mode: str, elsewhere: str) -> None:
        super().__init__(("127.0.0.1", 0), _Eutils)
        self.mode, self.elsewhere = mode, elsewhere
        self.seen: list[str] = []


class _Eutils(http.server.BaseHTTPRequestHandler):
    """A loopback E-utilities host misbehaving in the way ``server.mode`` says; it records every request."""

    protocol_version = "HTTP/1.1"

    server: _Host

    def _reply(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("latin-1")
        self.server.seen.append(self.path + " " + body)
        mode = self.server.mode
        if "esearch" in self.path or "epost" in self.path:
            reply = SEARCHES.get(mode, ESEARCH)
            self.send_response(200)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)
            return
        if mode in FETCHES:
            self.send_response(200)
            self.send_header("Content-Length", str(len(FETCHES[mode])))
            self.end_headers()
            self.wfile.write(FETCHES[mode])
            return
        if mode.startswith("redirect"):
            self.send_response(307)
            self.send_header("Location", self.server.elsewhere + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        if mode == "content-length-5gb":
            self.send_header("Content-Length", str(5 * 10**9))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        started = time.monotonic()
        try:
            self._send(b'<?xml version="1.0"?>\n<PubmedArticleSet>', mode)
            while time.monotonic() - started < 300:
                self._send(PIECE, mode)
        except OSError:
            return

    def _send(self, data: bytes, mode: str) -> None:
        self.wfile.write(data if mode == "content-length-5gb" else b"%x\r\n%s\r\n" % (len(data), data))

    do_GET = do_POST = _reply

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _eutils_host(mode: str, elsewhere: str = "") -> Iterator[_Host]:
    server = _Host(mode, elsewhere)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


EUTILS = {
    "content-length-5gb": "E-utilities: efetch reply claiming 5 GB, sent fast",
    "chunked-endless": "E-utilities: efetch reply streamed without end",
    "redirect-elsewhere": "E-utilities: 307 to another host (column: key sent there)",
}


def _eutils_attack(litbot: Litbot, mode: str, folder: Path) -> tuple[Run, str]:
    with (
        _eutils_host("endless") as other,
        _eutils_host(mode, f"http://127.0.0.1:{other.server_port}") as host,
    ):
        env = {
            **_store_env(folder / "data"),
            "LITBOT_EUTILS_URL": f"http://127.0.0.1:{host.server_port}/",
            "NCBI_API_KEY": CANARY,
        }
        run = litbot.run("ingest", "--pmid", "1", env=env)
        leaked = "yes" if any(CANARY in request for request in other.seen) else "no"
        if CANARY in run.output:
            leaked += " (and printed)"
        return run, leaked if mode.startswith("redirect") else "—"


# --- issue 26, the ingest side: one bad record costs one record, one article is one id, bounded metadata --------


def _xml_record(pmid: object, body: str = "", title: str = "Headgear and concussion") -> str:
    body = body or f"Headgear did not prevent concussion in rugby study {pmid}."
    return (
        f"<PubmedArticle><MedlineCitation><PMID>{pmid}</PMID><Article><ArticleTitle>{title}</ArticleTitle>"
        f"<Abstract><AbstractText>{body}</AbstractText></Abstract></Article></MedlineCitation></PubmedArticle>\n"
    )


XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE PubmedArticleSet>\n<PubmedArticleSet>\n'
DAMAGE = {
    "nul": "Headgear \x00 did not help.",
    "amp": "Headgear & helmets did not help.",
    "deep": "<i>" * 300 + "deep" + "</i>" * 300,
    "utf8": "Headgear \udcff did not help.",  # written as the lone byte 0xff (surrogateescape)
}


def _xml_200(damage: str) -> Callable[[Path], tuple[list[str], int]]:
    def setup(folder: Path) -> tuple[list[str], int]:
        records = [_xml_record(n, DAMAGE[damage] if n == 100 else "") for n in range(1, 201)]
        data = folder / "batch.xml"
        data.write_bytes(
            (XML_HEAD + "".join(records) + "</PubmedArticleSet>\n").encode("utf-8", "surrogateescape")
        )
        return [str(data)], 199

    return setup


def _bomb_in_record_3(folder: Path) -> tuple[list[str], int]:
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10))
    records = [_xml_record(n, "Headgear &l9; helped." if n == 3 else "") for n in range(1, 6)]
    data = folder / "laughs.xml"
    data.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{laughs}]>\n<PubmedArticleSet>'
                    + "".join(records) + "</PubmedArticleSet>\n")  # fmt: skip
    return [str(data)], 4


PMID_FORMS = ["960001", "0960001", "\uff19\uff16\uff10\uff10\uff10\uff11", "\u0669\u0666\u0660\u0660\u0660\u0661",
              "960001.0", 960001.0, "PMID: 960001", "https://pubmed.ncbi.nlm.nih.gov/960001/"]  # fmt: skip
DOI_FORMS = ["10.1000/abc", "10.1000/ABC", "doi:10.1000/abc", "doi.org/10.1000/abc", "https://doi.org/10.1000/abc",
             "10.1000/abc ", "10.1000/abc%20"]  # fmt: skip


def _id_forms(folder: Path) -> tuple[list[str], int]:
    lines = [{"pmid": form, "title": "Headgear", "abstract": "Headgear did not help."} for form in PMID_FORMS]
    lines += [
        {"doi": form, "title": "Scrum caps", "abstract": "Scrum caps did not help."} for form in DOI_FORMS
    ]
    data = folder / "forms.jsonl"
    data.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return [str(data)], 2


# ~40,000 characters, some 35 chunks: what made a field copied into every chunk's metadata costly
LONG_ABSTRACT = " ".join(
    f"In season {n} the forwards wore headgear and {n} concussions were counted." for n in range(560)
)


def _huge_pmid(folder: Path) -> tuple[list[str], int]:
    data = folder / "pmid.xml"
    huge = _xml_record("9" * (9 * 2**20), LONG_ABSTRACT)
    data.write_text(
        XML_HEAD + huge + _xml_record(GOOD["pmid"], GOOD["abstract"], GOOD["title"]) + "</PubmedArticleSet>\n"
    )
    return [str(data)], 1


def _huge_mesh(folder: Path) -> tuple[list[str], int]:
    mesh = "".join(
        f"<MeshHeading><DescriptorName>{n:05d}{'M' * 3000}</DescriptorName></MeshHeading>"
        for n in range(4900)
    )
    record = _xml_record(1, LONG_ABSTRACT).replace(
        "</Article>", f"</Article><MeshHeadingList>{mesh}</MeshHeadingList>"
    )
    data = folder / "mesh.xml"
    data.write_text(
        XML_HEAD
        + record
        + _xml_record(GOOD["pmid"], GOOD["abstract"], GOOD["title"])
        + "</PubmedArticleSet>\n"
    )
    return [str(data)], 1


def _symlink_loops(folder: Path) -> tuple[list[str], int]:
    root = folder / "in"
    (root / "sub").mkdir(parents=True)
    (root / "good.jsonl").write_text(_good_line())
    (root / "sub" / "other.jsonl").write_text('{"pmid": "9", "abstract": "Another record."}\n')
    (root / "sub" / "up").symlink_to("..")
    (root / "sub" / "self").symlink_to("../sub")
    return [str(root / "**" / "*.jsonl")], 2


def _medline_glued(folder: Path) -> tuple[list[str], int]:
    records = [
        f"PMID- {n}\nTI  - Headgear {n}\nAB  - Headgear did not prevent concussion, study {n}.\n"
        for n in range(1, 5)
    ]
    data = folder / "glued.txt"
    data.write_text("".join(records))  # no blank line between the records
    return [str(data)], 4


def _gzip_junk(folder: Path) -> tuple[list[str], int]:
    import gzip

    data = folder / "download.jsonl.gz"
    data.write_bytes(gzip.compress(_good_line().encode()) + gzip.compress(b'{"pmid": "9", "abstract": "Another."}\n')
                     + b"<html><body>502 Bad Gateway</body></html>\n")  # fmt: skip
    return [str(data)], 2


def _csv_header(folder: Path) -> tuple[list[str], int]:
    data = folder / "wide.csv"
    data.write_text(
        "pmid,abstract," + ",".join(f"column{i}" for i in range(300_000)) + "\n" + '1,"Headgear."\n'
    )
    return [str(data)], 0


def _csv_quote(folder: Path) -> tuple[list[str], int]:
    data = folder / "quote.csv"
    with data.open("w") as out:
        out.write(
            f'pmid,title,abstract\n{GOOD["pmid"]},{GOOD["title"]},{GOOD["abstract"]}\n2,Broken,"Unclosed\n'
        )
        line = "a line of text inside the open quote, page after page\n"
        out.write(line * (200 * 2**20 // len(line)))
    return [str(data)], 1


ISSUE26: dict[str, tuple[str, Callable[[Path], tuple[list[str], int]]]] = {
    **{f"xml-200-{kind}": (f"PubMed XML, record 100 of 200 bad ({kind})", _xml_200(kind)) for kind in DAMAGE},
    "xml-bomb-in-3-of-5": (
        "a DOCTYPE declaring a billion-laughs bomb, used in record 3 of 5",
        _bomb_in_record_3,
    ),
    "ids-many-forms": ("2 articles, each in 7-8 PMID or DOI forms", _id_forms),
    "meta-9mb-pmid": ("a record with a 9 MB PMID, then a good one", _huge_pmid),
    "meta-14mb-mesh": ("a record with 14.7 MB of MeSH headings, then a good one", _huge_mesh),
    "glob-symlink-loops": ("a glob through sub/up -> .. and sub/self -> ../sub", _symlink_loops),
    "medline-no-blank-lines": ("4 MEDLINE records without blank lines between them", _medline_glued),
    "gzip-then-junk": ("2 gzip members, then an HTML page", _gzip_junk),
    "csv-header-3mb": ("a CSV header row of 3 MB", _csv_header),
    "csv-unclosed-quote-200mb": ("a good CSV row, then a quote left open for 200 MB", _csv_quote),
}
EFETCH_HEAD = b'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet>\n<PubmedArticleSet>\n'
SEARCHES = {
    "esearch-count-abc": b"<eSearchResult><Count>abc</Count><IdList/></eSearchResult>",
    "esearch-count-minus-5": b"<eSearchResult><Count>-5</Count><IdList/></eSearchResult>",
    "efetch-record-2-bad": b"<eSearchResult><Count>5</Count><RetMax>0</RetMax><RetStart>0</RetStart>"
    b"<QueryKey>1</QueryKey><WebEnv>W</WebEnv><IdList/></eSearchResult>",
}
FETCHES = {
    "efetch-record-2-bad": EFETCH_HEAD
    + "".join(_xml_record(n, "Headgear \x00 did not help." if n == 2 else "") for n in range(1, 6)).encode()
    + b"</PubmedArticleSet>\n",
    "cursor-retstart-string": EFETCH_HEAD
    + _xml_record(GOOD["pmid"], GOOD["abstract"], GOOD["title"]).encode()
    + b"</PubmedArticleSet>\n",
}


ISSUE26_EUTILS = (
    "esearch-count-abc",
    "esearch-count-minus-5",
    "efetch-record-2-bad",
    "cursor-retstart-string",
)


def _cursor_key(*parts: object) -> str:
    """As litbot names a fetch's progress file (ingest/pubmed/cursor.py)."""
    import hashlib

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def run_issue26(litbot: Litbot, only: set[str] | None, row: Callable[[str, Run, object], None]) -> None:
    """The attacks of issue 26 on the ingest side; the last column: articles stored / good records offered."""
    for name, (_, setup) in ISSUE26.items():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            folder = Path(tmp)
            env = _store_env(folder / "data")
            paths, good = setup(folder)
            run = litbot.run("ingest", *paths, env=env)
            longest = max((len(line) for line in run.output.splitlines()), default=0)
            read = re.search(r"read ([\d,]+):", run.output)
            records = f"{read.group(1)} records read, " if read else ""
            row(name, run, f"{litbot.articles(env)} / {good} ({records}longest line {longest:,})")
            if name.startswith("meta-"):
                store_mb = sum(f.stat().st_size for f in (folder / "data").rglob("*") if f.is_file()) / 2**20
                row(f"{name}: then ask", litbot.run("ask", QUESTION, env=env), f"store {store_mb:.1f} MB")
    if not only or "stdin-then-nuls" in only:
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            folder = Path(tmp)
            env = _store_env(folder / "data")
            stream = folder / "stream"
            with stream.open("wb") as out:
                out.write(_good_line().encode())
                out.truncate(2**30)  # then 1 GB of NUL bytes (sparse)
            row(
                "stdin-then-nuls",
                litbot.run("ingest", "-", env=env, stdin_file=stream),
                f"{litbot.articles(env)} / 1",
            )
    if not only or "bibtex-and" in only:
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            folder = Path(tmp)
            env = _store_env(folder / "data")
            (folder / "a.jsonl").write_text(json.dumps({**GOOD, "authors": ["Evil, A and Other, B"]}) + "\n")
            litbot.run("ingest", str(folder / "a.jsonl"), env=env)
            run = litbot.run("ask", QUESTION, "--cite", "bibtex", env=env)
            field = next((line for line in run.output.splitlines() if line.strip().startswith("author")), "")
            authors = len([part for part in re.split(r"\s+and\s+", field) if part]) if field else 0
            row("bibtex-and", run, f"{authors} author(s) in BibTeX for 1")
    for mode in ISSUE26_EUTILS:
        if only and mode not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp, _eutils_host(mode) as host:
            folder = Path(tmp)
            url = f"http://127.0.0.1:{host.server_port}/"
            env = {**_store_env(folder / "data"), "LITBOT_EUTILS_URL": url}
            if mode.startswith("esearch"):
                run = litbot.run("ingest", "--pubmed", "headgear", "--dry-run", env=env)
                row(mode, run, f"count shown: {'yes' if 'match' in run.output else 'no'}")
                continue
            if mode.startswith("cursor"):
                key = _cursor_key("query", url, "headgear", {}, None)
                cursor = {"key": key, "webenv": "W", "query_key": "1", "count": 1, "target": 1, "retstart": "0",
                          "ids": None, "done": [], "searched_at": time.time()}  # fmt: skip
                (folder / "data" / "eutils").mkdir(parents=True)
                (folder / "data" / "eutils" / f"cursor-{key}.json").write_text(json.dumps(cursor))
            run = litbot.run("ingest", "--pubmed", "headgear", env=env)
            good = 4 if mode.startswith("efetch") else 1
            row(mode, run, f"{litbot.articles(env)} / {good}")
            if mode.startswith("efetch"):
                row(
                    f"{mode}: rerun",
                    litbot.run("ingest", "--pubmed", "headgear", env=env),
                    f"{litbot.articles(env)} / 4",
                )


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


# --- Output and LLM attacks (issue 26) ----------------------------------------------------------------------
# Each row: exit status, peak RSS, lines of output, seconds, and what held — the control or invisible
# characters that reached the output, the masked links Discord would show live, a secret shown, requests made.

ROOT = Path(__file__).resolve().parents[1]
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x9b2J\x9d0;t\x07"
C1_AND_INVISIBLE = "\x9b2J\x9d8;;https://evil.example/\x9c\u202e\u200b\u2066"  # what XML may carry
LINKS = (
    "Headgear works [1]. See [2](https://evil.example/a), [log in again here](https://evil.example/b), "
    "[a [nested] one](https://evil.example/c) and [zero]\u200b(https://evil.example/d)."
)
CANARY_KEY = "sk-proj-canary-7f3a9b2c1d"


def shown_controls(text: str) -> int:
    """Control and invisible format characters in ``text`` (newlines and tabs aside): what a terminal obeys."""
    import unicodedata

    return sum(1 for c in text if c not in "\n\t" and unicodedata.category(c) in ("Cc", "Cf"))


def _live_links(text: str) -> int:
    import re

    unescaped = re.sub(r"\\.", "_", re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text))
    return len(re.findall(r"\[[^\]]*\]\(\s*<?\s*https?://", unescaped))


@contextmanager
def _openai_host(**stub_options: object) -> Iterator[str]:
    """The loopback OpenAI-protocol stand-in of the tests (tests/openai_stub.py), its URL yielded."""
    sys.path.insert(0, str(ROOT))
    from tests.openai_stub import OpenAIStub, Reply

    reply = stub_options.pop("reply", None)
    with OpenAIStub(default=reply if isinstance(reply, Reply) else None, **stub_options) as stub:  # type: ignore[arg-type]
        yield stub.url


def _reply(**options: object) -> object:
    sys.path.insert(0, str(ROOT))
    from tests.openai_stub import Reply

    return Reply(**options)  # type: ignore[arg-type]


def _ingested(litbot: Litbot, folder: Path) -> dict[str, str]:
    """A store holding the good record (and a few more), for attacks that ask questions."""
    env = _store_env(folder / "data")
    corpus = ROOT / "tests" / "fixtures" / "corpus-mini"
    litbot.run("ingest", str(corpus), env=env)
    return env


def _discord_probe(litbot: Litbot, code: str) -> Run:
    """Run ``code`` (which prints one number) with the checkout's bot.discord.render, in a process of its own."""
    probe = [
        sys.executable,
        "-c",
        _RUNNER,
        str(litbot.timeout),
        sys.executable,
        "-c",
        "from bot.discord.render import answer_messages, passages_embed, sources_embed\n"
        "from bot.types import Answer, Citation\n" + code,
    ]
    done = subprocess.run(probe, capture_output=True, cwd=litbot.cwd or ROOT, env=litbot.env, timeout=300)
    head, _, rest = done.stdout.partition(b"\n")
    exit_code, rss, seconds = head.decode().split()
    return Run(exit_code, int(rss), float(seconds), rest.decode("utf-8", "replace"))


OUTPUT_ATTACKS = (
    "chat-150mb-line", "ask-year-overflow", "ask-not-utf8", "settings-output", "eutils-escapes",
    "discord-links", "llm-60mb-reply", "llm-context-overflow",
)  # fmt: skip


def output_attacks(litbot: Litbot, row: Callable[..., None], only: set[str] | None) -> None:
    def wanted(name: str) -> bool:
        return not only or "output" in only or name in only

    with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
        folder = Path(tmp)
        stored: dict[str, str] = {}

        def store() -> dict[str, str]:  # built once, for the rows whose fault shows only with articles
            if not stored:
                stored.update(_ingested(litbot, folder))
            return stored

        if wanted("chat-150mb-line"):
            questions = folder / "questions.txt"
            with questions.open("wb") as out:
                out.write(b"x" * (150 * 2**20) + b"\n" + b"caf\xe9?\n" + QUESTION.encode() + b"\n")
            run = litbot.run("chat", "--json", env=_store_env(folder / "empty"), stdin_file=questions)
            answered = run.output.count('"answer"')
            row("chat: a 150 MB line, a line not UTF-8, a question", run, f"questions answered: {answered}")
        if wanted("ask-year-overflow"):
            run = litbot.run("ask", QUESTION, "--year-from", "99999999999999999999", env=store())
            row("ask --year-from 99999999999999999999", run, f"OverflowError: {'Overflow' in run.output}")
        if wanted("ask-not-utf8"):
            run = litbot.run("ask", b"Does rugby headgear prevent concussion \xe9?", env=store())
            row("ask with a question that is not UTF-8", run, f"TypeError: {'TypeError' in run.output}")
        if wanted("settings-output"):
            with _openai_host(reply=_reply(text="Headgear did not prevent concussion [1].")) as url:
                extra = {"LITBOT_LLM_TIMEOUT": "inf", "OPENAI_BASE_URL": url, "LITBOT_LLM_MAX_RETRIES": "1"}
                run = litbot.run("ask", QUESTION, env={**store(), **extra})
            row("LITBOT_LLM_TIMEOUT=inf, then ask", run, f"OverflowError: {'Overflow' in run.output}")
        settings_rows = {
            "OPENAI_BASE_URL=<the API key>": {"OPENAI_API_KEY": CANARY_KEY, "OPENAI_BASE_URL": CANARY_KEY},
            "LITBOT_DISCORD_GUILD_ID=<the bot token>": {
                "LITBOT_DISCORD_TOKEN": CANARY_KEY,
                "LITBOT_DISCORD_GUILD_ID": CANARY_KEY,
            },
        }
        for name, extra in settings_rows.items():
            if wanted("settings-output"):
                run = litbot.run("stats", env={**_store_env(folder / "e"), **extra})
                row(name, run, f"secret shown: {'yes' if CANARY_KEY in run.output else 'no'}")
        if wanted("settings-output"):
            dotenv = folder / "dotenv"
            dotenv.mkdir()
            (dotenv / ".env").write_bytes(b"LITBOT_TOP_K=5\nLITBOT_COLLECTION=caf\xe9\n")
            run = litbot.run("stats", env=_store_env(folder / "e"), cwd=dotenv)
            row(".env that is not UTF-8", run, f"file named: {'.env' in run.output}")
        if wanted("eutils-escapes"):
            translation = f"<QueryTranslation>rugby{C1_AND_INVISIBLE}[All Fields]</QueryTranslation>"
            with _eutils_scripted(translation=translation) as url:
                env = {**_store_env(folder / "e"), "LITBOT_EUTILS_URL": url}
                run = litbot.run("ingest", "--pubmed", "rugby", "--dry-run", env=env)
            row(
                "E-utilities: C1 CSI/OSC in QueryTranslation, --dry-run",
                run,
                f"controls shown: {shown_controls(run.output)}",
            )
            with _eutils_scripted(
                error=f"Search failed{ESCAPES} [log in again here](https://evil.example/)"
            ) as url:
                env = {**_store_env(folder / "e"), "LITBOT_EUTILS_URL": url}
                run = litbot.run("ingest", "--pubmed", "rugby", env=env)
            row(
                "E-utilities: ESC[2J, OSC 0, OSC 8 in an error body",
                run,
                f"controls shown: {shown_controls(run.output)}",
            )
        if wanted("discord-links"):
            code = (
                f"links = {LINKS!r}\n"
                "c = Citation(n=1, id='pmid:1', pmid='1', title='T [x](https://evil.example/t)', passages=[links])\n"
                "a = Answer(question='q', mode='llm', text=links, citations=[c])\n"
                "texts = answer_messages(a) + [f.value for f in passages_embed(a).fields]\n"
                "print('\\n'.join(texts))\n"
            )
            run = _discord_probe(litbot, code)
            row(
                "Discord: 4 masked links (nested, zero-width) in an answer and in /sources",
                run,
                f"live links: {_live_links(run.output)}",
            )
            code = "a = Answer(question='q', mode='llm', text='Headgear helps players [1]. ' * 40000)\nprint(len(answer_messages(a)))\n"
            run = _discord_probe(litbot, code)
            row("Discord: a 1 MB LLM answer", run, f"messages: {run.output.strip()}")
        if wanted("llm-60mb-reply") or wanted("llm-context-overflow"):
            env = store()
            llm = {"LITBOT_LLM_MODEL": "gemma3", "LITBOT_LLM_MAX_RETRIES": "2", "LITBOT_LLM_TIMEOUT": "10"}
            if wanted("llm-60mb-reply"):
                answer = "Headgear did not prevent concussion [1]. " + " " * 200
                with _openai_host(reply=_reply(text=answer, endless=True)) as url:
                    run = litbot.run("ask", QUESTION, env={**env, **llm, "OPENAI_BASE_URL": url})
                row(
                    "LLM: a reply streamed without end (cut at 100 MB), no max_tokens obeyed",
                    run,
                    f"answer chars: {len(run.output):,}",
                )
            if wanted("llm-context-overflow"):
                with _openai_host(llama_cpp=400) as url:
                    run = litbot.run("ask", QUESTION, env={**env, **llm, "OPENAI_BASE_URL": url})
                row(
                    "LLM: llama-cpp-python with a 400-token context, litbot told nothing",
                    run,
                    f"said: {run.output.strip().splitlines()[-1][:60] if run.output.strip() else ''}",
                )


@contextmanager
def _eutils_scripted(translation: str = "", error: str = "") -> Iterator[str]:
    """An E-utilities host whose esearch reply carries ``translation`` (XML) or fails with ``error`` (HTTP 400)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if error:
                status, body = 400, json.dumps({"error": error}).encode()
            else:
                status = 200
                body = (
                    "<eSearchResult><Count>3</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/>"
                    f"{translation}</eSearchResult>"
                ).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tree", type=Path, help="run the litbot of this checkout (PYTHONPATH)")
    parser.add_argument("--entry", default="bot.cli.app:main", help="module:function of the command")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--only", help="comma-separated attack names")
    args = parser.parse_args()
    litbot = Litbot(args.tree, args.entry, args.timeout)
    only = set(args.only.split(",")) if args.only else None
    if only and "issue26" in only:  # the whole second round, ingest side
        only |= {*ISSUE26, *ISSUE26_EUTILS, "stdin-then-nuls", "bibtex-and"}
    with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:  # build the model cache, untimed
        (Path(tmp) / "good.jsonl").write_text(_good_line())
        litbot.run("ingest", str(Path(tmp) / "good.jsonl"), env=_store_env(Path(tmp) / "data"))
    print(
        "| attack | exit | peak RSS MB | lines of output | s | good record stored (redirect: key sent off-host) |"
    )
    print("|---|---|---|---|---|---|")

    def row(name: str, run: Run, stored: object = "—") -> None:
        print(
            f"| {name} | {run.code} | {run.rss_mb} | {run.lines} | {run.seconds:.1f} | {stored} |", flush=True
        )

    for name, (_, setup) in INGESTS.items():
        if only and name not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            folder = Path(tmp)
            env = _store_env(folder / "data")
            run = litbot.run("ingest", *setup(folder), env=env)
            row(name, run, "yes" if litbot.good_stored(env) else "no")
    run_issue26(litbot, only, row)
    for mode in EUTILS:
        if only and mode not in only:
            continue
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            run, leaked = _eutils_attack(litbot, mode, Path(tmp))
            row(mode, run, leaked)
    if not only or "settings" in only:
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            store = _store_env(Path(tmp) / "data")
            for variable, value in SETTINGS.items():
                row(f"{variable}={value!r}", litbot.run("stats", env={**store, variable: value}))
            bad_path = {**store, "LITBOT_CHROMA_PATH": "/dev/null/x"}
            row("LITBOT_CHROMA_PATH=/dev/null/x", litbot.run("ingest", "--sample", env=bad_path))
    if not only or "store" in only:
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            folder = Path(tmp)
            (folder / "good.jsonl").write_text(_good_line())
            env = _store_env(folder / "data")
            litbot.run("ingest", str(folder / "good.jsonl"), env=env)
            view = folder / "ro"
            view.mkdir()
            if _mount("--bind", str(folder / "data"), str(view)) and _mount(
                "-o", "remount,bind,ro", str(view)
            ):
                ro = _store_env(view)
                row("read-only store: stats", litbot.run("stats", env=ro))
                row(
                    "read-only store: ask",
                    litbot.run("ask", QUESTION, env=ro),
                    "yes" if litbot.good_stored(ro) else "no",
                )
                row("read-only store: ingest", litbot.run("ingest", str(folder / "good.jsonl"), env=ro))
                subprocess.run(["umount", str(view)], check=False)
            else:
                print("| read-only store | (needs root to mount) | | | | |")
            database = folder / "data" / "chroma" / "chroma.sqlite3"
            if database.exists():
                database.write_bytes(os.urandom(65536))
                row("chroma.sqlite3 overwritten with garbage: stats", litbot.run("stats", env=env))
            else:
                print(
                    "| chroma.sqlite3 overwritten with garbage | (the good file was not ingested) | | | | |"
                )
        with tempfile.TemporaryDirectory(prefix="litbot-attack-") as tmp:
            full = Path(tmp) / "full"
            full.mkdir()
            if _mount("-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(full)):
                corpus = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "corpus-mini"
                row(
                    "full disk (1.5 MB tmpfs): ingest",
                    litbot.run("ingest", str(corpus), env={"LITBOT_CHROMA_PATH": str(full / "c")}),
                )
                subprocess.run(["umount", str(full)], check=False)
            else:
                print("| full disk | (needs root to mount) | | | | |")
    if not only or only & {"output", *OUTPUT_ATTACKS}:
        print("\n| output or LLM attack | exit | peak RSS MB | lines of output | s | what held |")
        print("|---|---|---|---|---|---|")
        output_attacks(litbot, row, only)
    limited = resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\n{stamp}, load {os.getloadavg()[0]:.1f}; {'memory limited' if limited else 'no memory limit'}")


if __name__ == "__main__":
    main()
