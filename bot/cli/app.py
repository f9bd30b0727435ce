"""The `litbot` command: one entry point, one subcommand per job."""

from __future__ import annotations

import logging
import sys
import traceback

import typer

from bot.cli.ask import ask_command
from bot.cli.chat import chat_command
from bot.cli.check import check_command, repair_command
from bot.cli.common import APP_SETTINGS, Command, fail
from bot.cli.discord import discord_command
from bot.cli.eval import eval_app
from bot.cli.ingest import FORMATS_HELP, ingest_command, stats_command
from bot.cli.model import model_app
from bot.cli.pubmed import watch_app
from bot.cli.settings import settings_command
from ingest.errors import ConfigError, LitbotError
from ingest.redact import redact

app = typer.Typer(
    name="litbot",
    help=(
        "litbot answers questions from indexed abstracts, citing each claim with a link to its article.\n\n"
        'Start with `litbot ingest --sample`, then `litbot ask "your question"`. Settings come from LITBOT_* '
        "environment variables or a .env file (see .env.example)."
    ),
    no_args_is_help=True,
    **APP_SETTINGS,
)

app.command("ingest", epilog=FORMATS_HELP, cls=Command)(ingest_command)
app.command("stats", cls=Command)(stats_command)
app.command("check", cls=Command)(check_command)
app.command("repair", cls=Command)(repair_command)
app.command("ask", cls=Command)(ask_command)
app.command("chat", cls=Command)(chat_command)
app.add_typer(watch_app, name="watch")
app.add_typer(eval_app, name="eval")
app.add_typer(model_app, name="model")
app.command("discord", cls=Command)(discord_command)
app.command("settings", cls=Command)(settings_command)


def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        typer.echo(f"litbot {version('litbot')}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Log details and show tracebacks of unexpected errors."
    ),
    _version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="Print litbot's version and exit."
    ),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    """The `litbot` console script: a fault litbot knows (bad settings, an unreachable server) that escapes a
    command is one line and exit status 2 (settings) or 1, never a traceback (unless --debug)."""
    debug = "--debug" in sys.argv[1:]
    try:
        app()
    except LitbotError as exc:
        if debug:
            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        code = 2 if isinstance(exc, ConfigError) else 1
        raise SystemExit(fail(exc.user_message, code, as_json="--json" in sys.argv[1:]).exit_code) from None
    except Exception as exc:  # not ours: the traceback only with --debug, and never with a secret in it
        if debug:
            sys.stderr.write(redact("".join(traceback.format_exception(exc))))
        message = f"unexpected {type(exc).__name__}: {exc}" + (
            "" if debug else " — run with --debug for details"
        )
        raise SystemExit(fail(message, 1, as_json="--json" in sys.argv[1:]).exit_code) from None
