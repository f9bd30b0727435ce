"""The interactive `litbot chat`: prompt_toolkit for input, rich for output, a worker thread per answer.

All terminal output happens on the main thread: the worker only puts tokens and the final answer (or error)
on a queue. That keeps the spinner, the streamed text and the source list from interleaving, and leaves the
main thread free to catch Ctrl-C, set the cancel event and return to the prompt.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from bot.errors import Cancelled
from bot.render import answer_notes
from bot.terminal import render
from bot.terminal.commands import CommandError, parse_command
from bot.terminal.conversation import Conversation, active_filters, describe_error, run_command
from bot.types import Answer

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

_POLL_SECONDS = 0.1
_CANCEL_GRACE_SECONDS = 5.0  # how long a cancelled answer may take to stop before the prompt returns anyway


def _key_bindings() -> KeyBindings:
    """Enter sends; a trailing backslash or Esc then Enter starts a new line instead."""
    from prompt_toolkit.key_binding import KeyBindings

    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event: KeyPressEvent) -> None:
        buffer = event.current_buffer
        if buffer.document.text_before_cursor.endswith("\\"):
            buffer.delete_before_cursor(1)
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    @bindings.add("escape", "enter")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class TerminalRepl:
    """One interactive chat: read a line, run a command or ask, render, repeat until Ctrl-D or /quit."""

    def __init__(self, conversation: Conversation, links: bool, debug: bool) -> None:
        self.conversation = conversation
        self.links = links
        self.debug = debug
        self.console = Console(highlight=False)
        self.opened = False
        self._pending: threading.Thread | None = None  # a cancelled answer still winding down

    def run(self) -> None:
        try:
            self._open()
        except KeyboardInterrupt:  # the next question tries again
            self.console.print("[yellow]interrupted[/yellow]")
        prompt = self._prompt_session()
        warned = False
        while True:
            try:
                line = prompt.prompt(self._prompt_text())
            except KeyboardInterrupt:  # Ctrl-C at the prompt clears the line; it does not leave
                if not warned:
                    self.console.print("[dim](Ctrl-D or /quit leaves)[/dim]")
                    warned = True
                continue
            except EOFError:
                break
            try:
                if not self._handle(line):
                    break
            except KeyboardInterrupt:  # Ctrl-C while opening the store or running a command
                self.console.print("[yellow]interrupted[/yellow]")
        self.console.print("[dim]bye[/dim]")

    def _prompt_session(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        data_dir = self.conversation.settings.data_dir
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            history: FileHistory | InMemoryHistory = FileHistory(str(data_dir / "chat_history"))
        except OSError as exc:
            render.print_error(
                self.console, f"cannot keep history in {data_dir} ({exc.strerror}); not saving it"
            )
            history = InMemoryHistory()
        return PromptSession(
            history=history,
            multiline=True,
            key_bindings=_key_bindings(),
            prompt_continuation=lambda width, line_number, wrap_count: " " * (width - 2) + "… ",
        )

    def _prompt_text(self) -> str:
        label = self.conversation.filters.describe()
        return f"litbot [{label}]> " if label else "litbot> "

    def _open(self) -> bool:
        """Open the handler (with a spinner: loading store and model takes a moment); show the banner."""
        if self.opened:
            return True
        try:
            with self.console.status("Opening the store…"):
                stats = self.conversation.stats()
        except Exception as exc:
            render.print_error(self.console, describe_error(exc, self.debug))
            return False
        render.print_banner(self.console, stats)
        self._show_store_hint()
        self.opened = True
        return True

    def _show_answer_notes(self, answer: Answer) -> None:
        """Under a refusal or a partial answer: what was not found, active filters, an empty store."""
        notes = answer_notes(answer)
        for note in notes:
            self.console.print(Text(note, style="bold red" if "RETRACTED" in note else "dim"))
        if any(note.startswith("Filters are active") for note in notes):
            self.console.print(Text("/filter off searches every article.", style="dim"))
        if answer.withheld:
            self.console.print(Text(render.RETRACTED_HINT, style="dim"))
        if answer.refused:
            self._show_store_hint()
            if hint := self.conversation.filter_hint(answer.filters):
                self.console.print(Text(hint, style="dim"))

    def _show_store_hint(self) -> None:
        hint = self.conversation.store_hint()
        if hint:
            render.print_error(self.console, hint)

    def _handle(self, line: str) -> bool:
        """Run one line; False means leave."""
        if not line.strip():
            return True
        try:
            command = parse_command(line)
            if command is not None:
                return run_command(command, self.conversation, self.console, self.links, self.debug)
        except CommandError as exc:
            render.print_error(self.console, str(exc))
            return True
        if self._open():
            self._ask(line.strip())
        return True

    def _ask(self, question: str) -> None:
        """Ask in a worker thread; stream tokens, spin while waiting, and turn Ctrl-C into cancellation."""
        self._wait_for_pending()
        session = self.conversation.open()
        cancel = threading.Event()
        events: queue.Queue[tuple[str, object]] = queue.Queue()

        def on_token(token: str) -> None:
            if not cancel.is_set():
                events.put(("token", token))

        def work() -> None:
            try:
                answer = session.ask(
                    question,
                    filters=active_filters(self.conversation.filters),
                    k=self.conversation.k,
                    on_token=on_token,
                    cancel=cancel,
                )
                events.put(("answer", answer))
            except BaseException as exc:
                events.put(("error", exc))

        worker = threading.Thread(target=work, name="litbot-ask", daemon=True)
        status = self.console.status("Searching the literature…")
        stream = render.StreamWriter(self.console)
        worker.start()
        status.start()
        try:
            while True:
                try:
                    kind, value = events.get(timeout=_POLL_SECONDS)
                except queue.Empty:
                    continue
                if kind == "token":
                    status.stop()
                    stream.write(str(value))
                    continue
                status.stop()
                stream.finish()
                if kind == "answer":
                    assert isinstance(value, Answer)
                    render.print_answer(self.console, value, self.links, streamed=stream.text)
                    self._show_answer_notes(value)
                else:
                    assert isinstance(value, BaseException)
                    self._show_failure(value)
                return
        except KeyboardInterrupt:
            cancel.set()
            status.stop()
            stream.finish()
            self.console.print("[yellow]cancelled[/yellow]")
            worker.join(_CANCEL_GRACE_SECONDS)
            self._pending = worker if worker.is_alive() else None

    def _show_failure(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):  # a cancel that raced the Ctrl-C handler
            self.console.print("[yellow]cancelled[/yellow]")
            return
        render.print_error(self.console, describe_error(exc, self.debug))

    def _wait_for_pending(self) -> None:
        """Never run two answers on one session: let a cancelled one that ignored the event finish first."""
        if self._pending is not None and self._pending.is_alive():
            with self.console.status("Finishing the cancelled answer…"):
                self._pending.join()
        self._pending = None
