"""Hostile text on the way out (issue 26): whatever a record, a server or a model says reaches the terminal and
Discord inert — no escape code, no invisible character, no live masked link — one bad line of input costs one
line, and a wrong argument or setting is one clear line with the right exit status."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from pathlib import Path

import discord
import pytest

from bot.discord.render import answer_messages, passages_embed, plain, sources_embed, split_message
from bot.types import Answer, Citation
from ingest.settings import Settings
from tests.cli_runner import run_litbot
from tests.discord_fakes import FakeAttachment, FakeUser, World, invoke, run_with_bot
from tests.eutils_stub import Fault, running_stub
from tests.test_reliability_hardening import MAX_RSS_MB, measured

# ESC[2J clears the screen, OSC 0 retitles the window, OSC 8 plants a hidden hyperlink; U+009B and U+009D are
# the one-byte (C1) CSI and OSC; U+202E reverses what follows; U+200B hides between "]" and "(".
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\ \x9b2J\x9d0;t\x07"
C1 = "\x9b2J\x9d8;;https://evil.example/\x9c"  # XML cannot hold ESC itself, but NCBI's text may hold these
INVISIBLE = "\u202e\u2066\u200b\u200d\ufeff\U000e0041"
LINK_TRAPS = (
    "Headgear works [1]. See [2](https://evil.example/a) and [log in again here](https://evil.example/b), "
    "[a [nested] one](https://evil.example/c), [zero]\u200b(https://evil.example/d), "
    "\\[escaped?](https://evil.example/e) and [[3]](https://evil.example/f)."
)


def inert(text: str) -> bool:
    """No control character (ESC, BEL, the C1 CSI/OSC/ST) and no invisible format character in ``text``."""
    return not any(unicodedata.category(c) in ("Cc", "Cf") for c in text if c not in "\n\t")


def live_links(text: str) -> list[str]:
    """Targets of the masked links Discord would render: ``[text](target)`` left once escaped characters are
    read as themselves and invisible characters are dropped (as a reader's client would show them)."""
    unescaped = re.sub(r"\\.", "_", re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text))
    return re.findall(r"\[[^\]]*\]\(\s*<?\s*(https?://[^)>]*)", unescaped)


# --- the one sanitiser --------------------------------------------------------------------------------------


def test_the_sanitiser_removes_every_control_and_format_character_and_keeps_the_text() -> None:
    from ingest.safe_text import safe_text

    unsafe = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Cc", "Cf")]
    unsafe = [c for c in unsafe if c not in "\n\t"] + ["\u2028", "\u2029"]
    assert safe_text("".join(unsafe)) == ""
    assert safe_text("lone \udce9 surrogate") == "lone \ufffd surrogate"
    kept = "Métformine 5 µg/kg — 肝癌 ≥ 2 [1]\n\tα-β 🧬 עברית"
    assert safe_text(kept) == kept
    assert safe_text("a\nb\tc", one_line=True) == "a b c"


# --- E-utilities text: terminal and Discord ------------------------------------------------------------------


def test_escape_codes_from_e_utilities_never_reach_the_terminal() -> None:
    for stub in running_stub():
        stub.esearch_reply = (
            f"<eSearchResult><Count>3</Count><RetMax>0</RetMax><RetStart>0</RetStart><IdList/>"
            f"<QueryTranslation>rugby{C1}[All Fields]{INVISIBLE}</QueryTranslation></eSearchResult>"
        ).encode()
        env = {"LITBOT_EUTILS_URL": stub.url}
        dry = run_litbot("ingest", "--pubmed", "rugby", "--dry-run", env=env)
        assert dry.returncode == 0 and "searched as: rugby" in dry.stdout
        assert inert(dry.stdout + dry.stderr), repr(dry.stdout)
        stub.esearch_reply = None
        body = json.dumps({"error": f"Search failed{ESCAPES} — [log in again here](https://evil.example/)"})
        stub.faults.append(Fault("esearch", status=400, body=body.encode(), times=-1))
        failed = run_litbot("ingest", "--pubmed", "rugby", env=env)
        assert failed.returncode == 1 and "Search failed" in failed.stderr
        assert inert(failed.stdout + failed.stderr), repr(failed.stderr)
        assert len(failed.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_a_watch_announcement_shows_a_servers_error_inert(mini_settings: Settings) -> None:
    from ingest.pubmed.watches import WatchBook

    for stub in running_stub():
        settings = mini_settings.model_copy(update={"eutils_url": stub.url})
        WatchBook(settings.data_dir).add("regen", "fin regeneration [x](https://evil.example/q)")
        body = json.dumps({"error": f"Session expired{ESCAPES}: [log in again here](https://evil.example/)"})
        stub.faults.append(Fault("esearch", status=400, body=body.encode(), times=-1))

        async def scenario(world: World) -> None:
            watches = world.bot.get_cog("WatchCog")
            await watches.run_once(world.channel)  # type: ignore[union-attr]
            (text,) = world.recorder.texts("send")
            assert "Session expired" in text and inert(text) and not live_links(text), text

        run_with_bot(settings, scenario)


# --- Discord: no masked link stays live ----------------------------------------------------------------------


def test_no_masked_link_stays_live_in_an_answer_its_sources_or_passages() -> None:
    citation = Citation(
        n=1,
        id="pmid:1",
        title=f"Rugby {INVISIBLE}headgear [see](https://evil.example/t)",
        pmid="1",
        journal="J [x](https://evil.example/j)",
        passages=[LINK_TRAPS, "A dataset [dataset](https://evil.example/data) is available."],
    )
    answer = Answer(
        question="q [x](https://evil.example/q)", mode="llm", text=LINK_TRAPS, citations=[citation]
    )
    messages = answer_messages(answer)
    assert all(not live_links(m) and inert(m) for m in messages), messages
    assert "Headgear works \\[1\\]" in messages[0]
    sources = sources_embed(answer)
    assert sources is not None and inert(sources.description or "")
    assert live_links(sources.description or "") == ["https://pubmed.ncbi.nlm.nih.gov/1/"]  # litbot's own
    detail = passages_embed(answer)
    for field in detail.fields:
        assert not live_links(f"{field.name}\n{field.value}") and inert(f"{field.name}{field.value}"), field


def test_a_split_never_leaves_a_backslash_behind_or_a_heading_in_front() -> None:
    text = plain("a" * 1999 + "[" + "b" * 500 + "](https://evil.example/)")
    assert all(not live_links(chunk) for chunk in split_message(text))
    text = plain("word " * 399 + "x # Heading and more text")
    assert all(not chunk.startswith("#") for chunk in split_message(text))


def test_a_one_megabyte_answer_is_a_few_messages_not_hundreds() -> None:
    answer = Answer(question="q", mode="llm", text="Headgear helps players [1]. " * 40_000)
    messages = answer_messages(answer)
    assert len(messages) <= 4 and all(len(m) <= 2000 for m in messages)
    assert "cut here" in messages[-1]


def test_an_ingest_status_shows_a_records_pmid_as_text(mini_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "evil.xml"
    data.write_text(
        '<?xml version="1.0"?>\n<PubmedArticleSet><PubmedArticle><MedlineCitation>'
        "<PMID>[log in again here](https://evil.example/x)</PMID><Article><ArticleTitle>T</ArticleTitle>"
        "</Article></MedlineCitation></PubmedArticle></PubmedArticleSet>\n"
    )

    async def scenario(world: World) -> None:
        manager = world.interaction(user=FakeUser(guild_permissions=discord.Permissions(manage_guild=True)))
        await invoke(world.ingest_cog.ingest, world.ingest_cog, manager, FakeAttachment(data))
        await world.ingest_cog.wait_idle()
        final = manager.edits[-1]
        assert "evil.xml" in final and "1 skipped" in final and not live_links(final), final

    run_with_bot(mini_settings, scenario)
    # whatever a skipped record's line quotes of it (an id, a column name), the status shows it as text
    from bot.discord.cogs.ingest import summary
    from ingest.pipeline import IngestReport

    report = IngestReport(read=1, skipped=1, problems=[f"evil.xml: PMID {LINK_TRAPS}{ESCAPES}: no abstract"])
    status = summary(report, "evil [x](https://evil.example/f).xml")
    assert "log in again here" in status and not live_links(status) and inert(status), status


# --- input lines and arguments ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_150_mb_line_piped_into_chat_costs_one_line_not_the_memory(tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    with questions.open("wb") as data:
        data.write(b"x" * (150 * 2**20) + b"\n" + b"caf\xe9 risk?\n" + b"/filter year>=2020\n")
    with questions.open("rb") as stdin:
        code, rss, out, err = measured("chat", "--json", stdin=stdin)
    assert rss < MAX_RSS_MB, f"peak RSS {rss} MB"
    assert "line 1 is too long for a question" in err and "line 2 is not valid UTF-8" in err
    assert code == 1 and len(out.splitlines()) == 2  # one JSON error line each


def test_arguments_that_are_not_years_or_not_utf8_are_one_line_and_exit_2() -> None:
    year = run_litbot("ask", "Does rugby headgear prevent concussion?", "--year-from", "99999999999999999999")
    assert year.returncode == 2 and year.stderr.strip() == (
        "error: --year-from 99999999999999999999 is not a year (1000–2999)"
    )
    question = "Does rugby headgear prevent concussion \udce9?"  # byte 0xe9 in argv, as Python decodes it
    bad = run_litbot("ask", question)
    assert bad.returncode == 2 and "not valid UTF-8" in bad.stderr and "0xe9" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_invisible_characters_in_a_title_reach_no_front_end_and_no_reference_file() -> None:
    from dataclasses import dataclass

    from bot.answer.citations import make_citation
    from bot.export import to_bibtex, to_ris
    from bot.render import source_line

    @dataclass
    class Stored:
        article_id: str
        metadata: dict[str, object]

    title = f"Rugby {INVISIBLE}headgear\u202egpj.exe and concussion"
    record = Stored(
        "pmid:7", {"pmid": "7", "title": title, "journal": f"J{INVISIBLE} Sports", "authors": "O\u200bBrien"}
    )
    citation = make_citation(1, record, [f"Headgear {INVISIBLE}did not help."])
    assert citation.title == "Rugby headgeargpj.exe and concussion"
    answer = Answer(question="q", mode="extractive", text="Headgear did not help [1].", citations=[citation])
    shown = [source_line(citation), to_bibtex([citation]), to_ris([citation]), *answer_messages(answer)]
    assert all(inert(text) for text in shown), shown


# --- settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300"])
def test_an_llm_timeout_that_cannot_work_is_one_line(value: str) -> None:
    done = run_litbot("stats", env={"LITBOT_LLM_TIMEOUT": value})
    assert done.returncode == 2 and done.stderr.startswith(
        f"error: invalid setting LITBOT_LLM_TIMEOUT={value!r}"
    )
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_dot_env_that_is_not_utf8_is_named() -> None:
    Path(".env").write_bytes(b"LITBOT_TOP_K=5\nLITBOT_COLLECTION=caf\xe9\n")
    done = run_litbot("stats")
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == f"error: {Path('.env').absolute()} is not UTF-8 text (byte 0xe9 at offset 36) — save it as UTF-8"
    )


@pytest.mark.parametrize(
    ("variable", "secret"),
    [("OPENAI_BASE_URL", "OPENAI_API_KEY"), ("LITBOT_DISCORD_GUILD_ID", "LITBOT_DISCORD_TOKEN"),
     ("LITBOT_CHROMA_PORT", "NCBI_API_KEY")],
)  # fmt: skip
def test_a_secret_in_the_wrong_setting_is_masked(variable: str, secret: str) -> None:
    value = "sk-proj-canary-7f3a9b2c1d"
    for where in ("environment", ".env"):
        env = {variable: value, secret: value} if where == "environment" else {}
        if where == ".env":
            Path(".env").write_text(f"{variable}={value}\n{secret}={value}\n")
        done = run_litbot("stats", env=env)
        assert done.returncode == 2 and variable in done.stderr and "***" in done.stderr
        assert value not in done.stdout + done.stderr and value[-8:] not in done.stderr, done.stderr
