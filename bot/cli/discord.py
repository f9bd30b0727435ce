"""`litbot discord`: run the Discord bot until interrupted.

discord.py and the chat handler are imported inside the command so `litbot --help` stays instant. The token
is read from settings (LITBOT_DISCORD_TOKEN or DISCORD_TOKEN) and never printed or logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import typer

from bot.cli.common import ensure_weights, fail
from ingest.errors import LitbotError

if TYPE_CHECKING:
    from bot.chat import ChatHandler
    from ingest.settings import Settings

NO_TOKEN = (
    "no Discord bot token: set LITBOT_DISCORD_TOKEN (or DISCORD_TOKEN) to the token from the "
    "Developer Portal (Bot → Reset Token)"
)
BAD_TOKEN = "Discord rejected the bot token: copy a fresh one from the Developer Portal (Bot → Reset Token)"
NO_INTENT = (
    "Discord refused the Message Content intent: enable it in the Developer Portal (Bot → Privileged Gateway "
    "Intents → Message Content Intent)"
)


def read_token(settings: Settings) -> str | None:
    """The token if it is present and shaped like one (three dot-separated parts, no spaces), else None."""
    token = settings.discord_token.get_secret_value().strip() if settings.discord_token else ""
    if token.lower().startswith("bot "):
        token = token[4:].strip()
    if not token:
        return None
    return token


def token_looks_valid(token: str) -> bool:
    parts = token.split(".")
    return len(parts) == 3 and all(parts) and not any(ch.isspace() for ch in token)


def discord_command() -> None:
    """Run the Discord bot: /ask, /sources, /stats, /help, /ingest, mentions, DMs and answer threads.

    Needs a bot token (LITBOT_DISCORD_TOKEN or DISCORD_TOKEN) and the Message Content intent (see README).

    LITBOT_DISCORD_GUILD_ID puts the slash commands on one server at once (global: up to an hour).

    Exit status: 2 for a missing or rejected token; 1 for a store or settings problem or no route to Discord.
    """
    from ingest.settings import load_settings

    settings = load_settings()
    token = read_token(settings)
    if token is None:
        raise fail(NO_TOKEN, code=2)
    if not token_looks_valid(token):
        raise fail(BAD_TOKEN, code=2)
    _configure_logging(settings)
    from bot.chat import ChatHandler

    try:
        from bot.discord.limits import parse_rate

        parse_rate(settings.discord_user_rate)
        ensure_weights(settings)  # members may /ingest files, and every question is embedded
        handler = ChatHandler.from_settings(settings)
    except LitbotError as exc:
        raise fail(exc.user_message) from None
    code = run_bot(settings, handler, token)
    if code:
        raise typer.Exit(code)


def run_bot(settings: Settings, handler: ChatHandler, token: str) -> int:
    """Connect and serve until interrupted; returns the exit status."""
    import aiohttp
    import discord

    from bot.discord.client import LitbotBot

    async def serve() -> None:
        async with LitbotBot(settings, handler) as bot:
            await bot.start(token)

    try:
        asyncio.run(serve())
    except discord.LoginFailure:
        typer.secho(f"error: {BAD_TOKEN}", fg=typer.colors.RED, err=True)
        return 2
    except discord.PrivilegedIntentsRequired:
        typer.secho(f"error: {NO_INTENT}", fg=typer.colors.RED, err=True)
        return 2
    except (aiohttp.ClientError, OSError) as exc:  # DNS, proxy, firewall: no secret in these messages
        typer.secho(
            f"error: cannot reach Discord ({exc.__class__.__name__}: {exc})", fg=typer.colors.RED, err=True
        )
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


def _configure_logging(settings: Settings) -> None:
    """discord.py's own log lines (connect, resume, rate limits) at the configured level; ours at INFO."""
    level = getattr(logging, settings.log_level.upper(), logging.WARNING)
    logging.getLogger("discord").setLevel(max(level, logging.INFO))
    logging.getLogger("bot.discord").setLevel(min(level, logging.INFO))
