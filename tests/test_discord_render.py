"""Discord's limits, rate limiting and conversation memory: the pure parts of the Discord front end."""

from __future__ import annotations

import re

import discord
import pytest

from bot.discord.limits import AnswerSlots, UserRateLimit, parse_rate
from bot.discord.memory import ConversationMemory
from bot.discord.render import (
    EMBED_DESCRIPTION,
    EMBED_FIELD_VALUE,
    EMBED_FIELDS,
    EMBED_TOTAL,
    MESSAGE_LIMIT,
    passages_embed,
    sources_embed,
    split_message,
)
from bot.types import Answer, Citation
from ingest.errors import ConfigError

URL = "https://pubmed.ncbi.nlm.nih.gov/12345678/?from=litbot&utm=" + "x" * 40
ATOMS = re.compile(r"\[\d+\]|https?://\S+")


def long_answer() -> str:
    sentences = []
    for i in range(1, 130):
        sentences.append(f"Claim number {i} is supported by a cohort of {i * 10} patients [{i % 14 + 1}].")
        if i % 7 == 0:
            sentences.append(f"See {URL} and [the trial](https://doi.org/10.1000/{i}) for details [12].")
        if i % 11 == 0:
            sentences.append("\n\n")
    return " ".join(sentences)


def test_short_text_is_one_chunk() -> None:
    assert split_message("Hello [1].") == ["Hello [1]."]


def test_long_text_splits_under_limit_without_cutting_citations_or_links() -> None:
    text = long_answer()
    assert len(text) > 3 * MESSAGE_LIMIT
    chunks = split_message(text)
    assert len(chunks) >= 3
    assert all(len(chunk) <= MESSAGE_LIMIT for chunk in chunks)
    # Every citation and URL of the original appears whole in exactly the chunks, in order.
    assert [m.group() for c in chunks for m in ATOMS.finditer(c)] == [m.group() for m in ATOMS.finditer(text)]
    for chunk in chunks:
        assert not re.search(r"\[\d*$", chunk) and not re.match(r"^\d*\]", chunk)
        assert chunk.rstrip().endswith((".", "]", ")")), chunk[-40:]  # ends at a sentence boundary
    assert re.sub(r"\s+", "", "".join(chunks)) == re.sub(r"\s+", "", text)


def test_split_prefers_paragraphs_and_never_cuts_inside_a_link() -> None:
    first = "A" * 1200 + "."
    second = "B" * 500 + f" see [the source](https://doi.org/10.1/{'y' * 400}) for more [12]."
    chunks = split_message(first + "\n\n" + second)
    assert chunks == [first, second]


def test_unbreakable_run_is_hard_cut_but_stays_under_the_limit() -> None:
    chunks = split_message("z" * 4500)
    assert [len(c) for c in chunks] == [2000, 2000, 500]


def citation(n: int, passage_len: int = 2000, title: str = "") -> Citation:
    return Citation(
        n=n,
        id=f"pmid:{10000 + n}",
        pmid=str(10000 + n),
        title=title or f"Study [{n}] of *things* " + "t" * 300,
        journal="J Test",
        year=2020,
        passages=["@everyone " + "p" * passage_len],
    )


def test_sources_embed_respects_limits_and_links_every_source() -> None:
    answer = Answer(
        question="q", text="t [1]", mode="extractive", citations=[citation(n) for n in range(1, 41)]
    )
    embed = sources_embed(answer)
    assert embed is not None
    assert len(embed.description or "") <= EMBED_DESCRIPTION and len(embed) <= EMBED_TOTAL
    assert "https://pubmed.ncbi.nlm.nih.gov/10001/" in (embed.description or "")
    assert "more" in (embed.description or "")  # 40 long titles do not fit; the rest is counted
    assert embed.to_dict()  # discord.py accepts it


def test_passages_embed_respects_field_and_total_limits() -> None:
    answer = Answer(question="q" * 400, text="t", mode="llm", citations=[citation(n) for n in range(1, 31)])
    embed = passages_embed(answer)
    assert len(embed.fields) <= EMBED_FIELDS
    assert all(len(f.value or "") <= EMBED_FIELD_VALUE and len(f.name or "") <= 256 for f in embed.fields)
    assert len(embed.title or "") <= 256 and len(embed) <= EMBED_TOTAL


def test_no_embed_for_a_refusal_without_citations() -> None:
    assert sources_embed(Answer(question="q", text="no", mode="extractive", refused=True)) is None


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = UserRateLimit(5, 60, clock=lambda: now[0])
    for i in range(5):
        now[0] = i
        assert limiter.hit(1) == 0
    assert limiter.hit(1) == pytest.approx(56)  # the 6th in the window waits for the 1st to age out
    assert limiter.hit(2) == 0  # other users are not affected
    now[0] = 60.5
    assert limiter.hit(1) == 0


def test_parse_rate_rejects_nonsense() -> None:
    assert parse_rate("5/60") == (5, 60.0)
    for bad in ("five", "0/60", "5/0", "5"):
        with pytest.raises(ConfigError):
            parse_rate(bad)


def test_answer_slots_full_only_past_the_queue() -> None:
    slots = AnswerSlots(concurrent=2, queue=1)
    assert not slots.full


def test_memory_is_bounded_and_expires() -> None:
    now = [0.0]
    memory = ConversationMemory(max_conversations=3, idle_seconds=100, clock=lambda: now[0])
    for key in (1, 2, 3):
        memory.conversation(key)
    memory.get(1)  # 1 is now the most recently used
    memory.conversation(4)  # evicts 2, the least recently used
    assert 2 not in memory and 1 in memory and len(memory) == 3
    now[0] = 150
    memory.conversation(5)
    assert len(memory) == 1 and 5 in memory


def test_allowed_mentions_none_parses_nothing() -> None:
    assert discord.AllowedMentions.none().to_dict() == {"parse": []}
