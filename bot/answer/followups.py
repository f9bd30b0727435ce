"""Follow-up questions in extractive mode: merge a short or anaphoric follow-up with the conversation's topic.

Without a language model, "and in mice?" or "what about children?" cannot be rewritten, but it can be
combined with the last question that stood on its own ("How does the gut microbiota contribute to drug
resistance in liver cancer?" + "in mice") — which is what retrieval needs. A full new question stands alone
and becomes the new topic. (LLM mode uses prompts/condense.md instead, and falls back to this merge when the
model's rewrite keeps none of the conversation's concepts: :func:`keeps_the_conversation`.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Openings that mark a follow-up; removed before merging ("and in mice?" -> "in mice").
_LEADS = re.compile(
    r"^(?:(?:and|but|also|so|ok(?:ay)?|then|now)\b[\s,]*)*"
    r"(?:(?:what|how)\s+about|what\s+of|how\s+(?:is|are|does|do)\s+(?:it|this|that|they)\s+in|"
    r"is\s+(?:it|this|that)\s+(?:also|the\s+same)|same\s+(?:for|in))?\s*",
    re.IGNORECASE,
)
_PRONOUN_OPENING = re.compile(
    r"^(?:does|do|did|is|are|was|were|can|could|will|would|should|might|may)\s+"
    r"(?:it|this|that|they|these|those)\s+(?:also\s+|still\s+)?(?:work|apply|hold|happen|occur|help)?s?\b\s*",
    re.IGNORECASE,
)
_QUESTION_OPENING = re.compile(
    r"^(?:does|do|did|is|are|was|were|can|could|will|would|should|might|may|has|have|had|how|what|why|which|"
    r"when|where|who|whom|whose)\b",
    re.IGNORECASE,
)
_PREPOSITION = re.compile(
    r"^(?:in|among|for|with|without|during|after|before|at|on|under|over|versus|vs\.?|compared|from|of|by)\b",
    re.I,
)
_STARTS_AS_FOLLOW_UP = re.compile(r"^(?:and|but|also|what\s+about|how\s+about|what\s+of|same\s+for)\b", re.I)
_ANAPHORA = re.compile(
    r"\b(?:it|its|they|them|their|theirs|this|that|these|those|such|same|the\s+former|the\s+latter)\b", re.I
)
SHORT_WORDS = 6


def words(text: str) -> list[str]:
    return re.findall(r"[\w'-]+", text)


def is_follow_up(question: str) -> bool:
    """Whether the question leans on the previous one: opens like a follow-up, very short, or anaphoric."""
    text = question.strip()
    count = len(words(text))
    if _STARTS_AS_FOLLOW_UP.match(text):
        return True
    anaphoric = bool(_ANAPHORA.search(text))
    if count < SHORT_WORDS and not (count >= 3 and _QUESTION_OPENING.match(text) and not anaphoric):
        return True
    return count < 10 and anaphoric


def merge(topic: str, follow_up: str) -> str:
    """``topic`` (the last standalone question) narrowed by what the follow-up adds."""
    addition = _LEADS.sub("", follow_up.strip()).strip()
    addition = _PRONOUN_OPENING.sub("", addition).strip().rstrip("?.! ").strip()
    base = topic.strip().rstrip("?.! ")
    if not addition:
        return topic.strip()
    if addition.lower() in base.lower():
        return base + "?"
    joiner = " " if _PREPOSITION.match(addition) else " — "
    return f"{base}{joiner}{addition}?"


def keeps_the_conversation(rewrite: str, conversation: Sequence[str]) -> bool:
    """Whether a model's standalone rewrite of a follow-up shares at least one concept (a content word, by
    stem) with the conversation: its earlier questions and the follow-up itself. A small model may answer the
    rewrite request instead of doing it ("I'm not sure about this."); searching that would answer nothing
    the user asked."""
    from ingest.terms import tokenize

    said = {term for text in conversation for term in tokenize(text)}
    return bool(said & set(tokenize(rewrite)))


class TopicTracker:
    """Remembers the last question that stood alone; turns follow-ups into standalone questions."""

    def __init__(self) -> None:
        self.topic: str | None = None

    def standalone(self, question: str) -> str:
        question = question.strip()
        if self.topic and is_follow_up(question):
            return merge(self.topic, question)
        self.topic = question
        return question

    def reset(self) -> None:
        self.topic = None
