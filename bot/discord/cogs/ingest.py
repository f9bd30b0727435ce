"""``/ingest`` with an attached file: re-ingest from Discord, for trusted members only.

Allowed to members holding the configured role (``LITBOT_DISCORD_INGEST_ROLE``, by name or id) or the Manage
Server permission. The attachment is size-checked before download, saved to a temporary file and ingested in
a worker thread; one ingest runs at a time (a second one waits, and its status message says so). A single
status message is edited with progress at most every couple of seconds (Discord rate-limits edits) and ends
with the summary and the records that were skipped.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord.answering import GENERIC_ERROR, NO_MENTIONS
from bot.discord.render import MESSAGE_LIMIT, clip, plain
from ingest.errors import LitbotError
from ingest.settings import Settings

if TYPE_CHECKING:
    from ingest.pipeline import Ingestor, IngestReport

log = logging.getLogger(__name__)

EDIT_INTERVAL = 2.0  # seconds between status edits
LISTED_PROBLEMS = 10


def may_ingest(user: Any, settings: Settings) -> bool:
    """Manage Server, or the configured role (matched by name, case-insensitively, or by id)."""
    permissions = getattr(user, "guild_permissions", None)
    if permissions is not None and (permissions.manage_guild or permissions.administrator):
        return True
    wanted = (settings.discord_ingest_role or "").strip().lower()
    if not wanted:
        return False
    return any(role.name.lower() == wanted or str(role.id) == wanted for role in getattr(user, "roles", []))


def summary(report: IngestReport, filename: str) -> str:
    """The final status: counts, then the skipped records by name (capped to fit one message)."""
    head = (
        f"✅ Ingested **{plain(filename)}**: read {report.read} — {report.new} new, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.skipped} skipped; "
        f"{report.chunks} chunk{'' if report.chunks == 1 else 's'} in {report.seconds:.1f} s."
    )
    if report.failed_inputs and not report.read:
        head = f"⚠️ Nothing was ingested from **{plain(filename)}**."
    if not report.problems:
        return head
    lines = [f"• {plain(clip(problem, 300))}" for problem in report.problems[:LISTED_PROBLEMS]]
    more = len(report.problems) - LISTED_PROBLEMS
    if more > 0:
        lines.append(f"… and {more} more (see the bot's log)")
    text = head + "\nProblems:\n" + "\n".join(lines)
    return clip(text, MESSAGE_LIMIT)


class StoreWriter:
    """The bot's one writer to the store, shared by /ingest and the watch scheduler: one write at a time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = asyncio.Lock()
        self._ingestor: Ingestor | None = None

    def ingestor(self) -> Ingestor:
        """Built on first use (loads the embedder: blocking, call it in a worker thread)."""
        if self._ingestor is None:
            from ingest.pipeline import build_ingestor

            self._ingestor = build_ingestor(self.settings)
        return self._ingestor


class IngestCog(commands.Cog):
    def __init__(self, bot: commands.Bot, settings: Settings, writer: StoreWriter) -> None:
        self.bot = bot
        self.settings = settings
        self.writer = writer
        self._tasks: set[asyncio.Task[None]] = set()

    @app_commands.command(
        name="ingest", description="Add or update articles from an attached file (trusted members)."
    )
    @app_commands.guild_only()
    @app_commands.describe(file="MEDLINE, PubMed XML, CSV, JSONL or PubMed page text; may be gzipped")
    async def ingest(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        if not may_ingest(interaction.user, self.settings):
            role = self.settings.discord_ingest_role
            need = f"the **{role}** role or Manage Server" if role else "the Manage Server permission"
            await interaction.response.send_message(
                f"Sorry, /ingest needs {need}.", ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        cap = self.settings.discord_max_upload_mb
        if file.size > cap * 1024 * 1024:
            await interaction.response.send_message(
                f"That file is {file.size / 1048576:.1f} MB; the limit is {cap:g} MB.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        name = file.filename
        waiting = " (waiting for the ingest in progress to finish)" if self.writer.lock.locked() else ""
        await interaction.response.send_message(
            f"📥 Ingesting **{plain(name)}**{waiting}…", allowed_mentions=NO_MENTIONS
        )
        task = asyncio.create_task(self._run(interaction, file))
        self._tasks.add(task)  # keep a reference: a bare task may be garbage-collected mid-run
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait for background ingests (used at shutdown and by tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _run(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        status = Status(interaction)
        async with self.writer.lock:
            try:
                with tempfile.TemporaryDirectory(prefix="litbot-discord-") as folder:
                    path = Path(folder) / (Path(file.filename).name or "upload")
                    await status.set(f"📥 Downloading **{plain(file.filename)}**…")
                    await file.save(path)
                    report = await self._ingest_with_progress(path, file.filename, status)
                await status.set(summary(report, file.filename), force=True)
            except LitbotError as exc:
                log.warning("ingest from Discord failed: %s", exc.user_message)
                await status.set(f"⚠️ Ingest failed: {plain(exc.user_message)}", force=True)
            except Exception:
                log.exception("unexpected error during an ingest from Discord")
                await status.set(f"⚠️ Ingest failed. {GENERIC_ERROR}", force=True)

    async def _ingest_with_progress(self, path: Path, filename: str, status: Status) -> IngestReport:
        done = [0]

        def progress(_name: str, count: int) -> None:  # called in the worker thread
            done[0] = count

        work = asyncio.ensure_future(asyncio.to_thread(self._ingest_blocking, path, progress))
        while not work.done():
            await asyncio.wait({work}, timeout=EDIT_INTERVAL)
            if not work.done() and done[0]:
                await status.set(f"⏳ Ingesting **{plain(filename)}**: {done[0]} articles so far…")
        return work.result()

    def _ingest_blocking(self, path: Path, progress: Any) -> IngestReport:
        from ingest.pipeline import ingest_inputs, writer_lock

        ingestor = self.writer.ingestor()
        with writer_lock(self.settings):  # also serialises with a `litbot ingest` run on this machine
            return ingest_inputs([str(path)], ingestor, progress=progress)


class Status:
    """The one status message of an ingest, edited in place and never more often than every EDIT_INTERVAL."""

    def __init__(self, interaction: discord.Interaction) -> None:
        self.interaction = interaction
        self.last_edit = 0.0
        self.text = ""

    async def set(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if text == self.text or (not force and now - self.last_edit < EDIT_INTERVAL):
            return
        self.text, self.last_edit = text, now
        try:
            await self.interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:  # the interaction token lasts 15 minutes; post the end instead
            log.warning("could not edit the ingest status message (%s)", exc)
            channel = self.interaction.channel
            if force and channel is not None and hasattr(channel, "send"):
                await channel.send(text, allowed_mentions=NO_MENTIONS)
