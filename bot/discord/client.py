"""The Discord client: intents, cogs and slash-command sync; no answering logic of its own.

Text-prefix commands are not used (the bot answers mentions, DMs and thread messages in ``AskCog``), so
``on_message`` here deliberately does not call ``process_commands``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answering import GENERIC_ERROR, NO_MENTIONS, Services
from bot.discord.cogs.admin import AdminCog
from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.ingest import IngestCog, StoreWriter
from bot.discord.cogs.watches import WatchCog
from ingest.settings import Settings

if TYPE_CHECKING:
    from bot.chat import ChatHandler

log = logging.getLogger(__name__)


# Exactly what the bot uses: read/see channels, reply (replies need Read Message History), embeds for sources,
# a public thread on each answer and follow-ups in it. Value 309237730304; printed in the invite URL on start.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=REQUIRED_PERMISSIONS, scopes=("bot", "applications.commands")
    )


def bot_intents() -> discord.Intents:
    """Default intents plus Message Content (privileged: enable it in the Developer Portal) for mentions, DMs
    and follow-ups typed in answer threads. Slash commands alone would not need it."""
    intents = discord.Intents.default()
    intents.message_content = True
    return intents


class LitbotBot(commands.Bot):
    def __init__(self, settings: Settings, handler: ChatHandler, *, sync_commands: bool = True) -> None:
        # litbot never joins voice: discord.py's warnings about its optional voice packages are not ours
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            allowed_mentions=NO_MENTIONS,  # nothing the bot sends can ping @everyone, a role or a user
            help_command=None,
        )
        self.settings = settings
        self.services = Services.build(settings, handler)
        self.sync_commands = sync_commands
        self.tree.error(self._on_app_command_error)

    async def setup_hook(self) -> None:
        await asyncio.to_thread(self.services.warm_up)
        await self.add_cog(AskCog(self, self.services))
        await self.add_cog(AdminCog(self, self.services))
        writer = StoreWriter(self.settings)
        await self.add_cog(IngestCog(self, self.settings, writer))
        await self.add_cog(WatchCog(self, self.settings, writer))
        if not self.sync_commands:
            return
        guild_id = self.settings.discord_guild_id
        if guild_id:  # a guild sync is instant; a global one can take up to an hour to show everywhere
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info(
            "synced %d slash commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally"
        )

    async def on_ready(self) -> None:
        user = self.user
        log.info(
            "litbot is connected as %s (id %s) in %d servers",
            user,
            user.id if user else "?",
            len(self.guilds),
        )
        if self.application_id:
            log.info("invite it to a server with %s", invite_url(self.application_id))

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: AskCog's listener handles messages."""

    async def _on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Last resort for errors a command did not handle: a short ephemeral line, details to the log."""
        if isinstance(error, app_commands.CheckFailure):
            text = "You can't use that command here."
        else:
            log.error(
                "error in /%s", interaction.command.name if interaction.command else "?", exc_info=error
            )
            text = GENERIC_ERROR
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
