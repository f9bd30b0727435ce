"""The read side's front door: a shared :class:`ChatHandler` and one :class:`ChatSession` per conversation.

Front ends (``litbot ask``, the REPL, Discord) build one handler with :meth:`ChatHandler.from_settings`,
open a session per conversation and render the :class:`~bot.types.Answer` that ``ask`` returns. The handler
holds the store, the embedder, the retriever and the answerer (the LLM when one is configured, else
extractive) and is safe to share between threads; a session holds one conversation's history.

A store that has no collection yet is not an error: every question gets the refusal and
:meth:`ChatHandler.store_hint` says to ingest something; the store is looked for again on each question, so a
bot started before the first ingest begins answering without a restart. A vector index a litbot process left
torn when it died writing it is repaired, as `litbot repair` would, before the question is answered; other
damage, unreachable servers, a store built with another embedding model and broken prompt files raise a
:class:`~ingest.errors.LitbotError`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from bot.answer.bridging import DEFAULT_BRIDGES, search_terms
from bot.answer.citations import Composed, make_citation
from bot.answer.extractive import ExtractiveAnswerer
from bot.answer.followups import TopicTracker
from bot.answer.gate import Verdict
from bot.answer.lay_llm import covering_words, technical_terms, wants_terms
from bot.errors import Cancelled
from bot.types import REFUSAL, Answer, Citation, Filters, Usage
from ingest.errors import CollectionMissing, LitbotError, StoreDamaged
from ingest.safe_text import has_surrogates, safe_text
from ingest.settings import Settings
from ingest.studytypes import RETRACTED

if TYPE_CHECKING:
    import numpy as np

    from bot.answer.citations import RetrievedLike
    from bot.answer.concepts import Concept
    from bot.answer.llm import ChatLLM, LLMAnswerer
    from bot.answer.prompting import Prompts
    from bot.retrieval.retriever import RetrievedArticle, Retriever
    from ingest.embeddings import Embedder
    from ingest.store import ArticleStore

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
EMPTY_STORE_HINT = "the store has no articles yet: run `litbot ingest --sample` or `litbot ingest FILES`"


class ChatHandler:
    """Everything needed to answer, shared by all sessions and threads."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        store: ArticleStore | None,
        llm: ChatLLM | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self._store = store
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()
        self.extractive = ExtractiveAnswerer()
        self.llm = llm
        self.llm_answerer: LLMAnswerer | None = None
        if prompts is None:
            from bot.answer.prompting import load_prompts

            prompts = load_prompts(settings)
        self.prompts = prompts
        if llm is not None:
            from bot.answer.llm import LLMAnswerer

            self.llm_answerer = LLMAnswerer(llm, prompts)
        self.mode: Literal["llm", "extractive"] = "llm" if llm is not None else "extractive"
        self.bridges = DEFAULT_BRIDGES  # which sources bridge everyday and technical words

    @classmethod
    def from_settings(cls, settings: Settings, llm_backoff: float = 1.0) -> ChatHandler:
        """Open the store and embedder, load and check the prompts, and build the LLM when configured."""
        from bot.answer.prompting import load_prompts
        from ingest.embeddings import make_embedder

        prompts = load_prompts(settings)  # checked first, in both modes: a broken prompt fails at start
        embedder = QueryMemo(make_embedder(settings))
        # Load the model, and on a second thread the word lists, while Chroma is imported and opened: the slow
        # starts overlap (the model's does not wait for the lists'). Not a daemon: a process
        # that exits while the thread is inside onnxruntime aborts ("terminate called without an active
        # exception") instead of exiting with its own status.
        threading.Thread(
            target=_warm_model, args=(embedder.inner,), name="litbot-warm-model", daemon=False
        ).start()
        threading.Thread(target=_warm_words, name="litbot-warm-words", daemon=False).start()
        llm = None
        if settings.llm_configured:
            from bot.answer.llm import ChatLLM

            llm = ChatLLM(settings, backoff=llm_backoff)
        return cls(settings, embedder, _open_store(settings, embedder), llm, prompts)

    def new_session(self, max_turns: int = 10) -> ChatSession:
        return ChatSession(self, max_turns)

    @property
    def store(self) -> ArticleStore | None:
        """The store, looked for again while it does not exist yet."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = _open_store(self.settings, self.embedder)
        return self._store

    def retriever(self) -> Retriever | None:
        store = self.store
        if store is None:
            return None
        with self._lock:
            if self._retriever is None:
                from bot.retrieval.retriever import Retriever

                self._retriever = Retriever(store, self.embedder, self.settings)
            return self._retriever

    def search(self, query: str, k: int, filters: Filters, expansion: str = "") -> list[RetrievedArticle]:
        """Retrieval. A vector index that a litbot process left torn when it died during its turn at the store
        (an ingest killed mid-write) is repaired first, once, as `litbot repair` would, keeping every intact
        article: a bot keeps answering instead of telling every asker to run the repair."""
        try:
            retriever = self.retriever()
            return retriever.search(query, k=k, filters=filters, expansion=expansion) if retriever else []
        except StoreDamaged as damage:
            if not damage.after_crash:
                raise
            self._repair_after_crash(damage)
        retriever = self.retriever()
        return retriever.search(query, k=k, filters=filters, expansion=expansion) if retriever else []

    def _repair_after_crash(self, damage: StoreDamaged) -> None:
        repair_after_crash(self.settings, self.embedder, damage)
        with self._lock:
            self._retriever = None

    def store_hint(self) -> str | None:
        """Advice when the store is missing or empty (the reason every answer is the refusal), else None."""
        store = self.store
        return EMPTY_STORE_HINT if store is None or store.count_chunks() == 0 else None

    def filter_hint(self, filters: Filters) -> str | None:
        """After a refusal: a journal or study type in ``filters`` that no article of the store has, and how
        many name one (the bundled sample has one journal and no study types); else None."""
        if not (filters.journal or filters.types):
            return None
        retriever = self.retriever()
        return "; ".join(retriever.unmatched_filters(filters) if retriever else []) or None

    def stats(self) -> dict[str, object]:
        """What front ends show about the set-up; never a secret."""
        store = self.store
        return {
            "articles": store.count_articles() if store else 0,
            "chunks": store.count_chunks() if store else 0,
            "embedding_model": (store.embedding_model if store else "") or self.embedder.name,
            "store": self.settings.store_label,
            "mode": self.mode,
            "llm_model": self.settings.llm_model if self.mode == "llm" else "none (extractive answers)",
        }

    def concepts(self, question: str, follow_up: str = "") -> list[Concept]:
        """The question's concepts, each with the other names abstracts may use for it (bot.answer.bridging).
        For a follow-up, ``follow_up`` is what the user just typed: the concepts it adds must be in the
        articles' own words (a follow-up asks about exactly that, so similarity is not enough)."""
        from bot.answer.bridging import bridge
        from bot.answer.concepts import key_concepts, runs

        retriever = self.retriever()
        if retriever is None:
            return []
        index = (
            retriever.latest_index()
        )  # the vocabulary as last seen: no turn at the store before retrieval's
        focus = {word for run in runs(follow_up) for word in run} if follow_up else set()
        concepts = [replace(c, strict=True) if c.text in focus else c for c in key_concepts(question, index)]
        return bridge(concepts, index, self.bridges)

    def judge(
        self,
        question: str,
        articles: Sequence[RetrievedLike],
        follow_up: str = "",
        concepts: Sequence[Concept] | None = None,
    ) -> Verdict:
        """The answerability gate's verdict on ``articles`` (retrieved for ``question``, whose ``concepts``
        are :meth:`concepts` unless given)."""
        from bot.answer.evidence import read_articles
        from bot.answer.gate import DEFAULT_GATE, GateParams, judge, nothing_found
        from bot.answer.naming import NAME_COSINE

        if concepts is None:
            concepts = self.concepts(question, follow_up)
        if not articles:
            return nothing_found(concepts)
        vector = self.embedder.embed_query(question)
        evidence = read_articles(articles, vector, self._article_texts, self.embedder.embed_documents)
        params = GateParams(
            known_relevance=self.settings.threshold("answer_relevance"),
            unknown_relevance=self.settings.threshold("lay_word_relevance"),
            phrase_cosine=NAME_COSINE if self.bridges.names else DEFAULT_GATE.phrase_cosine,
        )
        return judge(question, list(concepts), evidence, self.embedder.embed_documents, params)

    def _article_texts(self, article: RetrievedLike) -> list[str]:
        """An article's chunks in reading order, without the title prefix (for extractive answers), as the
        lexical index holds them: the version retrieval saw, read without another turn at the store."""
        count = int(article.metadata.get("n_chunks") or 1)
        retriever = self.retriever()
        if count <= 1 or retriever is None:
            return list(article.passages)
        rows = retriever.latest_index().index.articles(article_ids=[article.article_id])
        texts = next((row.texts for row in rows.values()), None)
        return list(texts) if texts else list(article.passages)


class QueryMemo:
    """The embedder, remembering recent query vectors: retrieval and the extractive answer embed the same
    (standalone) question, and a front end often asks it again."""

    def __init__(self, inner: Embedder, size: int = 128) -> None:
        self.inner = inner
        self.name = inner.name
        self.max_tokens = inner.max_tokens
        self.group_size = inner.group_size
        self._size = size
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.inner.count_tokens(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            if text in self._memo:
                self._memo.move_to_end(text)
                return self._memo[text]
        vector = self.inner.embed_query(text)
        with self._lock:
            self._memo[text] = vector
            while len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return vector


def _warm_model(embedder: Embedder) -> None:
    """Load the local model now (never calls a remote embedding API): onnxruntime builds its session outside
    Python's lock, so this overlaps the store's import. A graph not built yet is left to the first question
    that needs it: an empty store answers without the model."""
    from ingest.embeddings import MiniLMEmbedder

    with contextlib.suppress(Exception):  # the real call reports any problem
        if isinstance(embedder, MiniLMEmbedder) and embedder.graph_cached():
            embedder.embed_query("warm-up")


def _warm_words() -> None:
    """Load the gate's word lists now (wordfreq, lemminflect, the WordNet table)."""
    from bot.answer import concepts, lexicon

    with contextlib.suppress(Exception):
        concepts.warm_up()
        lexicon.warm_up()


def _open_store(settings: Settings, embedder: Embedder) -> ArticleStore | None:
    from ingest.store import open_store

    try:
        try:
            return open_store(settings, embedder.name, create=False)
        except StoreDamaged as damage:
            if not damage.after_crash:
                raise
            repair_after_crash(settings, embedder, damage)
        return open_store(settings, embedder.name, create=False)
    except CollectionMissing:
        return None


def repair_after_crash(settings: Settings, embedder: Embedder, damage: StoreDamaged) -> None:
    """Repair, as `litbot repair` would, a store a killed litbot process left torn (other threads and processes
    wait for the store meanwhile), saying so in the log."""
    from ingest.store_health import repair_after_crash as repair

    log.warning(
        "%s — a litbot process stopped while writing it; repairing it as `litbot repair` would",
        damage.message,
    )
    report = repair(settings, embedder, damage)
    log.warning(
        "repaired in %.1f s: %d vectors salvaged, %d chunks re-embedded",
        report.seconds,
        report.salvaged_vectors,
        report.reembedded_chunks,
    )


class ChatSession:
    """One conversation: history bounded by ``max_turns``; follow-ups become standalone questions."""

    def __init__(self, handler: ChatHandler, max_turns: int = 10) -> None:
        self.handler = handler
        self.max_turns = max_turns
        self.history: list[tuple[str, Answer]] = []
        self.last_answer: Answer | None = None
        self._topic = TopicTracker()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.history.clear()
            self.last_answer = None
            self._topic.reset()

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Answer:
        """Answer ``question`` in the context of this conversation (see the module docstring for errors)."""
        if has_surrogates(question):  # bytes that were not UTF-8 (argv, a pipe): no model can read them
            raise LitbotError(
                "the question is not valid UTF-8 text", "type it again, or save the file as UTF-8"
            )
        question = " ".join(safe_text(question).split())
        if not question:
            raise LitbotError("the question is empty", 'ask something, e.g. `litbot ask "Does X reduce Y?"`')
        if len(question) > MAX_QUESTION_CHARS:
            raise LitbotError(
                f"the question is too long ({len(question)} characters)",
                f"keep it under {MAX_QUESTION_CHARS}",
            )
        with self._lock:
            answer = self._ask(
                question, filters or Filters(), k or self.handler.settings.top_k, on_token, cancel
            )
            self.history.append((question, answer))
            del self.history[: -self.max_turns]
            self.last_answer = answer
            return answer

    def _ask(
        self,
        question: str,
        filters: Filters,
        k: int,
        on_token: Callable[[str], None] | None,
        cancel: threading.Event | None,
    ) -> Answer:
        handler = self.handler
        timings: dict[str, float] = {}
        start = time.perf_counter()
        _check(cancel)
        standalone, usage = self._standalone(question, cancel)
        timings["condense"] = round(time.perf_counter() - start, 4)
        mark = time.perf_counter()
        follow_up = question if standalone != question else ""
        concepts = handler.concepts(standalone, follow_up)
        if handler.llm is not None and wants_terms(
            concepts
        ):  # everyday names: ask the model for technical ones
            concepts, extra = technical_terms(handler.llm, handler.prompts, standalone, concepts)
            usage = _add(usage, extra)
            _check(cancel)
        # retracted articles are left out unless asked for: search deeper so they do not cost a source
        depth = k if filters.include_retracted else 2 * k
        expansion = search_terms(concepts) if handler.bridges.search else ""
        found = handler.search(standalone, k=depth, filters=filters, expansion=expansion)
        articles, withheld = _withhold_retracted(found, k, filters.include_retracted)
        timings["retrieve"] = round(time.perf_counter() - mark, 4)
        _check(cancel)
        mark = time.perf_counter()
        verdict = handler.judge(standalone, articles, follow_up=follow_up, concepts=concepts)
        if verdict.outcome == "partial" and handler.llm is not None:
            # the model may see what the gate could not match: words of a quoted sentence that name it
            named, extra = covering_words(handler.llm, handler.prompts, verdict)
            usage = _add(usage, extra)
            if named != verdict.concepts:
                verdict = handler.judge(standalone, articles, follow_up=follow_up, concepts=named)
            _check(cancel)
        timings["judge"] = round(time.perf_counter() - mark, 4)
        _check(cancel)
        mark = time.perf_counter()
        if verdict.outcome == "refuse":
            composed = Composed(REFUSAL, refused=True, missing=verdict.missing_text)
            if on_token is not None:
                on_token(REFUSAL)
        elif handler.llm_answerer is not None:
            composed = handler.llm_answerer.answer(standalone, verdict, on_token, cancel)
        else:
            composed = handler.extractive.answer(standalone, verdict, filters.describe())
            _check(cancel)
            if on_token is not None:
                on_token(composed.text)
        timings["generate"] = round(time.perf_counter() - mark, 4)
        timings["total"] = round(time.perf_counter() - start, 4)
        return Answer(
            question=question, standalone_question=standalone, text=composed.text, mode=handler.mode,
            citations=composed.citations, refused=composed.refused, missing=composed.missing, filters=filters,
            withheld=withheld, timings=timings,
            usage=_add(usage, composed.usage) if handler.mode == "llm" else None,
        )  # fmt: skip

    def _standalone(self, question: str, cancel: threading.Event | None) -> tuple[str, Usage | None]:
        """The question made standalone: the condense prompt in LLM mode, a topic merge otherwise."""
        handler = self.handler
        merged = self._topic.standalone(question)  # also keeps the topic current for a fallback
        if handler.llm is None or not self.history:
            return merged, None
        from bot.answer.followups import keeps_the_conversation
        from bot.answer.llm import CONDENSE_MAX_TOKENS, cost_usd, is_refusal
        from bot.answer.prompting import format_history

        turns = [(q, a.text) for q, a in self.history[-3:]]
        prompt = handler.prompts.condense_message(format_history(turns), question)
        # Streamed, though no one watches it: the timeout is per read, and a slow local model writing a token a
        # second would otherwise trip it before its first byte (a whole unstreamed reply comes at once).
        result = handler.llm.generate(
            None, prompt, on_text=lambda _: None, cancel=cancel, max_tokens=CONDENSE_MAX_TOKENS
        )
        line = next((ln for ln in result.text.strip().splitlines() if ln.strip()), "")
        line = line.removeprefix("Standalone question:").strip().strip("\"'“”").strip()
        asked = [q for q, _ in self.history[-3:]] + [question]
        usable = 0 < len(line) <= MAX_QUESTION_CHARS and not is_refusal(line)
        standalone = line if usable and keeps_the_conversation(line, asked) else merged
        cost = cost_usd(handler.llm.model_name, result.prompt_tokens, result.completion_tokens)
        return standalone, Usage(
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost_usd=cost,
            estimated=result.estimated,
        )


def _withhold_retracted(
    found: Sequence[RetrievedLike], k: int, include: bool
) -> tuple[list[RetrievedLike], list[Citation]]:
    """The ``k`` best articles to answer from, and the retracted ones that ranked among them and were left
    out (each named in the answer's notes). With ``include`` nothing is left out: they are cited, marked."""
    if include:
        return list(found[:k]), []
    kept: list[RetrievedLike] = []
    withheld: list[Citation] = []
    for article in found:
        if len(kept) == k:
            break
        if article.metadata.get("retraction") == RETRACTED:
            withheld.append(make_citation(0, article, article.passages[:1]))
        else:
            kept.append(article)
    return kept, withheld


def _add(a: Usage | None, b: Usage | None) -> Usage | None:
    if a is None or b is None:
        return a or b
    cost = None if a.cost_usd is None or b.cost_usd is None else round(a.cost_usd + b.cost_usd, 6)
    return Usage(
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        cost_usd=cost,
        estimated=a.estimated or b.estimated,
    )


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled()
