"""With a language model: its knowledge of everyday and technical names, bounded and checked.

Two short requests, each capped in output words and in seconds, neither trusted blindly:

* :func:`technical_terms`, before retrieval: the model names the technical terms for the question's everyday
  names ("bile sac => gallbladder"). They join the concepts' other names (:mod:`bot.answer.bridging`): the
  lexical search looks for them, and the gate counts an article that *holds one in words* as holding the
  concept. A wrong term finds nothing; it cannot make an article cover what it does not say.
* :func:`covering_words`, after a partial verdict: for each concept the gate could not match, the model copies
  the words of a quoted sentence that name it ("tablets => oral hypoglycemic agents"). Words not found in that
  sentence are dropped; the rest become other names of the concept and the gate judges again.

A request that fails, is slow or rambles only means no help: the answer goes on without it. Kept apart from
:mod:`bot.answer.llm` (the answer itself) so each can change alone.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bot.answer.abbreviations import normal
from bot.answer.concepts import Concept, phrase_name
from bot.answer.prompting import Prompts, quote
from bot.errors import Cancelled, LLMError
from bot.types import Usage

if TYPE_CHECKING:
    from bot.answer.gate import Verdict
    from bot.answer.llm import ChatLLM

log = logging.getLogger(__name__)

MAX_REPLY_WORDS = 80  # a reply longer than this is cut: six short lines need far fewer
MAX_SECONDS = 10.0  # a request still running after this is abandoned
MAX_LINES = 6
MAX_TERMS = 3  # per name
MAX_SENTENCES = 12  # quoted sentences shown to the coverage request
MAX_SENTENCE_WORDS = 60
_ARROW = re.compile(r"\s*(?:=>|->|→|:)\s*")


class _Enough(Exception):
    """The reply reached its word limit."""


@dataclass
class Bounded:
    text: str
    usage: Usage | None


def bounded(
    llm: ChatLLM, prompt: str, max_words: int = MAX_REPLY_WORDS, seconds: float = MAX_SECONDS
) -> Bounded:
    """One streamed request, stopped at ``max_words`` words of reply or after ``seconds``; "" on any failure."""
    parts: list[str] = []
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True

    def collect(piece: str) -> None:
        parts.append(piece)
        if len("".join(parts).split()) > max_words:
            raise _Enough()

    timer.start()
    try:
        result = llm.generate(None, prompt, on_text=collect, cancel=stop)
    except _Enough:
        return Bounded(" ".join("".join(parts).split()[:max_words]), None)
    except (Cancelled, LLMError) as exc:
        log.info("lay-term request gave nothing (%s)", getattr(exc, "message", "timed out"))
        return Bounded("", None)
    finally:
        timer.cancel()
    from bot.answer.llm import cost_usd

    cost = cost_usd(llm.model_name, result.prompt_tokens, result.completion_tokens)
    usage = Usage(
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost_usd=cost,
        estimated=result.estimated,
    )
    return Bounded(result.text, usage)


def parse_lines(text: str) -> list[tuple[str, list[str]]]:
    """``name => a; b`` lines as (name, [a, b]); "none" and anything else dropped."""
    out = []
    for line in text.splitlines()[: MAX_LINES * 2]:
        line = line.strip().lstrip("-*• ").strip()
        parts = _ARROW.split(line, maxsplit=1)
        if len(parts) != 2:
            continue
        name, rest = parts[0].strip(" \"'“”"), parts[1]
        terms = [t.strip(" \"'“”.") for t in re.split(r"[;,]", rest)]
        terms = [t for t in terms if t and t.lower() != "none" and len(t) <= 60][:MAX_TERMS]
        if name and terms:
            out.append((name, terms))
    return out[:MAX_LINES]


def wants_terms(concepts: Sequence[Concept]) -> bool:
    """Whether the question names something in words the literature rarely uses ("bile sac", "water pills")
    or not at all ("fibroids" in a store that says myomas): a question in the field's own words (technical
    terms the store holds: "CRP", "appendicitis") needs no rewrite, and costs no request."""
    return any(
        not c.soft and not c.population and not c.pattern and not c.literature and not (c.domain and c.known)
        for c in concepts
    )


def technical_terms(
    llm: ChatLLM, prompts: Prompts, question: str, concepts: Sequence[Concept]
) -> tuple[list[Concept], Usage | None]:
    """``concepts`` with the model's technical terms for their phrases added to their other names."""
    reply = bounded(llm, prompts.lay_terms_message(question))
    return add_names(concepts, parse_lines(reply.text)), reply.usage


def add_names(concepts: Sequence[Concept], named: Sequence[tuple[str, list[str]]]) -> list[Concept]:
    """Each (name, terms) pair added to the other names of the question's phrase it names ("water pills":
    the phrase itself, a part of it or a phrase containing it)."""
    out = list(concepts)
    for name, terms in named:
        wanted = f" {normal(name)} "
        if not wanted.strip():
            continue
        runs = set()
        for concept in out:
            phrase = f" {normal(concept.phrase or concept.text)} "
            if wanted in phrase or phrase in wanted:
                runs.add(concept.run)
        for i, concept in enumerate(out):
            if concept.run in runs and not concept.modifier:
                extra = tuple(t for t in terms if t not in concept.synonyms)
                out[i] = replace(concept, synonyms=(*concept.synonyms, *extra))
    return out


def covering_words(llm: ChatLLM, prompts: Prompts, verdict: Verdict) -> tuple[list[Concept], Usage | None]:
    """For a partial verdict: the concepts with the words of the quoted sentences that the model says name the
    missing ones (only words that are in the sentence it names); ``verdict.concepts`` unchanged if none."""
    missing = list(dict.fromkeys(phrase_name(c, verdict.concepts) for c in verdict.missing))
    sentences = [
        " ".join(s.text.split()[:MAX_SENTENCE_WORDS])
        for cover in verdict.coverage
        for s in cover.evidence.sentences
    ][:MAX_SENTENCES]
    if not missing or not sentences:
        return list(verdict.concepts), None
    numbered = "\n".join(f"{n}. {quote(s)}" for n, s in enumerate(sentences, start=1))
    reply = bounded(llm, prompts.coverage_message("\n".join(missing), numbered))
    said = " ".join(normal(s) for s in sentences)
    checked = [
        (name, [w for w in words if normal(w) and f" {normal(w)} " in f" {said} "])
        for name, words in parse_lines(reply.text)
    ]
    return add_names(verdict.concepts, [(n, w) for n, w in checked if w]), reply.usage
