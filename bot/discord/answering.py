"""The bot's shared services: admit a question (fairness), answer it off the event loop, send it in pieces.

Front-end only: the question goes to the same :class:`ChatSession` as ``litbot ask`` and ``litbot chat`` use;
this module decides *when* and *where* it runs (never on the event loop, at most N at once, one at a time per
conversation) and how the :class:`Answer` is delivered within Discord's limits.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.feedback import FeedbackLog, FeedbackView
from bot.discord.limits import AnswerSlots, UserRateLimit
from bot.discord.memory import ConversationMemory
from bot.discord.render import answer_messages, sources_embed
from bot.types import Answer, Filters
from ingest.settings import Settings
from ingest.studytypes import parse_types

if TYPE_CHECKING:
    from bot.chat import ChatHandler, ChatSession

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
GENERIC_ERROR = "Something went wrong; the details are in the bot's log."
BUSY = "I'm answering a lot of questions right now — please try again in a minute."
THREAD_TYPES = (
    discord.ChannelType.public_thread,
    discord.ChannelType.private_thread,
    discord.ChannelType.news_thread,
)
DM_TYPES = (discord.ChannelType.private, discord.ChannelType.group)
THREAD_PARENT_TYPES = (discord.ChannelType.text, discord.ChannelType.news)

# (content, embed, view) → the sent message; each front end (interaction, message) supplies its own.
Send = Callable[[str, discord.Embed | None, discord.ui.View | None], Awaitable[Any]]


def is_dm(channel: Any) -> bool:
    return getattr(channel, "type", None) in DM_TYPES


def is_thread(channel: Any) -> bool:
    return getattr(channel, "type", None) in THREAD_TYPES


def can_open_thread(channel: Any) -> bool:
    return getattr(channel, "type", None) in THREAD_PARENT_TYPES


def strip_mention(content: str, user_id: int) -> str:
    """The question without the ``<@id>``/``<@!id>`` that addressed the bot."""
    return re.sub(rf"<@!?{user_id}>", " ", content).strip()


def wait_text(seconds: float) -> str:
    return f"{int(seconds + 0.999)} s" if seconds < 90 else f"{int(seconds / 60 + 0.999)} min"


@dataclass
class Services:
    """Everything the cogs share, built once per bot."""

    settings: Settings
    handler: ChatHandler
    memory: ConversationMemory
    limiter: UserRateLimit
    slots: AnswerSlots
    feedback: FeedbackLog

    @classmethod
    def build(cls, settings: Settings, handler: ChatHandler) -> Services:
        return cls(
            settings=settings,
            handler=handler,
            memory=ConversationMemory(),
            limiter=UserRateLimit.from_spec(settings.discord_user_rate),
            slots=AnswerSlots(settings.discord_max_concurrent),
            feedback=FeedbackLog(settings.data_dir),
        )

    def warm_up(self) -> None:
        """Run one throwaway search so the lexical index and the embedder are loaded before the first user
        asks; no LLM call, so it costs nothing. Blocking: call it in a worker thread. Failures are logged."""
        try:
            retriever = self.handler.retriever()
            if retriever is not None:
                retriever.search("treatment outcome", k=1, filters=Filters())
        except Exception as exc:  # the first real question will report the problem to its user
            log.warning("warm-up question failed: %s", exc)

    def admit(self, user_id: int) -> str | None:
        """None if the question may go ahead, else the polite reason why not (then nothing is recorded)."""
        if self.slots.full:
            return BUSY
        wait = self.limiter.hit(user_id)
        if wait:
            return (
                f"You've asked {self.limiter.count} questions in the last {wait_text(self.limiter.window)} — "
                f"please wait {wait_text(wait)} before the next one, so everyone gets a turn."
            )
        return None

    async def ask(
        self, conversation_key: int | None, question: str, filters: Filters | None
    ) -> tuple[Answer, ChatSession]:
        """Answer in the conversation ``conversation_key`` (a thread or DM id), or in a fresh session if None.

        Order matters: the conversation's lock first (its turns are sequential), then a global slot, so a
        queued follow-up never holds a slot while it waits for the previous turn.
        """
        if conversation_key is None:
            async with self.slots:
                return await asyncio.to_thread(self._ask_blocking, None, question, filters)
        conversation = self.memory.conversation(conversation_key)
        async with conversation.lock:
            async with self.slots:
                answer, session = await asyncio.to_thread(
                    self._ask_blocking, conversation.session, question, filters
                )
            conversation.session = session
            return answer, session

    def _ask_blocking(
        self, session: ChatSession | None, question: str, filters: Filters | None
    ) -> tuple[Answer, ChatSession]:
        session = session or self.handler.new_session(max_turns=self.memory.max_turns)
        return session.ask(question, filters=filters), session

    async def deliver(self, send: Send, answer: Answer) -> list[Any]:
        """Send the answer as ≤2,000-character messages; the sources embed and buttons go on the last."""
        chunks = answer_messages(answer)
        embed = sources_embed(answer)
        view = FeedbackView(answer, self.feedback)
        sent = []
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent.append(await send(chunk, embed if last else None, view if last else None))
        return sent


def make_filters(
    year_from: int | None,
    year_to: int | None,
    journal: str | None,
    study_types: str | None = None,
    include_retracted: bool = False,
) -> Filters | None:
    """The /ask options as filters (None when none is set); ValueError names an unknown study type."""
    filters = Filters(
        year_from=year_from,
        year_to=year_to,
        journal=(journal or "").strip() or None,
        types=parse_types(study_types or ""),
        include_retracted=include_retracted,
    )
    return None if filters.is_empty() and not include_retracted else filters
