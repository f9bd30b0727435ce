"""Drive the real `litbot chat` in a pseudo-terminal and read what its screen shows.

Output is read as it arrives and compared with ANSI escapes removed, so assertions are about the text a
person sees; OSC-8 hyperlinks are read from the raw stream, where the terminal gets them.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import pexpect

from .conftest import default_sigint

LITBOT = Path(sys.executable).with_name("litbot")
WAIT = 240.0  # generous: the machine is slow and shared; a pass never waits this long

_OSC = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>78]")
_LINK = re.compile(r"\x1b\]8;[^;\x07\x1b]*;([^\x07\x1b]+)(?:\x07|\x1b\\)")


def visible(raw: str) -> str:
    """What the terminal shows: escapes removed, carriage returns dropped."""
    return _CSI.sub("", _OSC.sub("", raw)).replace("\r", "")


def chat_env(**extra: str) -> dict[str, str]:
    """The test's isolated environment (see conftest) plus what a pseudo-terminal run needs."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS" and k != "LINES"}
    env.update({"TERM": "xterm-256color", "PROMPT_TOOLKIT_NO_CPR": "1", "NO_COLOR": "", **extra})
    return {k: v for k, v in env.items() if v != ""}


class Screen:
    """A running `litbot chat` in a 50x160 pseudo-terminal."""

    def __init__(self, *args: str, env: Mapping[str, str], cwd: Path) -> None:
        self.child = pexpect.spawn(
            str(LITBOT),
            ["chat", *args],
            env=dict(env),
            cwd=str(cwd),
            dimensions=(50, 160),
            encoding="utf-8",
            preexec_fn=default_sigint,
        )
        self.raw = ""
        self._seen = 0  # offset in visible(raw) up to which earlier waits consumed the screen
        self._raw_mark = 0

    def wait_for(self, pattern: str, timeout: float = WAIT, settled: bool = False) -> str:
        """Wait until ``pattern`` (a regex) appears in output not yet consumed; return that new output.

        With ``settled`` the match must also survive a short quiet spell, for patterns anchored at the end of
        the output that a half-delivered screen update could match too early.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout  # bounds the wait only; never asserts on speed
        while True:
            text = visible(self.raw)
            found = regex.search(text, self._seen)
            if found and settled and self._more(0.5):
                continue
            if found:
                new = text[self._seen : found.end()]
                self._seen = found.end()
                return new
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {pattern!r}; the screen ends with:\n{text[-3000:]}")
            try:
                self.raw += self.child.read_nonblocking(65536, timeout=1)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                raise AssertionError(
                    f"litbot exited before {pattern!r}; the screen ends with:\n{text[-3000:]}"
                ) from None

    def _more(self, quiet: float) -> bool:
        """Whether more output arrives within ``quiet`` seconds (it is kept)."""
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=quiet)
        except pexpect.TIMEOUT:
            return False
        except pexpect.EOF:
            return False
        return True

    def links_since_mark(self) -> list[str]:
        """URLs of the OSC-8 hyperlinks written since the last :meth:`mark`."""
        return _LINK.findall(self.raw[self._raw_mark :])

    def mark(self) -> None:
        self._raw_mark = len(self.raw)

    def ask(self, line: str) -> None:
        """Type ``line`` and press Enter (a carriage return, as a terminal sends it)."""
        self.mark()
        self.child.send(line + "\r")

    def prompt(self, label: str = "") -> str:
        """Wait for a fresh, empty prompt (``litbot>`` or ``litbot [<label>]>``) that the program waits at.

        prompt_toolkit redraws the prompt with the typed text when a line is sent, so only a prompt at the end
        of the output so far, with nothing typed after it, counts.
        """
        return self.wait_for(re.escape(f"litbot [{label}]>" if label else "litbot>") + r"\s*\Z", settled=True)

    def finish(self, timeout: float = WAIT) -> int:
        """Wait for the process to end; its exit status."""
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.raw += self.child.before or ""
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
