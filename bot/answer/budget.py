"""Fitting the prompt to the model's context window, and counting tokens when the server does not.

A server's context window is finite (llama.cpp and Ollama often run with 2,048 or 4,096 tokens). A prompt that
does not fit, with room left for the answer, is refused by some servers and silently cut from the front by
others (the instructions go first). So the prompt is measured before it is sent: the weakest passages are
dropped until it fits, and if even the best one alone does not, its text is shortened.

The model's own tokenizer is not available offline, so tokens are counted with the bundled MiniLM WordPiece
tokenizer (ingest/models), times a margin. On 40 PubMedQA abstracts WordPiece gave 0.91-1.23 times Gemma 3's
count (median 1.03; RELIABILITY.md › The LLM path against a real server), so with :data:`MARGIN` the estimate
was at least 1.05 times the real count on every one of them.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from tokenizers import Tokenizer

#: Estimated tokens are WordPiece tokens times this (models differ; a prompt a little short is harmless).
MARGIN = 1.15
#: Tokens a chat template adds per message (role markers, separators).
PER_MESSAGE = 8
#: The answer's room in the context: the configured max_tokens, but at most a quarter of the window, so that
#: a small window still holds passages (an answer is 2-6 sentences, ~200 tokens).
MIN_ANSWER_ROOM = 256

T = TypeVar("T")


class TokenCounter:
    """Approximate token counts of any text, offline; loaded on first use, safe to share between threads."""

    def __init__(self) -> None:
        self._tokenizer: Tokenizer | None = None
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        """Estimated tokens of ``text`` for an unknown chat model (never less than a quarter of its bytes)."""
        if not text:
            return 0
        with self._lock:
            if self._tokenizer is None:
                from ingest.embeddings import load_tokenizer

                self._tokenizer = load_tokenizer()
                self._tokenizer.no_truncation()
            pieces = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return max(math.ceil(pieces * MARGIN), len(text.encode()) // 4)


class ContextTooSmall(Exception):
    """Not even the instructions, the question and the shortest passage fit in the context window."""

    def __init__(self, needed: int, window: int) -> None:
        super().__init__(f"{needed} tokens needed, {window} in the window")
        self.needed = needed
        self.window = window


def answer_room(max_tokens: int, window: int) -> int:
    """Tokens kept free for the answer in a ``window``-token context."""
    return min(max_tokens, max(MIN_ANSWER_ROOM, window // 4))


def fit_passages(
    passages: Sequence[T],
    render: Callable[[Sequence[T]], str],
    shorten: Callable[[T, int], T],
    count: Callable[[str], int],
    budget: int,
) -> list[T]:
    """The longest prefix of ``passages`` (best first) whose prompt, ``render(prefix)``, takes at most
    ``budget`` tokens; when even the first alone is too long, the first shortened to fit (``shorten(p, words)``
    keeps its first ``words`` words). Raises :class:`ContextTooSmall` when nothing fits."""
    kept = list(passages)
    while len(kept) > 1 and count(render(kept)) > budget:
        kept.pop()
    if not kept or count(render(kept)) <= budget:
        return kept
    best = kept[0]
    low, high = 0, 1 << 16  # words of the best passage: the most that fit, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if count(render([shorten(best, middle)])) <= budget:
            low = middle
        else:
            high = middle - 1
    if low < 20:  # a passage cut to a few words says nothing: better no answer than a made-up one
        raise ContextTooSmall(count(render([shorten(best, 20)])), budget)
    return [shorten(best, low)]
