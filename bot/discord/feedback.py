"""The buttons under each answer: thumbs-up/down, logged as JSON lines for answer-quality review, and
"Export citations", which replies (only to the one who pressed it) with the sources as a ``.ris`` file.

The log (``<data_dir>/discord-feedback.jsonl``) holds the question, the answer, what it cited and the vote,
so a maintainer can find weak answers later; the user id is kept so repeated votes can be told apart.
Writes are one small append, done off the event loop anyway.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
import time
from pathlib import Path
from typing import Literal

import discord

from bot.export import to_ris
from bot.types import Answer

log = logging.getLogger(__name__)

FEEDBACK_FILE = "discord-feedback.jsonl"
EXPORT_FILE = "litbot-sources.ris"
BUTTON_TIMEOUT = 24 * 3600.0  # buttons stop working after a day (or a restart); votes after that are moot


class FeedbackLog:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / FEEDBACK_FILE
        self._lock = threading.Lock()

    def record(
        self, answer: Answer, vote: Literal["up", "down"], user_id: int, message_id: int | None
    ) -> None:
        entry = {
            "ts": time.time(),
            "vote": vote,
            "user_id": user_id,
            "message_id": message_id,
            "question": answer.question,
            "standalone_question": answer.standalone_question or answer.question,
            "mode": answer.mode,
            "refused": answer.refused,
            "answer": answer.text,
            "citations": [{"n": c.n, "id": c.id, "pmid": c.pmid, "doi": c.doi} for c in answer.citations],
        }
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")


class FeedbackView(discord.ui.View):
    """Two buttons; each vote is logged once per user and acknowledged ephemerally."""

    def __init__(self, answer: Answer, feedback: FeedbackLog) -> None:
        super().__init__(timeout=BUTTON_TIMEOUT)
        self.answer = answer
        self.feedback = feedback
        self.voters: set[int] = set()
        if not answer.citations:  # nothing to export under a refusal
            self.remove_item(self.export_citations)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id=None)
    async def helpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]
    ) -> None:
        await self._vote(interaction, "up")

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id=None)
    async def unhelpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]
    ) -> None:
        await self._vote(interaction, "down")

    @discord.ui.button(label="Export citations", emoji="📚", style=discord.ButtonStyle.secondary)
    async def export_citations(
        self, interaction: discord.Interaction, button: discord.ui.Button[FeedbackView]
    ) -> None:
        """The answer's sources as a RIS file, sent only to whoever asked for it."""
        mentions = discord.AllowedMentions.none()
        if not self.answer.citations:
            await interaction.response.send_message(
                "This answer cites no sources.", ephemeral=True, allowed_mentions=mentions
            )
            return
        data = to_ris(self.answer.citations).encode("utf-8")
        count = len(self.answer.citations)
        await interaction.response.send_message(
            f"{count} reference{'s' if count != 1 else ''} in RIS (EndNote, Zotero, Mendeley, RefWorks).",
            file=discord.File(io.BytesIO(data), filename=EXPORT_FILE),
            ephemeral=True,
            allowed_mentions=mentions,
        )

    async def _vote(self, interaction: discord.Interaction, vote: Literal["up", "down"]) -> None:
        user_id = interaction.user.id
        if user_id in self.voters:
            reply = "You already rated this answer — thanks!"
        else:
            self.voters.add(user_id)
            message_id = interaction.message.id if interaction.message else None
            try:
                await asyncio.to_thread(self.feedback.record, self.answer, vote, user_id, message_id)
            except OSError:
                log.exception("could not write answer feedback to %s", self.feedback.path)
            reply = (
                "Thanks for the feedback!" if vote == "up" else "Thanks — noted, this helps improve answers."
            )
        await interaction.response.send_message(
            reply, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
