"""Stand-ins for Discord's network edge: interactions, channels and messages that record what the bot sends.

Only the objects that would talk to Discord's API are replaced; discord.py's own value objects (Embed,
AllowedMentions, Permissions, ChannelType, ClientUser, ui.View) are real, and so is every line of litbot.
Every send, reply, edit and thread creation lands in one :class:`Recorder`, so a test can check all of them
(e.g. that each carried ``allowed_mentions=AllowedMentions.none()``). :func:`run_with_bot` builds the real bot
(not connected) over the real ChatHandler and hands a :class:`World` to a test's scenario.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import discord

from bot.chat import ChatHandler
from bot.discord.client import LitbotBot
from bot.discord.cogs.admin import AdminCog
from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.ingest import IngestCog
from ingest.settings import Settings

BOT_ID = 424242
_ids = itertools.count(1000)


@dataclass
class Sent:
    kind: str  # send | reply | followup | response | edit | defer | thread | delete
    where: int  # channel id
    content: str | None
    kwargs: dict[str, Any]


@dataclass
class Recorder:
    sent: list[Sent] = field(default_factory=list)

    def of(self, *kinds: str) -> list[Sent]:
        return [s for s in self.sent if s.kind in kinds]

    def texts(self, *kinds: str) -> list[str]:
        return [s.content or "" for s in self.of(*kinds)]


@dataclass
class FakeRole:
    name: str
    id: int = field(default_factory=lambda: next(_ids))


@dataclass
class FakeUser:
    id: int = field(default_factory=lambda: next(_ids))
    name: str = "researcher"
    bot: bool = False
    roles: list[FakeRole] = field(default_factory=list)
    guild_permissions: discord.Permissions = field(default_factory=discord.Permissions.none)

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


class FakeChannel:
    def __init__(
        self,
        recorder: Recorder,
        type: discord.ChannelType = discord.ChannelType.text,
        owner_id: int | None = None,
    ) -> None:
        self.id = next(_ids)
        self.type = type
        self.owner_id = owner_id
        self.recorder = recorder
        self.typing_entered = 0
        self.threads: list[FakeChannel] = []

    async def send(self, content: str | None = None, **kwargs: Any) -> FakeMessage:
        await asyncio.sleep(0)  # a real send yields to the event loop
        self.recorder.sent.append(Sent("send", self.id, content, kwargs))
        return FakeMessage(self.recorder, self, content or "", author=FakeUser(id=BOT_ID, bot=True))

    @asynccontextmanager
    async def typing(self) -> Any:
        self.typing_entered += 1
        yield


class FakeMessage:
    def __init__(
        self,
        recorder: Recorder,
        channel: FakeChannel,
        content: str,
        author: FakeUser,
        mentions: list[Any] | None = None,
    ) -> None:
        self.id = next(_ids)
        self.recorder = recorder
        self.channel = channel
        self.content = content
        self.author = author
        self.mentions = mentions or []
        self.guild = None if channel.type in (discord.ChannelType.private,) else object()

    async def reply(self, content: str | None = None, **kwargs: Any) -> FakeMessage:
        await asyncio.sleep(0)
        self.recorder.sent.append(Sent("reply", self.channel.id, content, kwargs))
        return FakeMessage(self.recorder, self.channel, content or "", author=FakeUser(id=BOT_ID, bot=True))

    async def create_thread(self, *, name: str, **kwargs: Any) -> FakeChannel:
        thread = FakeChannel(self.recorder, discord.ChannelType.public_thread, owner_id=BOT_ID)
        self.channel.threads.append(thread)
        self.recorder.sent.append(Sent("thread", thread.id, name, kwargs))
        return thread


class FakeResponse:
    def __init__(self, interaction: FakeInteraction) -> None:
        self.interaction = interaction
        self.done = False
        self.deferred: dict[str, Any] | None = None

    def is_done(self) -> bool:
        return self.done

    async def defer(self, **kwargs: Any) -> None:
        assert not self.done, "responded twice to one interaction"
        self.done = True
        self.deferred = kwargs
        self.interaction.recorder.sent.append(Sent("defer", self.interaction.channel.id, None, kwargs))

    async def send_message(self, content: str | None = None, **kwargs: Any) -> None:
        assert not self.done, "responded twice to one interaction"
        self.done = True
        self.interaction.recorder.sent.append(Sent("response", self.interaction.channel.id, content, kwargs))


class FakeFollowup:
    def __init__(self, interaction: FakeInteraction) -> None:
        self.interaction = interaction

    async def send(self, content: str | None = None, **kwargs: Any) -> FakeMessage:
        assert self.interaction.response.done, "follow-up before the interaction was acknowledged"
        await asyncio.sleep(0)
        channel = self.interaction.channel
        self.interaction.recorder.sent.append(Sent("followup", channel.id, content, kwargs))
        return FakeMessage(
            self.interaction.recorder, channel, content or "", author=FakeUser(id=BOT_ID, bot=True)
        )


class FakeInteraction:
    def __init__(self, recorder: Recorder, user: FakeUser, channel: FakeChannel) -> None:
        self.recorder = recorder
        self.user = user
        self.channel = channel
        self.response = FakeResponse(self)
        self.followup = FakeFollowup(self)
        self.message: FakeMessage | None = None
        self.edits: list[str] = []

    async def edit_original_response(self, *, content: str | None = None, **kwargs: Any) -> None:
        self.edits.append(content or "")
        self.recorder.sent.append(Sent("edit", self.channel.id, content, kwargs))

    async def delete_original_response(self) -> None:
        self.recorder.sent.append(Sent("delete", self.channel.id, None, {}))


class FakeAttachment:
    """An uploaded file; ``save`` copies local bytes where discord.py would download them."""

    def __init__(self, source: Path, filename: str | None = None, size: int | None = None) -> None:
        self.source = source
        self.filename = filename or source.name
        self.size = source.stat().st_size if size is None else size

    async def save(self, fp: Path) -> int:
        data = self.source.read_bytes()
        Path(fp).write_bytes(data)
        return len(data)


T = TypeVar("T")
HEADGEAR = "Does rugby headgear prevent concussion?"  # PMID 11867487 in the mini corpus
HEADGEAR_PMID = "11867487"
FOLLOW_UP = "Which players took part in that study?"
SEND_KINDS = ("send", "reply", "followup", "response", "edit")


class World:
    """One bot (not connected) with its cogs, a recorder and a text channel."""

    def __init__(self, bot: LitbotBot) -> None:
        self.bot = bot
        self.recorder = Recorder()
        self.channel = FakeChannel(self.recorder)
        ask, admin, ingest = bot.get_cog("AskCog"), bot.get_cog("AdminCog"), bot.get_cog("IngestCog")
        assert isinstance(ask, AskCog) and isinstance(admin, AdminCog) and isinstance(ingest, IngestCog)
        self.ask_cog, self.admin_cog, self.ingest_cog = ask, admin, ingest

    def interaction(
        self, user: FakeUser | None = None, channel: FakeChannel | None = None
    ) -> FakeInteraction:
        return FakeInteraction(self.recorder, user or FakeUser(), channel or self.channel)

    async def ask(self, question: str, **kwargs: Any) -> FakeInteraction:
        interaction = kwargs.pop("interaction", None) or self.interaction()
        await invoke(self.ask_cog.ask, self.ask_cog, interaction, question, **kwargs)
        return interaction

    async def say(
        self,
        content: str,
        channel: FakeChannel,
        user: FakeUser | None = None,
        mentions: list[Any] | None = None,
    ) -> FakeMessage:
        message = FakeMessage(self.recorder, channel, content, user or FakeUser(), mentions)
        await self.ask_cog.on_message(message)  # type: ignore[arg-type]
        return message


async def invoke(command: Any, cog: Any, *args: Any, **kwargs: Any) -> None:
    """Call an app command's own callback, as discord.py does once Discord has delivered the interaction."""
    await command.callback(cog, *args, **kwargs)


def run_with_bot(settings: Settings, scenario: Callable[[World], Awaitable[T]]) -> T:
    settings = settings.model_copy(update={"top_k": 1})  # one source per answer keeps 60+ answers cheap

    async def main() -> T:
        handler = await asyncio.to_thread(ChatHandler.from_settings, settings)
        bot = LitbotBot(settings, handler, sync_commands=False)
        bot._connection.user = discord.ClientUser(
            state=bot._connection,
            data={
                "id": BOT_ID,
                "username": "litbot",
                "discriminator": "0",
                "avatar": None,
                "bot": True,
                "global_name": None,
            },
        )
        await bot.setup_hook()
        return await scenario(World(bot))

    return asyncio.run(main())


def assert_no_pings(recorder: Recorder) -> None:
    """Every message the bot sent or edited carried allowed_mentions=none (so @everyone/roles cannot ping)."""
    sends = recorder.of(*SEND_KINDS)
    assert sends
    for sent in sends:
        mentions = sent.kwargs.get("allowed_mentions")
        assert isinstance(mentions, discord.AllowedMentions), sent
        assert mentions.to_dict() == {"parse": []}, sent


def sources_text(interaction_sends: list[Any]) -> str:
    embeds = [s.kwargs["embed"] for s in interaction_sends if s.kwargs.get("embed")]
    assert len(embeds) == 1
    return embeds[0].description or ""
