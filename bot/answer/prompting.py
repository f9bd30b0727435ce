"""Prompts are files in ``prompts/``, loaded and checked once at start-up.

A missing file, a missing required placeholder or an unknown one is a :class:`ConfigError` when the handler is
built, so an edited prompt fails loudly at start instead of silently producing worse answers.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot.types import REFUSAL
from ingest.errors import ConfigError
from ingest.safe_text import safe_text
from ingest.settings import Settings
from ingest.studytypes import LABELS, RETRACTED, label_of

#: file stem -> (required placeholders, optional placeholders)
PROMPT_SPECS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "system": (frozenset({"refusal"}), frozenset()),
    "answer": (frozenset({"question", "passages"}), frozenset({"refusal", "count", "gaps"})),
    "condense": (frozenset({"history", "question"}), frozenset()),
    "lay_terms": (frozenset({"question"}), frozenset()),
    "coverage": (frozenset({"phrases", "sentences"}), frozenset()),
}
#: Prompts added after LITBOT_PROMPTS_DIR existed: a folder of one's own without them uses the bundled ones.
LATER_PROMPTS = frozenset({"lay_terms", "coverage"})
_TAG = re.compile(r"<\s*/?\s*passage", re.IGNORECASE)
_CITATION = re.compile(r"\s*\[\d+\]")


class PassageSource(Protocol):
    @property
    def metadata(self) -> Mapping[str, Any]: ...

    @property
    def passages(self) -> list[str]: ...


def default_prompts_dir() -> Path:
    """``prompts/`` of a source checkout, else the copy a wheel installs as ``bot/_prompts``."""
    here = Path(__file__).resolve()
    checkout = here.parents[2] / "prompts"
    return checkout if checkout.is_dir() else here.parents[1] / "_prompts"


def placeholders(template: str) -> set[str]:
    """Names used as ``{name}`` in ``template`` (raises ValueError on unbalanced braces)."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    condense: str
    lay_terms: str = ""
    coverage: str = ""

    def system_message(self) -> str:
        return self.system.format(refusal=REFUSAL)

    def answer_message(self, question: str, passages: str, count: int, missing: Sequence[str] = ()) -> str:
        """The answer request; ``missing`` names the question's concepts no passage covers."""
        return self.answer.format(
            question=question, passages=passages, refusal=REFUSAL, count=count, gaps=gaps_note(missing)
        )

    def condense_message(self, history: str, question: str) -> str:
        return self.condense.format(history=history, question=question)

    def lay_terms_message(self, question: str) -> str:
        return self.lay_terms.format(question=question)

    def coverage_message(self, phrases: str, sentences: str) -> str:
        return self.coverage.format(phrases=phrases, sentences=sentences)


def load_prompts(settings: Settings) -> Prompts:
    """Read and check every prompt file; any problem is a ConfigError naming the file."""
    folder = settings.prompts_dir or default_prompts_dir()
    texts: dict[str, str] = {}
    for stem, (required, optional) in PROMPT_SPECS.items():
        path = folder / f"{stem}.md"
        if stem in LATER_PROMPTS and not path.exists():
            path = default_prompts_dir() / f"{stem}.md"
        hint = "fix it or unset LITBOT_PROMPTS_DIR to use the bundled prompts"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise ConfigError(f"prompt file {path} is missing or unreadable", hint) from None
        try:
            names = placeholders(text)
        except ValueError as exc:
            raise ConfigError(
                f"prompt file {path}: {exc} (write literal braces as {{{{ and }}}})", hint
            ) from None
        if bad := sorted(n for n in names if not n or not n.isidentifier()):
            raise ConfigError(f"prompt file {path}: positional or malformed placeholder {bad}", hint)
        if missing := sorted(required - names):
            raise ConfigError(f"prompt file {path} lacks placeholder(s) {', '.join(missing)}", hint)
        if unknown := sorted(names - required - optional):
            allowed = ", ".join(sorted(required | optional))
            raise ConfigError(
                f"prompt file {path} has unknown placeholder(s) {', '.join(unknown)}", f"allowed: {allowed}"
            )
        texts[stem] = text.strip()
    return Prompts(**texts)


def gaps_note(missing: Sequence[str]) -> str:
    """The line telling the model what the passages leave out (empty when they cover the question)."""
    if not missing:
        return ""
    names = ", ".join(f'"{m}"' for m in missing)
    return (
        f"Note: the literature search found no passage that covers {names}. If the passages do cover it under "
        "another name, answer normally. Otherwise begin your answer with one sentence that says plainly what "
        "the passages do not cover, then answer only what they do support."
    )


def quote(text: str) -> str:
    """Neutralise anything in article text that could close or open a passage tag — after the one sanitiser,
    so that no invisible character hides a tag from the pattern (``<\u200b/passage>`` reads as
    ``</passage>`` to a model) and no control character reaches the prompt."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "&lt;"), safe_text(text))


def format_passages(articles: Sequence[PassageSource]) -> str:
    """The numbered ``<passage>`` blocks: article metadata, then its matched text, as quoted data."""
    blocks = []
    for n, article in enumerate(articles, start=1):
        meta = article.metadata
        lines = []
        if meta.get("title"):
            lines.append(f"Title: {quote(str(meta['title']))}")
        where = ", ".join(str(meta[k]) for k in ("journal", "year") if meta.get(k))
        if where:
            lines.append(f"Published: {quote(where)}")
        kinds = [k.strip() for k in str(meta.get("study_types") or "").split(";") if k.strip() in LABELS]
        if kinds:
            lines.append(f"Study type: {label_of(kinds)}")
        if meta.get("retraction") == RETRACTED:
            lines.append("Status: RETRACTED (say so wherever you cite this passage)")
        lines.append("Text: " + quote(" … ".join(p.strip() for p in article.passages)))
        blocks.append(f'<passage id="{n}">\n' + "\n".join(lines) + "\n</passage>")
    return "\n\n".join(blocks)


def format_history(turns: Sequence[tuple[str, str]], max_chars: int = 600) -> str:
    """Earlier (question, answer text) turns for the condense prompt, citations stripped, answers trimmed."""
    lines = []
    for question, answer in turns:
        text = _CITATION.sub("", answer).strip()
        if len(text) > max_chars:
            text = text[:max_chars].rsplit(" ", 1)[0] + " …"
        lines.append(f"User: {question}\nAssistant: {text}")
    return "\n".join(lines) if lines else "(none)"
