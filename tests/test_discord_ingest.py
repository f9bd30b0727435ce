"""/ingest and scheduled watches end-to-end: permissions, size cap, one status message, the store updated
and searchable; watches announced in a channel (E-utilities is a loopback stand-in)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import discord
import pytest

from bot.discord.cogs.ingest import Status
from ingest.settings import Settings
from tests.discord_fakes import (
    FakeAttachment,
    FakeChannel,
    FakeInteraction,
    FakeRole,
    FakeUser,
    Recorder,
    World,
    assert_no_pings,
    invoke,
    run_with_bot,
    sources_text,
)

NEW_RECORDS = [
    {
        "pmid": "99000001",
        "title": "Zebrafish fin regeneration after cryoinjury requires osteoblast dedifferentiation",
        "abstract": "We studied zebrafish fin regeneration after cryoinjury in 40 fish. Osteoblast "
        "dedifferentiation was required for regrowth. @everyone should read this.",
        "journal": "Dev Biol",
        "year": 2021,
    },
    {
        "pmid": "99000002",
        "title": "Axolotl limb regeneration and macrophages",
        "abstract": "Depleting macrophages blocked axolotl limb regeneration in all 24 animals.",
        "journal": "Dev Biol",
        "year": 2022,
    },
]


def upload(tmp_path: Path) -> FakeAttachment:
    path = tmp_path / "regeneration.jsonl"
    lines = [json.dumps(NEW_RECORDS[0]), "{not json", json.dumps(NEW_RECORDS[1])]
    path.write_text("\n".join(lines) + "\n")
    return FakeAttachment(path)


def test_ingest_needs_the_role_or_manage_server(mini_settings: Settings, tmp_path: Path) -> None:
    settings = mini_settings.model_copy(update={"discord_ingest_role": "Curators"})

    async def scenario(world: World) -> None:
        cog = world.ingest_cog
        stranger = world.interaction(user=FakeUser(roles=[FakeRole("Readers")]))
        await invoke(cog.ingest, cog, stranger, upload(tmp_path))
        refusal = world.recorder.of("response")[-1]
        assert refusal.kwargs["ephemeral"] is True and "Curators" in (refusal.content or "")
        too_big = FakeAttachment(
            upload(tmp_path).source, size=int(settings.discord_max_upload_mb * 2**20) + 1
        )
        curator = world.interaction(user=FakeUser(roles=[FakeRole("curators")]))
        await invoke(cog.ingest, cog, curator, too_big)
        assert "limit" in (world.recorder.of("response")[-1].content or "")
        await cog.wait_idle()
        assert (await asyncio.to_thread(world.bot.services.handler.stats))[
            "articles"
        ] == 64  # nothing ingested

    run_with_bot(settings, scenario)


def test_ingest_by_a_server_manager_edits_one_status_message(mini_settings: Settings, tmp_path: Path) -> None:
    async def scenario(world: World) -> None:
        cog = world.ingest_cog
        manager = world.interaction(user=FakeUser(guild_permissions=discord.Permissions(manage_guild=True)))
        await invoke(cog.ingest, cog, manager, upload(tmp_path))
        status = world.recorder.of("response")[-1]
        assert "regeneration.jsonl" in (status.content or "") and not status.kwargs.get("ephemeral")
        await cog.wait_idle()
        final = manager.edits[-1]
        assert "2 new" in final and "1 skipped" in final
        assert "line 2" in final  # the bad record is named
        assert len(world.recorder.of("response")) == 1  # one status message, edited in place
        handler = world.bot.services.handler
        assert (await asyncio.to_thread(handler.stats))["articles"] == 66

        await world.ask("What does zebrafish fin regeneration after cryoinjury require?")
        assert "https://pubmed.ncbi.nlm.nih.gov/99000001/" in sources_text(world.recorder.of("followup"))
        assert_no_pings(world.recorder)  # the abstract's "@everyone" cannot ping

    run_with_bot(mini_settings, scenario)


@pytest.mark.slow
def test_due_watches_are_announced_in_the_channel(mini_settings: Settings) -> None:
    from ingest.pubmed.watches import WatchBook
    from tests.eutils_stub import running_stub

    for stub in running_stub():
        settings = mini_settings.model_copy(update={"eutils_url": stub.url})
        WatchBook(settings.data_dir).add("regen", "fin regeneration @everyone")
        stub.results = ["11700088", "9997"]

        async def scenario(world: World) -> None:
            watches = world.bot.get_cog("WatchCog")
            assert watches is not None
            results = await watches.run_once(world.channel)  # type: ignore[attr-defined]
            assert [(r.name, r.new) for r in results] == [("regen", 2)]
            assert world.recorder.texts("send") == ["📚 2 new abstracts on fin regeneration @\u200beveryone"]
            assert await watches.run_once(world.channel) == []  # type: ignore[attr-defined]  # not due again
            assert len(world.recorder.of("send")) == 1
            assert_no_pings(world.recorder)

        run_with_bot(settings, scenario)


def test_status_message_edits_are_throttled_but_the_final_one_always_lands() -> None:
    async def scenario() -> list[str]:
        recorder = Recorder()
        interaction = FakeInteraction(recorder, FakeUser(), FakeChannel(recorder))
        status = Status(interaction)  # type: ignore[arg-type]
        await status.set("1 article so far")
        await status.set("2 articles so far")  # within the edit interval: skipped
        await status.set("done", force=True)
        assert_no_pings(recorder)
        return interaction.edits

    assert asyncio.run(scenario()) == ["1 article so far", "done"]
