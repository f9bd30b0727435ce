"""The `litbot` command: one entry point, one subcommand per job."""

from __future__ import annotations

import logging

import typer

from bot.cli.ask import ask_command
from bot.cli.chat import chat_command
from bot.cli.discord import discord_command
from bot.cli.eval import eval_app
from bot.cli.ingest import FORMATS_HELP, ingest_command, stats_command
from bot.cli.pubmed import watch_app
from bot.cli.settings import settings_command

app = typer.Typer(
    name="litbot",
    help=(
        "litbot answers questions from indexed abstracts, citing each claim with a link to its article.\n\n"
        'Start with `litbot ingest --sample`, then `litbot ask "your question"`. Settings come from LITBOT_* '
        "environment variables or a .env file (see .env.example)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("ingest", epilog=FORMATS_HELP)(ingest_command)
app.command("stats")(stats_command)
app.command("ask")(ask_command)
app.add_typer(watch_app, name="watch")
app.add_typer(eval_app, name="eval")
app.command("discord")(discord_command)
app.command("chat")(chat_command)
app.command("settings")(settings_command)


@app.callback()
def _root(
    debug: bool = typer.Option(
        False, "--debug", help="Log details and show tracebacks of unexpected errors."
    ),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )


def main() -> None:
    app()
