"""Questions: ``/ask``, ``/sources``, mentions of the bot, direct messages and follow-ups in answer threads.

An answer in a server channel opens a public thread on the reply; every message in that thread is a follow-up
answered with the thread's own conversation memory. Direct messages are one conversation per DM channel.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answering import (
    GENERIC_ERROR,
    NO_MENTIONS,
    Services,
    can_open_thread,
    is_dm,
    is_thread,
    make_filters,
    strip_mention,
)
from bot.discord.render import passages_embed, plain, thread_name
from bot.types import Answer, Filters
from ingest.errors import LitbotError

log = logging.getLogger(__name__)

EMPTY_MENTION = (
    "Ask me a question about the indexed literature, e.g. `@litbot does rugby headgear prevent concussion?`"
)


class AskCog(commands.Cog):
    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    # --- helpers --------------------------------------------------------------------------------------------

    def _conversation_key(self, channel: Any) -> int | None:
        """The channel is itself a conversation (a DM or a thread this bot opened) → its id; else None."""
        if channel is None:
            return None
        if is_dm(channel):
            return int(channel.id)
        if is_thread(channel) and (
            channel.id in self.services.memory or getattr(channel, "owner_id", None) == self._my_id()
        ):
            return int(channel.id)
        return None

    def _my_id(self) -> int | None:
        return self.bot.user.id if self.bot.user else None

    async def _open_thread(self, message: Any, question: str, answer: Answer, session: Any) -> None:
        """Open a public thread on the answer so follow-ups there share this answer's memory."""
        try:
            thread = await message.create_thread(name=thread_name(question), auto_archive_duration=1440)
        except (discord.HTTPException, ValueError, AttributeError) as exc:
            log.warning("could not open a thread for an answer: %s", exc)
            return
        self.services.memory.adopt(thread.id, session)

    async def _answer(self, key: int | None, question: str, filters: Filters | None) -> tuple[Answer, Any]:
        return await self.services.ask(key, question, filters)

    # --- /ask -----------------------------------------------------------------------------------------------

    @app_commands.command(name="ask", description="Ask a question; the answer cites the indexed abstracts.")
    @app_commands.describe(
        question="Your question, in plain words",
        year_from="Only articles published in or after this year",
        year_to="Only articles published in or before this year",
        journal="Only articles whose journal name contains this text",
        study_type="Only these study types, comma-separated: rct, meta-analysis, systematic-review, "
        "clinical-trial, guideline, observational, case-report, review, preprint, other",
        include_retracted="Answer from retracted articles too, each marked RETRACTED (default: left out)",
    )
    @app_commands.rename(study_type="type")
    async def ask(
        self,
        interaction: discord.Interaction,
        question: app_commands.Range[str, 1, 1500],
        year_from: app_commands.Range[int, 1800, 2100] | None = None,
        year_to: app_commands.Range[int, 1800, 2100] | None = None,
        journal: app_commands.Range[str, 1, 200] | None = None,
        study_type: app_commands.Range[str, 1, 200] | None = None,
        include_retracted: bool | None = None,
    ) -> None:
        try:
            filters = make_filters(year_from, year_to, journal, study_type, bool(include_retracted))
        except ValueError as exc:  # an unknown study type: say which ones there are, only to the asker
            await interaction.response.send_message(
                plain(str(exc)), ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        refusal = self.services.admit(interaction.user.id)
        if refusal:
            await interaction.response.send_message(refusal, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        await interaction.response.defer(thinking=True)  # Discord's 3-second rule: acknowledge first
        key = self._conversation_key(interaction.channel)
        try:
            answer, session = await self._answer(key, question, filters)
        except Exception as exc:
            await self._interaction_error(interaction, exc)
            return

        async def send(content: str, embed: discord.Embed | None, view: discord.ui.View | None) -> Any:
            extra: dict[str, Any] = {"embed": embed} if embed else {}
            if view:
                extra["view"] = view
            return await interaction.followup.send(content, wait=True, allowed_mentions=NO_MENTIONS, **extra)

        sent = await self.services.deliver(send, answer)
        if key is None and can_open_thread(interaction.channel):
            await self._open_thread(sent[0], question, answer, session)

    async def _interaction_error(self, interaction: discord.Interaction, exc: Exception) -> None:
        """Replace the public "thinking…" with a short ephemeral error; the details go to the log."""
        if isinstance(exc, LitbotError):
            log.warning("question failed: %s", exc.user_message)
            text = plain(exc.user_message)
        else:
            log.exception("unexpected error while answering", exc_info=exc)
            text = GENERIC_ERROR
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # --- /sources -------------------------------------------------------------------------------------------

    @app_commands.command(
        name="sources", description="Show the sources, with passages, of the last answer here."
    )
    async def sources(self, interaction: discord.Interaction) -> None:
        key = self._conversation_key(interaction.channel)
        conversation = self.services.memory.get(key) if key is not None else None
        session = conversation.session if conversation else None
        answer = session.last_answer if session else None
        if answer is None:
            await interaction.response.send_message(
                "No answer here yet — use /sources inside an answer's thread or in a DM with me.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.response.send_message(
            embed=passages_embed(answer), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # --- mentions, DMs and thread follow-ups ----------------------------------------------------------------

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        my_id = self._my_id()
        if message.author.bot or my_id is None:
            return
        key = self._conversation_key(message.channel)
        mentioned = any(user.id == my_id for user in message.mentions)
        if key is None and not mentioned:
            return
        question = strip_mention(message.content, my_id)
        if not question:  # a bare mention gets a hint; an image or sticker in a thread is not a question
            if mentioned:
                await message.reply(EMPTY_MENTION, allowed_mentions=NO_MENTIONS)
            return
        refusal = self.services.admit(message.author.id)
        if refusal:
            await message.reply(refusal, allowed_mentions=NO_MENTIONS, delete_after=60)
            return
        try:
            async with message.channel.typing():
                answer, session = await self._answer(key, question, None)
        except LitbotError as exc:
            log.warning("question failed: %s", exc.user_message)
            await message.reply(plain(exc.user_message), allowed_mentions=NO_MENTIONS)
            return
        except Exception:
            log.exception("unexpected error while answering a message")
            await message.reply(GENERIC_ERROR, allowed_mentions=NO_MENTIONS)
            return

        replied: list[Any] = []

        async def send(content: str, embed: discord.Embed | None, view: discord.ui.View | None) -> Any:
            extra: dict[str, Any] = {"embed": embed} if embed else {}
            if view:
                extra["view"] = view
            if not replied:
                replied.append(await message.reply(content, allowed_mentions=NO_MENTIONS, **extra))
                return replied[0]
            return await message.channel.send(content, allowed_mentions=NO_MENTIONS, **extra)

        sent = await self.services.deliver(send, answer)
        if key is None and can_open_thread(message.channel):
            await self._open_thread(sent[0], question, answer, session)
