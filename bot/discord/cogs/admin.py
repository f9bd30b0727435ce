"""``/stats`` (what the corpus holds) and ``/help`` (how to use the bot)."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answering import GENERIC_ERROR, NO_MENTIONS, Services
from bot.discord.render import plain, stats_embed
from ingest.errors import LitbotError

log = logging.getLogger(__name__)

HELP_TEXT = """\
**litbot** answers questions from the indexed abstracts and cites each claim with a numbered link to PubMed \
or the DOI. If the literature here doesn't cover it, it says so instead of guessing.

• `/ask question [year_from] [year_to] [journal]` — ask; the answer opens a thread.
• In that thread, just type follow-ups ("and in children?"); the thread remembers the conversation.
• Mention me with a question, or send me a direct message — same thing.
• `/sources` — in an answer's thread: the sources of the last answer with the passages used.
• `/stats` — what the corpus holds.
• `/ingest file` — add or update articles from an attached file (trusted members only).
• 👍 / 👎 under an answer tells the maintainers whether it helped.
"""


class AdminCog(commands.Cog):
    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @app_commands.command(name="stats", description="What the corpus holds: articles, chunks, models.")
    async def stats(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        try:
            stats = await asyncio.to_thread(self.services.handler.stats)  # reads the store: off the loop
        except LitbotError as exc:
            log.warning("/stats failed: %s", exc.user_message)
            await interaction.followup.send(
                plain(exc.user_message), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        except Exception:
            log.exception("unexpected error in /stats")
            await interaction.followup.send(GENERIC_ERROR, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await interaction.followup.send(
            embed=stats_embed(stats), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @app_commands.command(name="help", description="How to ask litbot questions.")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(HELP_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS)
