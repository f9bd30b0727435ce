"""How an :class:`~bot.types.Answer` looks in a terminal (rich) and in a pipe (plain text).

Sources read exactly as `litbot ask` prints them (title, journal, year, the full link); in a terminal the title and
the link are also OSC-8 hyperlinks (rich ``[link=...]``), which ``--no-links`` turns off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from bot.render import answer_notes, source_line, sources_block, tag_text
from bot.terminal.commands import COMMANDS
from bot.types import Answer, Citation
from ingest.redact import safe_line

_CITE_RE = re.compile(r"\[(\d+(?:\s*[,–-]\s*\d+)*)\]")
CITE_STYLE = "bold cyan"
RETRACTED_HINT = "/filter retracted=show answers from them too, marked."


def _where(citation: Citation) -> str:
    """'Journal, 2019' with whatever is known."""
    return ", ".join(str(part) for part in (citation.journal, citation.year) if part)


def answer_text(text: str) -> Text:
    """The answer with its [n] markers highlighted so the eye finds the citations."""
    rendered = Text(text)
    rendered.highlight_regex(_CITE_RE, CITE_STYLE)
    return rendered


def print_source(console: Console, citation: Citation, links: bool, passages: bool = False) -> None:
    """One numbered source in the very words `litbot ask`, piped chat and Discord use (bot.render.source_line):
    ``[1] [RCT] Title. Journal, 2019. https://pubmed…``, with a hanging indent, styled for the eye.

    With links on, the title and the URL are OSC-8 hyperlinks too; either way the URL is printed in full.
    """
    url = citation.link
    line = source_line(citation)
    number = f"[{citation.n}]"
    body = Text(line[len(number) + 1 :])
    text = body.plain

    def mark(part: str, style: str) -> None:
        start = text.find(part) if part else -1
        if start >= 0:
            body.stylize(style, start, start + len(part))

    hyperlink = f" link {url}" if links and url else ""
    mark(tag_text(citation), "bold red" if citation.retracted else "magenta")
    mark(citation.label, "bold" + hyperlink)
    mark(_where(citation), "dim")
    if url:
        mark(url, "blue" + hyperlink)
    console.print(_hanging(Text(number, style=CITE_STYLE), body))
    if passages:
        for passage in citation.passages:
            console.print(_hanging(Text("   "), Text(f"“{passage.strip()}”", style="italic")))


def _hanging(head: Text, body: Text) -> Table:
    """``head`` then ``body``, with the body's wrapped lines indented under its first."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()
    grid.add_row(head, body)
    return grid


class StreamWriter:
    """Prints streamed tokens as they arrive, wrapping at word boundaries (tokens split words anywhere)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.parts: list[str] = []
        self._word = ""
        self._space = False  # a space is owed before the next word on this line
        self._column = 0

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def write(self, token: str) -> None:
        self.parts.append(token)
        for piece in re.split(r"(\s)", token):
            if not piece:
                continue
            if not piece.isspace():
                self._word += piece
                continue
            self._flush_word()
            if piece == "\n":
                self._emit("\n")
                self._column, self._space = 0, False
            else:
                self._space = self._column > 0

    def finish(self) -> None:
        """End the streamed text with a newline (once)."""
        self._flush_word()
        if self._column > 0:
            self._emit("\n")
        self._column, self._space = 0, False

    def _flush_word(self) -> None:
        if not self._word:
            return
        width = max(self.console.width, 20) - 1  # never the last column: terminals wrap early there
        if self._column > 0 and self._column + self._space + len(self._word) > width:
            self._emit("\n")
            self._column, self._space = 0, False
        if self._space:
            self._emit(" ")
            self._column += 1
        self._emit(self._word, styled=True)
        self._column += len(self._word)
        self._word, self._space = "", False

    def _emit(self, text: str, styled: bool = False) -> None:
        self.console.print(answer_text(text) if styled else text, end="", soft_wrap=True, highlight=False)
        self.console.file.flush()


def print_answer(console: Console, answer: Answer, links: bool, *, streamed: str = "") -> None:
    """The answer followed by its numbered sources; a streamed answer is printed again only if it changed.

    The final text can differ from the stream when citation numbers were resolved after generation; the
    sources must match the numbers the reader sees, so the final text is shown then.
    """
    if not streamed:
        console.print(answer_text(answer.text))
    elif " ".join(streamed.split()) != " ".join(answer.text.split()):
        console.print(Text("With citations numbered as in the sources:", style="dim"))
        console.print(answer_text(answer.text))
    print_sources(console, answer, links)
    console.print()


def print_sources(console: Console, answer: Answer, links: bool) -> None:
    if not answer.citations:
        return
    console.print()
    console.print(Text("Sources:", style="bold underline"))  # as `litbot ask` heads them
    for citation in answer.citations:
        print_source(console, citation, links)


def print_sources_detail(console: Console, answer: Answer | None, links: bool) -> None:
    """``/sources``: each source of the last answer with the passages the answer drew on."""
    if answer is None:
        console.print("No answer yet — ask a question first.", style="yellow")
        return
    if not answer.citations:
        console.print("The last answer cited no sources.", style="yellow")
        return
    console.print(Text(f"Sources of: {answer.question}", style="bold"))
    for citation in answer.citations:
        console.print()
        print_source(console, citation, links, passages=True)


def print_banner(console: Console, stats: Mapping[str, object]) -> None:
    """The one start-up line: store, article count, embedding model, LLM model or extractive."""
    mode = f"LLM {stats.get('llm_model')}" if stats.get("mode") == "llm" else "extractive (no LLM configured)"
    parts = [
        f"store {stats.get('store', '?')}",
        f"{stats.get('articles', '?')} articles",
        f"embeddings {stats.get('embedding_model', '?')}",
        mode,
    ]
    console.print(Text.assemble(("litbot", "bold"), " · ", " · ".join(parts)))
    console.print("[dim]Ask a question, or /help for commands. Ctrl-D or /quit leaves.[/dim]")


def print_stats(console: Console, stats: Mapping[str, object]) -> None:
    for key, value in stats.items():
        console.print(f"[bold]{key:>16}[/bold]: {escape(str(value))}", highlight=False)


def print_help(console: Console) -> None:
    console.print(
        "[bold]Ask anything in plain words; follow-ups keep the context of the conversation.[/bold]"
    )
    for name, text in COMMANDS.items():
        console.print(_hanging(Text(f"  /{name:<8}", style="cyan"), Text(text)))
    console.print(
        "  Multi-line input: end a line with \\ or press Esc then Enter to start a new line.\n"
        "  Ctrl-C cancels an answer in progress; Ctrl-D or /quit leaves. ↑/↓ recall earlier questions."
    )


def print_error(console: Console, message: str) -> None:
    console.print(Text(f"error: {safe_line(message)}", style="bold red"))


def plain_answer(answer: Answer) -> str:
    """Piped output: ``> question``, the answer, then its sources with full URLs; no colour, no escape codes.

    The question line makes a transcript readable and separates answers, which may hold blank lines.
    """
    lines = [f"> {answer.question}", answer.text.strip(), *(f"note: {n}" for n in answer_notes(answer))]
    if answer.withheld:
        lines.append(f"note: {RETRACTED_HINT}")
    if sources := sources_block(answer):
        lines += ["", sources]
    return "\n".join(lines)
