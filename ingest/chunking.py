"""Split an article into chunks that fit the embedding model's window, measured in its own tokens.

Every chunk starts with the article's title (so a chunk found on its own still says what it is about) and
carries the metadata needed to cite and filter it. Most abstracts fit one window of 256 MiniLM tokens or need
two; chunks are balanced in size and overlap by one sentence so no statement loses its context.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ingest.articles import Article
from ingest.sentences import split_sentences

CHUNKER_VERSION = "2"
_SPECIAL_TOKENS = 2  # [CLS] and [SEP]

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class Chunk:
    id: str
    article_id: str
    index: int
    count: int
    text: str
    tokens: int


def title_prefix(title: str) -> str:
    """What every chunk of an article starts with: its title and a blank line (nothing when untitled)."""
    return f"{title}\n\n" if title else ""


def without_title(text: str, title: str) -> str:
    """A stored chunk's text without its title prefix."""
    prefix = title_prefix(title)
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def _units(article: Article) -> list[str]:
    """Sentences of the body, each section's label kept on its first sentence."""
    if not article.sections:
        return split_sentences(article.abstract)
    units: list[str] = []
    for section in article.sections:
        sentences = split_sentences(section.text)
        if sentences and section.label:
            sentences[0] = f"{section.label}: {sentences[0]}"
        units.extend(sentences)
    return units


def _split_long(sentence: str, tokens: int, budget: int) -> list[str]:
    """A sentence longer than the budget is cut on word boundaries into roughly equal parts."""
    words = sentence.split()
    parts = math.ceil(tokens / budget)
    per_part = max(1, math.ceil(len(words) / parts))
    return [" ".join(words[i : i + per_part]) for i in range(0, len(words), per_part)]


class _Counts:
    """Token counts kept in a table that is filled many texts at a time: the tokenizer is called once per
    batch of articles instead of once or twice per article."""

    def __init__(self, count_tokens: TokenCounter) -> None:
        self._count = count_tokens
        self._known: dict[str, int] = {}

    def fill(self, texts: Iterable[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._known))
        if missing:
            self._known.update(zip(missing, self._count(missing), strict=True))

    def __call__(self, texts: Sequence[str]) -> list[int]:
        self.fill(texts)
        return [self._known[t] for t in texts]


def _head(article: Article) -> tuple[str, str]:
    """The two texts counted first: the title (a stand-in when untitled) and the whole body."""
    return title_prefix(article.title).strip() or "x", article.body_text()


def _measure(article: Article, count_tokens: TokenCounter, window: int) -> tuple[int, int, int]:
    """(title tokens, body tokens, the body's budget per chunk), special tokens left out."""
    prefix_tokens, body_tokens = count_tokens(_head(article))
    prefix_tokens = prefix_tokens - _SPECIAL_TOKENS if article.title else 0
    body_tokens -= _SPECIAL_TOKENS
    return prefix_tokens, body_tokens, max(window - _SPECIAL_TOKENS - prefix_tokens, window // 2)


def chunk_articles(
    articles: Sequence[Article], count_tokens: TokenCounter, window: int = 256, overlap_sentences: int = 1
) -> list[list[Chunk]]:
    """``chunk_article`` of each article, the same chunks, with the tokens counted in three batched calls:
    titles and bodies, then the sentences of the bodies that need more than one chunk."""
    counts = _Counts(count_tokens)
    counts.fill(text for article in articles for text in _head(article))
    longer = []
    for article in articles:
        _, body_tokens, budget = _measure(article, counts, window)
        if body_tokens > budget:
            longer.append(article)
    counts.fill(unit for article in longer for unit in _units(article))
    return [chunk_article(a, counts, window, overlap_sentences) for a in articles]


def chunk_article(
    article: Article, count_tokens: TokenCounter, window: int = 256, overlap_sentences: int = 1
) -> list[Chunk]:
    """Chunks of ``article``; ids are ``<article id>#<n>`` and depend only on the article and settings."""
    prefix = title_prefix(article.title)
    body = article.body_text()
    prefix_tokens, body_tokens, budget = _measure(article, count_tokens, window)
    if body_tokens <= budget:
        return [_make(article, 0, 1, prefix + body, prefix_tokens + body_tokens + _SPECIAL_TOKENS)]

    units = _units(article)
    sizes = [n - _SPECIAL_TOKENS for n in count_tokens(units)]
    pieces: list[tuple[str, int]] = []
    for unit, size in zip(units, sizes, strict=True):
        if size <= budget:
            pieces.append((unit, size))
        else:
            parts = _split_long(unit, size, budget)
            pieces.extend(zip(parts, [n - _SPECIAL_TOKENS for n in count_tokens(parts)], strict=True))

    groups = _pack(pieces, budget, overlap_sentences)
    texts = [(" ".join(p for p, _ in group), sum(n for _, n in group)) for group in groups]
    return [
        _make(article, i, len(texts), prefix + text, prefix_tokens + n + _SPECIAL_TOKENS)
        for i, (text, n) in enumerate(texts)
    ]


def _greedy(sizes: list[int], capacity: int) -> list[int]:
    """Start index of each group when packing left to right up to ``capacity`` (optimal group count)."""
    starts, size = [0], 0
    for i, n in enumerate(sizes):
        if size and size + n > capacity:
            starts.append(i)
            size = 0
        size += n
    return starts


def _pack(pieces: list[tuple[str, int]], budget: int, overlap: int) -> list[list[tuple[str, int]]]:
    """As few chunks as the budget allows, balanced in size, then the last ``overlap`` pieces of each chunk
    repeated at the start of the next where they still fit (overlap never costs an extra chunk)."""
    sizes = [n for _, n in pieces]
    fewest = len(_greedy(sizes, budget))
    low, high = max(sizes), budget  # smallest capacity that still needs no more than `fewest` chunks
    while low < high:
        mid = (low + high) // 2
        if len(_greedy(sizes, mid)) <= fewest:
            high = mid
        else:
            low = mid + 1
    starts = [*_greedy(sizes, low), len(pieces)]
    groups = [pieces[a:b] for a, b in pairwise(starts)]
    if not overlap:
        return groups
    out = [groups[0]]
    for previous, group in pairwise(groups):
        carry = previous[-overlap:]
        while carry and sum(n for _, n in carry) + sum(n for _, n in group) > budget:
            carry = carry[1:]
        out.append([*carry, *group])
    return out


def _make(article: Article, index: int, count: int, text: str, tokens: int) -> Chunk:
    return Chunk(
        id=f"{article.id}#{index}", article_id=article.id, index=index, count=count, text=text, tokens=tokens
    )
