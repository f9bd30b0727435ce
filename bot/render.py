"""Plain-text rendering of an :class:`~bot.types.Answer`, shared by front ends that print text.

No colours or markup, so the same lines work in a pipe, a log or a chat message.
"""

from __future__ import annotations

from bot.types import Answer, Citation


def tag_text(citation: Citation) -> str:
    """``[RCT]``, ``[RETRACTED · RCT]``: the study type and status in brackets ("" when neither is known)."""
    return f"[{' · '.join(citation.tags)}]" if citation.tags else ""


def source_line(citation: Citation) -> str:
    """``[n] [RCT] Title. Journal, year. link`` (``[RETRACTED · RCT]`` for a retracted one)"""
    tags = tag_text(citation)
    label = citation.label  # a title ending in "?" or "!" gets no "." after it ("…during IVF? 2011.")
    parts = (
        [f"[{citation.n}]"]
        + ([tags] if tags else [])
        + [label if label.endswith(("?", "!")) else f"{label}."]
    )
    where = ", ".join(str(x) for x in (citation.journal, citation.year) if x)
    if where:
        parts.append(f"{where}.")
    link = citation.link
    if link:
        parts.append(link)
    return " ".join(parts)


def answer_notes(answer: Answer) -> list[str]:
    """What a reader should know about a refusal or a partial answer: what was not found, active filters.

    Every front end shows these lines under the answer (each adds its own way to clear filters)."""
    notes = []
    for citation in answer.citations:
        if citation.retracted:
            notes.append(
                f"Source [{citation.n}] is RETRACTED: its findings were withdrawn; do not rely on it."
            )
    if answer.withheld:
        names = "; ".join(_named(c) for c in answer.withheld)
        many = len(answer.withheld) > 1
        notes.append(
            f"{len(answer.withheld)} retracted article{'s' if many else ''} matched and "
            f"{'were' if many else 'was'} left out of the answer: {names}."
        )
    if answer.refused and answer.missing:
        # the retracted ones just named may well hold these words: the rest of the store does not
        where = "the other indexed abstracts" if answer.withheld else "the indexed abstracts"
        notes.append(f"Not found in {where}: " + ", ".join(answer.missing) + ".")
    if (answer.refused or answer.missing) and not answer.filters.is_empty():
        notes.append(
            f"Filters are active ({answer.filters.describe()}): articles outside them were not searched."
        )
    return notes


def _named(citation: Citation) -> str:
    ref = (
        f"PMID {citation.pmid}" if citation.pmid else (f"doi:{citation.doi}" if citation.doi else citation.id)
    )
    return f"“{citation.label}” ({ref})"


def sources_block(answer: Answer) -> str:
    if not answer.citations:
        return ""
    return "Sources:\n" + "\n".join(source_line(c) for c in answer.citations)


def footer(answer: Answer) -> str:
    """One line on how the answer was made: mode, time, tokens and cost in LLM mode, filters, the
    question as searched (every front end shows this line)."""
    bits = [f"{answer.mode} mode"]
    total = answer.timings.get("total")
    if total is not None:
        bits.append(f"{total:.1f} s")
    if answer.usage is not None:
        about = "~" if answer.usage.estimated else ""  # counted by litbot: the server did not say
        bits.append(
            f"{about}{answer.usage.prompt_tokens} prompt + {about}{answer.usage.completion_tokens} "
            "completion tokens"
        )
        if answer.usage.cost_usd is not None:
            bits.append(f"${answer.usage.cost_usd:.5f}")
    if not answer.filters.is_empty():
        bits.append(f"filters: {answer.filters.describe()}")
    if answer.standalone_question and answer.standalone_question != answer.question:
        bits.append(f'searched for: "{answer.standalone_question}"')
    return " · ".join(bits)
