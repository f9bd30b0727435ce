"""Turning an :class:`Answer` into what Discord accepts: message chunks and embeds within Discord's limits.

Pure functions (no network, no client) so the limits are tested directly. Discord rejects a message over 2,000
characters and an embed over its limits outright, so every piece of text that reaches Discord passes through
here. Text is split on paragraph, line or sentence boundaries and never inside a link or a citation such as
``[12]``: a cut there would break the link or leave a reader with a dangling number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import discord

from bot.render import answer_notes, footer
from bot.types import Answer, Citation
from ingest.safe_text import safe_text

MESSAGE_LIMIT = 2000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_TOTAL = 6000
THREAD_NAME = 100
#: An answer is cut at this many characters (three messages); litbot's own answers are a few hundred.
ANSWER_CHARS = 3 * MESSAGE_LIMIT - 200
ANSWER_CUT = "The answer was cut here: it is longer than an answer posted in Discord may be."
EMBED_COLOUR = discord.Colour.blurple()

# Spans that must stay whole: markdown links, bare URLs and citations like [3], [3, 4] or [3-5] (escaped as
# \[3\] in text litbot did not write).
_CITE = r"\\?\[\d+(?:\s*[,–-]\s*\d+)*\\?\]"
_ATOMIC = re.compile(rf"\[[^\]\n]{{0,300}}\]\(<?https?://[^)\s]+>?\)|<?https?://\S+|{_CITE}")
# A sentence ends at . ! or ?, possibly followed by quotes/brackets and citations that belong to it.
_SENTENCE_END = re.compile(rf"[.!?][\"')\]]*(?:\s*{_CITE})*(?=\s)")


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters at the most natural boundary available.

    Preference: paragraph break, line break, sentence end, any whitespace; a hard cut only when a single
    unbreakable run is longer than ``limit`` (and even then never inside a link or citation that fits).
    """
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _best_cut(rest, limit)
        head, tail = rest[:cut].rstrip(), rest[cut:].lstrip()
        # cut mid-line: a "# x" or "> x" that now starts a message of its own would read as Markdown
        mid_line = "\n" not in rest[len(head) : len(rest) - len(tail)]
        if mid_line and (starts := _LINE_START.match(tail)):
            tail = tail[: starts.start(2)] + "\\" + tail[starts.start(2) :]
        rest = tail
        if head:
            chunks.append(head)
    if rest:
        chunks.append(rest)
    return chunks


def _best_cut(text: str, limit: int) -> int:
    window = text[: limit + 1]
    protected = [(m.start(), m.end()) for m in _ATOMIC.finditer(text, 0, min(len(text), limit + 2048))]

    def allowed(pos: int) -> bool:
        return 0 < pos <= limit and not any(start < pos < end for start, end in protected)

    paragraphs = [m.start() for m in re.finditer(r"\n\s*\n", window)]
    lines = [m.start() for m in re.finditer(r"\n", window)]
    sentences = [m.end() for m in _SENTENCE_END.finditer(window)]
    spaces = [m.start() for m in re.finditer(r"\s", window)]
    floor = limit // 4  # a boundary very early in the text would make a uselessly short chunk
    for positions, lowest in ((paragraphs, floor), (lines, floor), (sentences, floor), (spaces, 1)):
        best = max((p for p in positions if p >= lowest and allowed(p)), default=0)
        if best:
            return best
    # One unbreakable run longer than the limit: cut before a link or citation rather than through it, and
    # never between a backslash and the character it escapes (the next message would start unescaped).
    starts = [start for start, end in protected if 0 < start < limit < end]
    cut = starts[0] if starts else limit
    while cut > 1 and (len(text[:cut]) - len(text[:cut].rstrip("\\"))) % 2:
        cut -= 1
    return cut


def clip(text: str, limit: int) -> str:
    """Shorten ``text`` to ``limit`` characters with an ellipsis, at a word boundary when one is near."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    if space > limit * 0.7:
        head = head[:space]
    return head.rstrip() + "…"


def _link_text(text: str, limit: int) -> str:
    """Text safe inside ``[...]( )``: brackets would end the link early, markdown would restyle it."""
    return plain(clip(text.replace("[", "(").replace("]", ")"), limit))


def source_line(citation: Citation, label_limit: int = 160) -> str:
    label = _link_text(citation.label, label_limit)
    url = citation.link
    head = f"[{label}](<{url}>)" if url else label
    where = ", ".join(str(part) for part in (citation.journal, citation.year) if part)
    ids = f"PMID {citation.pmid}" if citation.pmid else (f"doi:{citation.doi}" if citation.doi else "")
    kinds = ", ".join(tag for tag in citation.tags if tag != "RETRACTED")
    tail = " · ".join(
        part for part in (f"*{plain(kinds)}*" if kinds else "", plain(where), plain(ids)) if part
    )
    mark = "⚠️ **RETRACTED** " if citation.retracted else ""
    return f"**[{citation.n}]** {mark}{head}" + (f" — {tail}" if tail else "")


def answer_footer(answer: Answer) -> str:
    return clip(footer(answer), EMBED_FOOTER)


def sources_embed(answer: Answer) -> discord.Embed | None:
    """One embed of the numbered sources, each linked to PubMed or its DOI; None when nothing is cited."""
    if not answer.citations:
        return None
    embed = discord.Embed(title="Sources", colour=EMBED_COLOUR)
    footer = answer_footer(answer)
    budget = min(EMBED_DESCRIPTION, EMBED_TOTAL - len(embed.title or "") - len(footer))
    lines: list[str] = []
    used = 0
    for index, citation in enumerate(answer.citations):
        line = source_line(citation)
        remaining = len(answer.citations) - index - 1
        reserve = len(f"\n…and {remaining} more") if remaining else 0
        if used + len(line) + 1 + reserve > budget:
            lines.append(f"…and {len(answer.citations) - index} more")
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(text=footer)
    return embed


def passages_embed(answer: Answer) -> discord.Embed:
    """The last answer's sources with the passages it drew on, one field per source (for /sources)."""
    embed = discord.Embed(title=clip(f"Sources for: {answer.question}", EMBED_TITLE), colour=EMBED_COLOUR)
    total = len(embed.title or "")
    for citation in answer.citations[:EMBED_FIELDS]:
        tags = f"[{' · '.join(citation.tags)}] " if citation.tags else ""
        name = clip(f"[{citation.n}] {tags}{plain(citation.label)}", EMBED_FIELD_NAME)
        url = citation.link
        link = f"\n<{url}>" if url else ""
        body = "\n".join(f"> {plain(p)}" for p in citation.passages) or "(no passage text)"
        value = clip(body, EMBED_FIELD_VALUE - len(link)) + link
        if total + len(name) + len(value) > EMBED_TOTAL:
            value = clip(body, max(EMBED_TOTAL - total - len(name) - len(link), 0)) + link
            if total + len(name) + len(value) > EMBED_TOTAL:
                break
        embed.add_field(name=name, value=value, inline=False)
        total += len(name) + len(value)
    if not answer.citations:
        embed.description = "The last answer cited no sources."
    return embed


def answer_messages(answer: Answer) -> list[str]:
    """The answer text, then its notes (what was not found, active filters) as small print, as message
    chunks (the sources go in the embed on the last chunk). An answer longer than :data:`ANSWER_CHARS` is
    cut there and says so: a channel is not the place for pages of text, and its notes must still follow."""
    lines = [f"**⚠️ {plain(n)}**" if "RETRACTED" in n else f"-# {plain(n)}" for n in answer_notes(answer)]
    if answer.withheld:
        lines.append("-# The include_retracted option of /ask answers from them too, marked.")
    notes = "\n".join(lines)
    text = plain(answer.text)
    if len(text) > ANSWER_CHARS:
        text = clip(text, ANSWER_CHARS) + f"\n-# {ANSWER_CUT}"
    text = f"{text}\n\n{notes}" if notes else text
    return split_message(text) or ["(empty answer)"]


def plain(text: str) -> str:
    """Text litbot did not write (a model's answer, an abstract's sentence, a title, a server's error) as
    Discord shows it literally: first the one sanitiser every front end uses (no control or invisible
    characters, so nothing hides between ``]`` and ``(``), then every Markdown character escaped — each
    bracket, not only the first (discord.py's ``escape_markdown`` escapes one ``[`` per text and leaves a
    backslash alone, so ``\\[x](url)`` or a second ``[2](url)`` stays a live masked link) — and mentions
    defused. Bare URLs are kept as they are, so they still work and show where they lead."""
    text = _MARKDOWN.sub(_escape, safe_text(text))
    return discord.utils.escape_mentions(_LINE_START.sub(r"\1\\\2", text))


# A bare link (kept whole: escaping inside it would change where it leads), else one Markdown character.
_MARKDOWN = re.compile(r"(?P<url>https?://[^\s<>\[\]()\\`|*]+)|[\\*_~`|\[\]<>]")
# What Markdown reads only at the start of a line: headings, -# small print, quotes, list items.
_LINE_START = re.compile(r"^(\s*(?:\d+(?=\.))?)([#+>.-])", re.MULTILINE)


def _escape(match: re.Match[str]) -> str:
    return match.group("url") or "\\" + match.group()


def stats_embed(stats: Mapping[str, object]) -> discord.Embed:
    embed = discord.Embed(title="Corpus", colour=EMBED_COLOUR)
    for key, value in list(stats.items())[:EMBED_FIELDS]:
        embed.add_field(name=clip(key.replace("_", " "), EMBED_FIELD_NAME), value=clip(str(value), 1000))
    return embed


def thread_name(question: str) -> str:
    return clip(safe_text(question, one_line=True), THREAD_NAME) or "litbot"
