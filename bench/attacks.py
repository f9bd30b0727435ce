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
        with stdin_file.open("rb") if stdin_file else open(os.devnull, "rb") as source:
            done = subprocess.run(
                [sys.executable, "-c", _RUNNER, str(self.timeout), *self.command, *args],
                capture_output=True,
                cwd=cwd or self.cwd,
                env={**self.env, **(env or {})},
                input=stdin.encode() if stdin else None,
                stdin=None if stdin else source,
                timeout=self.timeout + 60,
            )
        head, _, rest = done.stdout.partition(b"\n")
        code, rss, seconds = head.decode().split()
        return Run(code, int(rss), float(seconds), rest.decode("utf-8", "replace"))

    def good_stored(self, env: dict[str, str]) -> bool:
        done = self.run("ask", QUESTION, "--json", env=env)
        try:
            return any(
                c.get("pmid") == GOOD["pmid"] for c in json.loads(done.output.splitlines()[0])["citations"]
            )
        except (ValueError, IndexError, KeyError, TypeError):
            return False


def _store_env(data: Path) -> dict[str, str]:
    # Both variables, so that an older litbot (whose store did not follow the data folder) stays inside too.
    return {"LITBOT_DATA_DIR": str(data), "LITBOT_CHROMA_PATH": str(data / "chroma")}


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
            self.send_response(200)
            self.send_header("Content-Length", str(len(ESEARCH)))
            self.end_headers()
            self.wfile.write(ESEARCH)
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
