"""`litbot ARGS` run inside the test process: the console script's own entry point (bot.cli.app.main) with its
arguments, environment, stdin, stdout and stderr, without paying ~2 s of CPU for a fresh interpreter to import
litbot, chromadb and onnxruntime again. For tests whose point is what a command prints and stores; those about
the process itself (signals, exit on a kill, peak memory, what a fresh process imports, output straight to the
file descriptors) still start a real `litbot`."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from contextlib import chdir, nullcontext, redirect_stderr, redirect_stdout
from pathlib import Path
from unittest import mock


def run_litbot(
    *args: str, env: dict[str, str] | None = None, input: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `litbot ARGS` here, as a pipe would see it (stdin, stdout and stderr are not terminals), in ``cwd``
    if given; ``env`` is added to this test's environment for the run. Returns what
    subprocess.run(capture_output=True, text=True) would."""
    from bot.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(input.encode()), encoding="utf-8")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []  # as in a fresh process: `litbot`'s own logging.basicConfig sets up its stderr
    try:
        with (
            mock.patch.dict(os.environ, env or {}),
            chdir(cwd) if cwd is not None else nullcontext(),
            mock.patch.object(sys, "argv", ["litbot", *args]),
            mock.patch.object(sys, "stdin", stdin),
            redirect_stdout(out),
            redirect_stderr(err),
        ):
            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
                if isinstance(exc.code, str):
                    err.write(exc.code + "\n")
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers, root.level = handlers, level
    return subprocess.CompletedProcess(["litbot", *args], code, out.getvalue(), err.getvalue())
