"""Discord: the /ask `type` and `include_retracted` options, study types and RETRACTED on sources, and the
"Export citations" button's ephemeral .ris, through the real cog callbacks and views."""

from __future__ import annotations

import discord
import pytest
import rispy
from typer.testing import CliRunner

from bot.cli.app import app
from bot.discord.feedback import EXPORT_FILE
from ingest.settings import Settings
from tests.discord_fakes import World, assert_no_pings, run_with_bot, sources_text

from .conftest import FIXTURES
from .test_study_types_answers import ASTHMA, RETRACTED_QUESTION

XML = FIXTURES / "pubmed-xml"


def _ingest_typed() -> None:
    files = [XML / "retracted-993.xml", XML / "pubmed-29768149.xml", XML / "test_current_medline.xml.gz"]
    assert CliRunner().invoke(app, ["ingest", *map(str, files)]).exit_code == 0


@pytest.mark.slow
def test_type_option_labels_retraction_rule_and_export(mini_settings: Settings) -> None:
    _ingest_typed()

    async def scenario(world: World) -> None:
        await world.ask(ASTHMA, study_type="RCT")
        sent = world.recorder.of("followup")
        assert "— *RCT* · The New England journal of medicine, 2018 · PMID 29768149" in sources_text(sent)
        view = sent[-1].kwargs["view"]

        presser = world.interaction()
        await view.export_citations.callback(presser)
        reply = world.recorder.of("response")[-1]
        assert reply.kwargs["ephemeral"] is True and "1 reference in RIS" in (reply.content or "")
        attached = reply.kwargs["file"]
        assert isinstance(attached, discord.File) and attached.filename == EXPORT_FILE
        (record,) = rispy.loads(attached.fp.read().decode())
        assert record["accession_number"] == "29768149" and record["keywords"] == ["RCT"]

        world.recorder.sent.clear()
        await world.ask(ASTHMA, study_type="meta-analysis")
        text = " ".join(world.recorder.texts("followup"))
        assert "I couldn't find this" in text and "Filters are active (type=meta-analysis)" in text
        refusal_view = world.recorder.of("followup")[-1].kwargs["view"]
        assert "Export citations" not in [getattr(item, "label", None) for item in refusal_view.children]
        assert "Export citations" in [getattr(item, "label", None) for item in view.children]

        world.recorder.sent.clear()
        await world.ask(RETRACTED_QUESTION)
        text = " ".join(world.recorder.texts("followup"))
        assert "1 retracted article matched and was left out of the answer" in text
        assert "The include_retracted option of /ask answers from them too" in text

        world.recorder.sent.clear()
        await world.ask(RETRACTED_QUESTION, include_retracted=True)
        sent = world.recorder.of("followup")
        assert "⚠️ **RETRACTED** [The stimulation by synaptic transmitters" in sources_text(sent)
        assert "**⚠️ Source \\[1\\] is RETRACTED" in " ".join(world.recorder.texts("followup"))

        world.recorder.sent.clear()
        await world.ask(ASTHMA, study_type="anecdote")
        (reply,) = world.recorder.of("response")
        assert reply.kwargs["ephemeral"] is True and "unknown study type 'anecdote'" in (reply.content or "")
        assert not world.recorder.of("defer", "followup")
        assert_no_pings(world.recorder)

    run_with_bot(mini_settings, scenario)


def test_the_type_option_is_registered_as_type(mini_settings: Settings) -> None:
    async def scenario(world: World) -> None:
        command = world.bot.tree.get_command("ask")
        assert command is not None
        names = {p.display_name: p for p in command.parameters}  # type: ignore[union-attr]
        assert {"type", "include_retracted"} <= set(names)
        assert (
            not names["type"].required
            and names["include_retracted"].type == discord.AppCommandOptionType.boolean
        )

    run_with_bot(mini_settings, scenario)
