"""Questions over Discord end-to-end: the real /ask, /sources, /stats, /help callbacks and message handler
over the real ChatHandler and mini store; recording stand-ins only where discord.py would reach Discord."""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import discord
import pytest

from bot.discord.feedback import FEEDBACK_FILE, FeedbackView
from ingest.settings import Settings
from tests.discord_fakes import (
    BOT_ID,
    FOLLOW_UP,
    HEADGEAR,
    HEADGEAR_PMID,
    FakeChannel,
    FakeUser,
    World,
    assert_no_pings,
    invoke,
    run_with_bot,
    sources_text,
)


def test_ask_defers_then_answers_with_sources_and_opens_a_thread(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        interaction = await world.ask(HEADGEAR)
        kinds = [s.kind for s in world.recorder.sent]
        assert kinds[0] == "defer" and world.recorder.sent[0].kwargs == {"thinking": True}
        followups = world.recorder.of("followup")
        assert followups and all(len(s.content or "") <= 2000 for s in followups)
        assert "headgear" in " ".join(world.recorder.texts("followup")).lower()
        assert f"https://pubmed.ncbi.nlm.nih.gov/{HEADGEAR_PMID}/" in sources_text(followups)
        assert isinstance(followups[-1].kwargs.get("view"), FeedbackView)
        threads = world.recorder.of("thread")
        assert [t.content for t in threads] == [HEADGEAR]
        assert threads[0].where in world.bot.services.memory
        assert interaction.response.deferred == {"thinking": True}
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_thread_follow_up_uses_that_threads_memory(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        await world.ask(HEADGEAR)
        thread = world.channel.threads[0]
        await world.say(FOLLOW_UP, thread)  # no mention needed inside an answer thread
        replies = world.recorder.of("reply")
        assert replies and replies[0].where == thread.id
        conversation = world.bot.services.memory.get(thread.id)
        assert conversation and conversation.session
        history = conversation.session.history
        assert [q for q, _ in history] == [HEADGEAR, FOLLOW_UP]
        follow = history[1][1]
        assert follow.standalone_question != FOLLOW_UP  # condensed with the first turn
        assert (
            "headgear" in follow.standalone_question.lower() or "rugby" in follow.standalone_question.lower()
        )
        assert not world.recorder.of("thread")[1:]  # a follow-up does not open another thread

        # /sources in the thread: the last answer's sources, with passages, ephemeral.
        sources = world.interaction(channel=thread)
        await invoke(world.ask_cog.sources, world.ask_cog, sources)
        response = world.recorder.of("response")[-1]
        assert response.kwargs["ephemeral"] is True
        embed = response.kwargs["embed"]
        assert embed.fields and all(len(f.value) <= 1024 for f in embed.fields) and len(embed) <= 6000

        # /ask typed in the thread continues the same conversation too.
        await world.ask("Were there any adverse effects?", interaction=world.interaction(channel=thread))
        assert len(history) == 3 and len(world.recorder.of("thread")) == 1

        # A second /ask in the channel opens its own thread with its own, fresh memory.
        await world.ask("Does a special interest in laparoscopy affect the treatment of acute cholecystitis?")
        second = world.channel.threads[1]
        other = world.bot.services.memory.get(second.id)
        assert other and other.session and len(other.session.history) == 1
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_mentions_and_direct_messages_are_answered_plain_messages_are_not(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        me = FakeUser(id=BOT_ID, bot=True)
        await world.say("good morning everyone", world.channel)
        assert world.recorder.sent == []  # not addressed to the bot
        await world.say(f"<@{BOT_ID}> {HEADGEAR}", world.channel, mentions=[me])
        assert world.channel.typing_entered == 1
        reply = world.recorder.of("reply")[0]
        assert "headgear" in (reply.content or "").lower()
        assert [t.content for t in world.recorder.of("thread")] == [HEADGEAR]

        dm = FakeChannel(world.recorder, discord.ChannelType.private)
        await world.say(HEADGEAR, dm)
        await world.say(FOLLOW_UP, dm)
        conversation = world.bot.services.memory.get(dm.id)
        assert conversation and conversation.session and len(conversation.session.history) == 2
        assert len(world.recorder.of("thread")) == 1  # no threads in DMs
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_everyone_in_a_question_cannot_ping(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        await world.ask("@everyone <@&1234> does rugby headgear prevent concussion?")
        assert_no_pings(world.recorder)
        assert world.bot.allowed_mentions is not None
        assert world.bot.allowed_mentions.to_dict() == {"parse": []}

    run_with_bot(mini_settings, scenario)


def test_sixth_question_in_the_window_is_refused_politely(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        user = FakeUser()
        for _ in range(6):
            await world.ask(HEADGEAR, interaction=world.interaction(user=user))
        assert len(world.recorder.of("defer")) == 5
        refusal = world.recorder.of("response")[-1]
        assert refusal.kwargs["ephemeral"] is True and "please wait" in (refusal.content or "")
        await world.ask(HEADGEAR)  # someone else is not affected
        assert len(world.recorder.of("defer")) == 6

    run_with_bot(mini_settings, scenario)


@pytest.mark.slow
def test_fifty_simultaneous_asks_are_all_answered_without_blocking_the_loop(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        gaps: list[float] = []
        stop = asyncio.Event()

        async def heartbeat() -> None:  # like discord.py's gateway keep-alive: needs the loop every few ms
            last = time.perf_counter()
            while not stop.is_set():
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        beat = asyncio.create_task(heartbeat())
        await asyncio.sleep(0.05)
        interactions = [world.interaction(user=FakeUser()) for _ in range(50)]
        started = time.perf_counter()
        await asyncio.gather(*(world.ask(HEADGEAR, interaction=i) for i in interactions))
        wall = time.perf_counter() - started
        stop.set()
        await beat
        assert all(i.response.deferred == {"thinking": True} for i in interactions)
        answers = [
            s.kwargs["embed"].description for s in world.recorder.of("followup") if s.kwargs.get("embed")
        ]
        assert len(answers) == 50 and all(HEADGEAR_PMID in text for text in answers)
        threads = world.recorder.of("thread")
        assert len(threads) == 50
        # Answers computed on the event loop would stall the heartbeat for the whole of each one, in turn: the
        # loop would be stalled for nearly all of the 50 answers' wall time, and for at least the longest
        # answer at once. Off the loop, stalls are the OS's and the GIL's scheduling noise, which load
        # lengthens but which never adds up to most of the time.
        memory = world.bot.services.memory
        totals = [memory.get(t.where).session.last_answer.timings["total"] for t in threads]  # type: ignore[union-attr]
        stalled = sum(gap - 0.01 for gap in gaps if gap > 0.05)
        print(f"heartbeat max gap {max(gaps) * 1000:.0f} ms, stalled {stalled:.2f} s of {wall:.2f} s; "
              f"answers median {statistics.median(totals) * 1000:.0f} ms")  # fmt: skip
        assert stalled < 0.5 * wall, f"event loop stalled for {stalled:.2f} s of {wall:.2f} s"
        assert max(gaps) < max(0.1, max(totals)), f"event loop blocked for {max(gaps) * 1000:.0f} ms"

    run_with_bot(mini_settings, scenario)


def test_stats_and_help(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        stats = world.interaction()
        await invoke(world.admin_cog.stats, world.admin_cog, stats)
        embed = world.recorder.of("followup")[-1].kwargs["embed"]
        fields = {f.name: f.value for f in embed.fields}
        assert fields["articles"] == "64"
        await invoke(world.admin_cog.help, world.admin_cog, world.interaction())
        assert "/ask" in (world.recorder.of("response")[-1].content or "")
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_feedback_buttons_log_votes(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        await world.ask(HEADGEAR)
        view = world.recorder.of("followup")[-1].kwargs["view"]
        voter = world.interaction()
        await view.helpful.callback(voter)
        await view.helpful.callback(world.interaction(user=voter.user))  # a second vote is not logged again
        lines = (mini_settings.data_dir / FEEDBACK_FILE).read_text().splitlines()
        assert [json.loads(line)["vote"] for line in lines] == ["up"]
        assert json.loads(lines[0])["question"] == HEADGEAR
        assert world.recorder.of("response")[-1].kwargs["ephemeral"] is True

    run_with_bot(mini_settings, scenario)


def test_errors_reach_the_user_as_one_short_ephemeral_line(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        await world.ask("why " * 600)  # longer than the chat handler accepts: a LitbotError
        assert [s.kind for s in world.recorder.sent] == ["defer", "delete", "followup"]
        error = world.recorder.of("followup")[0]
        assert error.kwargs["ephemeral"] is True and "too long" in (error.content or "")
        assert "\n" not in (error.content or "") and not error.kwargs.get("embed")
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_a_full_queue_is_refused_politely(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        from bot.discord.limits import AnswerSlots

        world.bot.services.slots = AnswerSlots(concurrent=1, queue=0)
        first = asyncio.create_task(world.ask(HEADGEAR))
        while world.bot.services.slots.pending == 0:
            await asyncio.sleep(0.005)
        await world.ask(HEADGEAR)  # arrives while the only slot is taken and nobody may queue
        busy = world.recorder.of("response")[-1]
        assert busy.kwargs["ephemeral"] is True and "try again" in (busy.content or "")
        await first
        assert len(world.recorder.of("defer")) == 1
        await world.ask(HEADGEAR)  # the slot is free again
        assert len(world.recorder.of("defer")) == 2

    run_with_bot(mini_settings, scenario)
