"""Saved PubMed queries ("watches", see `litbot watch`) run on a schedule, announced in a channel.

Only when ``LITBOT_DISCORD_WATCH_CHANNEL_ID`` is set: the bot then checks for due watches every hour (or every
``watch_interval_hours`` if shorter), runs them in a worker thread through the same store writer as /ingest
(so they never write at the same time) and posts "N new abstracts on <query>" for each that found something.
Which watches are due is decided by ``run_due_watches`` itself, from each watch's last run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from discord.ext import commands

from bot.discord.answering import NO_MENTIONS
from bot.discord.cogs.ingest import StoreWriter
from bot.discord.render import MESSAGE_LIMIT, clip, plain
from ingest.errors import LitbotError
from ingest.settings import Settings

if TYPE_CHECKING:
    from ingest.pubmed.watches import WatchResult

log = logging.getLogger(__name__)

MAX_CHECK_SECONDS = 3600.0


def announcement(result: WatchResult) -> str | None:
    """The channel's line for one watch run; None when there is nothing worth a message."""
    query = plain(result.query)  # a server's reply may hold a masked link or escape codes: shown inert
    if result.error:
        return clip(
            f"⚠️ Watch **{plain(result.name)}** ({query}) failed: {plain(result.error)}", MESSAGE_LIMIT
        )
    if result.new <= 0:
        return None
    noun = "abstract" if result.new == 1 else "abstracts"
    return clip(f"📚 {result.new} new {noun} on {query}", MESSAGE_LIMIT)


class WatchCog(commands.Cog):
    def __init__(self, bot: commands.Bot, settings: Settings, writer: StoreWriter) -> None:
        self.bot = bot
        self.settings = settings
        self.writer = writer
        self._task: asyncio.Task[None] | None = None

    @property
    def check_seconds(self) -> float:
        return max(60.0, min(MAX_CHECK_SECONDS, self.settings.watch_interval_hours * 3600.0))

    async def cog_load(self) -> None:
        if self.settings.discord_watch_channel_id:
            self._task = asyncio.create_task(self._schedule(self.settings.discord_watch_channel_id))

    async def cog_unload(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _schedule(self, channel_id: int) -> None:
        await self.bot.wait_until_ready()
        while True:
            try:
                channel = self.bot.get_channel(channel_id) or await self.bot.fetch_channel(channel_id)
                await self.run_once(channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bad run must not end the schedule
                log.exception("scheduled watch run failed")
            await asyncio.sleep(self.check_seconds)

    async def run_once(self, channel: Any) -> list[WatchResult]:
        """Run the due watches and announce each one's news in ``channel``."""
        async with self.writer.lock:
            try:
                results = await asyncio.to_thread(self._run_blocking)
            except LitbotError as exc:
                log.warning("watches could not run: %s", exc.user_message)
                return []
        for result in results:
            text = announcement(result)
            if text:
                await channel.send(text, allowed_mentions=NO_MENTIONS)
        return results

    def _run_blocking(self) -> list[WatchResult]:
        from ingest.pipeline import writer_lock
        from ingest.pubmed.watches import run_due_watches

        ingestor = self.writer.ingestor()
        with writer_lock(self.settings):
            return run_due_watches(self.settings, ingestor)
