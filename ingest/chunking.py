"""Split an article into chunks that fit the embedding model's window, measured in its own tokens.

Every chunk starts with the article's title (so a chunk found on its own still says what it is about) and
carries the metadata needed to cite and filter it. Most abstracts fit one window of 256 MiniLM tokens or need
two; chunks are balanced in size and overlap by one sentence so no statement loses its context.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.articles import Article
from ingest.sentences import split_sentences

CHUNKER_VERSION = "1"
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


def chunk_article(
    article: Article, count_tokens: TokenCounter, window: int = 256, overlap_sentences: int = 1
) -> list[Chunk]:
    """Chunks of ``article``; ids are ``<article id>#<n>`` and depend only on the article and settings."""
    prefix = f"{article.title}\n\n" if article.title else ""
    body = article.body_text()
    prefix_tokens, body_tokens = count_tokens([prefix.strip() or "x", body])
    prefix_tokens = prefix_tokens - _SPECIAL_TOKENS if prefix else 0
    body_tokens -= _SPECIAL_TOKENS
    budget = max(window - _SPECIAL_TOKENS - prefix_tokens, window // 2)
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


def _pack(pieces: list[tuple[str, int]], budget: int, overlap: int) -> list[list[tuple[str, int]]]:
    """Greedy packing toward an even target size, repeating the last ``overlap`` pieces in the next group."""
    total = sum(n for _, n in pieces)
    target = min(budget, math.ceil(total / math.ceil(total / budget)) + 8)
    groups: list[list[tuple[str, int]]] = []
    current: list[tuple[str, int]] = []
    size = 0
    fresh = 0  # pieces in `current` that are not overlap
    for piece in pieces:
        if current and fresh and size + piece[1] > target:
            groups.append(current)
            carry = current[-overlap:] if overlap else []
            while carry and sum(n for _, n in carry) + piece[1] > budget:
                carry = carry[1:]
            current, size, fresh = list(carry), sum(n for _, n in carry), 0
        current.append(piece)
        size += piece[1]
        fresh += 1
    if current and fresh:
        groups.append(current)
    return groups


def _make(article: Article, index: int, count: int, text: str, tokens: int) -> Chunk:
    return Chunk(
        id=f"{article.id}#{index}", article_id=article.id, index=index, count=count, text=text, tokens=tokens
    )
