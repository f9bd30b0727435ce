"""Hostile inputs and faults (issue 12): bounded memory, good records kept beside bad ones, one line per fault,
no escape codes and no secrets. Each case runs the real `litbot` command (in a process of its own where its
peak memory is the point, in the test's process otherwise) or the real store on this machine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from typing import IO

import pytest

from ingest.settings import Settings
from ingest.store import open_store
from tests.cli_runner import run_litbot
from tests.embeddings_stub import EmbeddingsStub
from tests.openai_stub import OpenAIStub, Reply

LITBOT = str(Path(sys.executable).with_name("litbot"))
GOOD = {
    "pmid": "424242",
    "title": "Rugby headgear and concussion",
    "abstract": "Headgear did not prevent concussion in rugby players.",
}
MAX_RSS_MB = 1024
_RSS = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "print(done.returncode); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024)\n"
    "sys.stderr.write(done.stdout + '\\n@@\\n' + done.stderr)\n"
)


def measured(*args: str, stdin: IO[bytes] | None = None) -> tuple[int, int, str, str]:
    """(exit status, peak RSS in MB, stdout, stderr) of `litbot ARGS` in a process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", _RSS, LITBOT, *args], capture_output=True, text=True, timeout=600, stdin=stdin
    )
    code, rss = (int(x) for x in done.stdout.split())
    out, _, err = done.stderr.partition("\n@@\n")
    return code, rss, out, err


def stored_pmids() -> set[str]:
    """The PMIDs of every article in this test's store (LITBOT_CHROMA_PATH), read here, not by another litbot."""
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    store = open_store(settings, settings.embedding_model, create=False)
    return {str(meta["pmid"]) for meta in store.iter_article_metadata()}


# --- memory stays bounded, whatever one record holds -----------------------------------------------------------


@pytest.mark.slow
def test_a_200_mb_json_line_costs_a_skip_not_the_memory(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    data = tmp_path / "huge.jsonl"
    with data.open("w") as out:
        out.write('{"pmid": "1", "abstract": "' + "x" * (200 * 1024 * 1024) + '"}\n')
        out.write(json.dumps(GOOD) + "\n")
    code, rss, out, err = measured("ingest", str(data))
    assert rss < MAX_RSS_MB, f"peak RSS {rss} MB"
    assert "read 2: 1 new" in out and "huge.jsonl: line 1: a record of 200 MB" in err
    assert code == 0 and stored_pmids() == {"424242"}


@pytest.mark.slow
def test_a_gzip_bomb_is_cut_off_and_the_records_before_it_kept(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing
    with bomb.open("wb") as out:
        out.write(packer.compress((json.dumps(GOOD) + "\n").encode()))
        zeros = b"y" * (16 * 1024 * 1024)
        for _ in range(8):  # 128 MB of one endless line in 130 kB: past GZIP_CHECK_AFTER at 1,000-fold
            out.write(packer.compress(zeros))
        out.write(packer.flush())
    assert bomb.stat().st_size < 1024 * 1024
    _, rss, out, err = measured("ingest", str(bomb))
    assert rss < MAX_RSS_MB, f"peak RSS {rss} MB"
    assert "gzip bomb" in err and "read 2: 1 new" in out
    assert stored_pmids() == {"424242"}


@pytest.mark.slow
def test_oversized_fields_skip_their_records_fast(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    """A 700,000-character title (JSONL) and a 10 MB abstract (MEDLINE), in one ingest: each record skipped
    and named, the good record after each stored, the peak memory bounded."""
    title = tmp_path / "title.jsonl"
    rows = [{"pmid": "1", "title": "T" * 700_000, "abstract": "Short."}, GOOD]
    title.write_text("".join(json.dumps(r) + "\n" for r in rows))
    medline = tmp_path / "big.txt"
    body = "\n      ".join(["Cells divided rapidly under stress and recovered afterwards."] * 170_000)
    medline.write_text(
        f"PMID- 2\nTI  - Big\nAB  - {body}\n\nPMID- 424243\nTI  - {GOOD['title']}\nAB  - {GOOD['abstract']}\n"
    )
    _, rss, out, err = measured("ingest", str(title), str(medline))
    assert rss < MAX_RSS_MB, f"peak RSS {rss} MB"
    assert "title.jsonl: line 1: the title has 700,000 characters" in err, err
    assert "big.txt: record 1: a record of" in err and "2 new" in out, (out, err)
    assert stored_pmids() == {"424242", "424243"}


# --- good records survive bad neighbours -----------------------------------------------------------------------


def test_a_nul_byte_spoils_only_its_own_record(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    data = tmp_path / "nul.jsonl"
    data.write_bytes(b'{"pmid": "1", "abstract": "bad \x00 record"}\n' + json.dumps(GOOD).encode() + b"\n")
    done = run_litbot("ingest", str(data), "--json")
    report = json.loads(done.stdout)
    assert (report["new"], report["skipped"], report["failed_inputs"]) == (1, 1, [])


@pytest.mark.slow
def test_an_xml_bomb_after_good_records_keeps_them(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    laughs = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10 if i else "lol"}">' for i in range(10))
    good = (
        "<PubmedArticle><MedlineCitation><PMID>424242</PMID><Article><ArticleTitle>Rugby headgear</ArticleTitle>"
        "<Abstract><AbstractText>Headgear did not prevent concussion in rugby players.</AbstractText></Abstract>"
        "</Article></MedlineCitation></PubmedArticle>"
    )
    bomb = good.replace("424242", "1").replace("Headgear did not", "&l9;")
    data = tmp_path / "laughs.xml"
    data.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE PubmedArticleSet [{laughs}]>\n<PubmedArticleSet>{good}{bomb}</PubmedArticleSet>\n'
    )
    done = run_litbot("ingest", str(data))
    assert "XML bomb" in done.stderr and "1 new" in done.stdout
    assert stored_pmids() == {"424242"}


@pytest.mark.slow
def test_hostile_file_names_are_printed_escaped_and_the_rest_go_in(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / os.fsdecode(b"bad\xffname.jsonl")).write_text(json.dumps(GOOD) + "\n")
    (folder / "n\x1b[2Jx\nl.jsonl").write_text("not json at all\n")
    done = run_litbot("ingest", str(folder))
    assert "1 new" in done.stdout and "\x1b" not in done.stdout + done.stderr
    assert "n\\x1b[2Jx\\x0al.jsonl" in done.stderr
    assert stored_pmids() == {"424242"}


@pytest.mark.slow
def test_a_fifo_is_skipped_never_waited_on(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "pipe.jsonl")
    os.mkfifo(tmp_path / "named.jsonl")
    (folder / "good.jsonl").write_text(json.dumps(GOOD) + "\n")
    done = run_litbot("ingest", str(folder), str(tmp_path / "named.jsonl"))
    assert "1 new" in done.stdout and "named.jsonl: is not a regular file" in done.stderr
    assert run_litbot("ingest", str(folder / "good.jsonl")).returncode == 0  # the lock was released


# --- faults: one line, and the store stays usable --------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LITBOT_CHROMA_PORT", "abc", "is not a whole number"),
        ("LITBOT_TOP_K", "abc", "is not a whole number"),
        ("LITBOT_CHROMA_SSL", "maybe", "is not true or false"),
        ("LITBOT_EMBEDDING_BATCH_SIZE", "0", "must be at least 1"),
        ("LITBOT_LLM_TEMPERATURE", "abc", "is not a number"),
        ("LITBOT_DISCORD_GUILD_ID", "abc", "is not a whole number"),
        ("LITBOT_LLM_TIMEOUT", "-1", "must be more than 0"),
        ("LITBOT_COLLECTION", "bad name!", "a collection name is"),
        ("LITBOT_EUTILS_URL", "notaurl", "must be an http:// or https:// URL"),
    ],
)
def test_a_mistyped_setting_is_one_line_and_exit_2(variable: str, value: str, expected: str) -> None:
    done = run_litbot("stats", env={variable: value})
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and variable in done.stderr and expected in done.stderr


def test_an_unusable_store_folder_is_one_line() -> None:
    done = run_litbot("ingest", "--sample", env={"LITBOT_CHROMA_PATH": "/dev/null/x"})
    assert done.returncode == 1 and done.stderr.strip().count("\n") == 0
    assert "cannot create the store folder /dev/null/x" in done.stderr


def test_a_damaged_or_vanished_store_is_one_line(mini_settings: Settings) -> None:
    database = mini_settings.chroma_path / "chroma.sqlite3"
    database.write_bytes(os.urandom(4096) * 16)
    done = run_litbot("stats")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "is damaged" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_store_deleted_mid_ingest_is_one_line(settings: Settings, tmp_path: Path) -> None:
    """The database goes away while the ingest writes: a StoreError naming the store, not a traceback."""
    from ingest.errors import StoreError
    from ingest.pipeline import build_ingestor, ingest_inputs

    rows = [{**GOOD, "pmid": str(n)} for n in range(1, 300)]
    data = tmp_path / "many.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    small = settings.model_copy(update={"ingest_group_size": 8})
    ingestor = build_ingestor(small)

    def vanish(_name: str, done: int) -> None:
        if done >= 8:
            (small.chroma_path / "chroma.sqlite3").unlink(missing_ok=True)

    with pytest.raises(StoreError, match=r"changed under litbot|damaged|Chroma error"):
        ingest_inputs([str(data)], ingestor, progress=vanish)


def test_chunks_without_their_commit_chunk_are_never_cited(mini_settings: Settings) -> None:
    """A write that failed before chunk 0 landed (a full disk) leaves chunks 1..n: they are not evidence."""
    import numpy as np

    from bot.chat import ChatHandler
    from ingest.store import ChunkRecord, open_store

    store = open_store(mini_settings, "all-MiniLM-L6-v2", create=False)
    handler = ChatHandler.from_settings(mini_settings)
    vector = handler.embedder.embed_documents(["Headgear did not prevent concussion in rugby players."])[0]
    orphan = ChunkRecord(
        "pmid:99999#1",
        "Rugby headgear and concussion\n\nHeadgear did not prevent concussion in rugby players at all.",
        np.asarray(vector),
        {"article_id": "pmid:99999", "chunk": 1, "n_chunks": 2, "pmid": "99999", "title": "Orphan"},
    )
    store._upsert([orphan])
    store.bump_revision()
    answer = handler.new_session().ask("Does rugby headgear prevent concussion?")
    assert "pmid:99999" not in [c.id for c in answer.citations]


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.mark.slow
def test_a_read_only_store_is_read_and_refuses_ingests_in_one_line(
    hashed_mini_settings: Settings, tmp_path: Path
) -> None:
    mini_settings = hashed_mini_settings  # the store's permissions are the point, not its model
    view = tmp_path / "ro"
    view.mkdir()
    if not (
        _mount("--bind", str(mini_settings.chroma_path), str(view))
        and _mount("-o", "remount,bind,ro", str(view))
    ):
        pytest.skip("cannot mount a read-only view here (needs root)")
    try:
        env = {"LITBOT_CHROMA_PATH": str(view)}
        stats = run_litbot("stats", "--json", env=env)
        assert stats.returncode == 0 and json.loads(stats.stdout)["articles"] == 64
        answer = json.loads(
            run_litbot("ask", "Does rugby headgear prevent concussion?", "--json", env=env).stdout
        )
        assert answer["citations"][0]["pmid"] == "11867487"
        ingest = run_litbot("ingest", "--sample", env=env)
        assert ingest.returncode == 1 and "is read-only" in ingest.stderr and "Traceback" not in ingest.stderr
    finally:
        _mount("-u", str(view)) or subprocess.run(["umount", str(view)], check=False)


@pytest.mark.slow
def test_a_full_disk_says_so(tmp_path: Path, hashed_embeddings: EmbeddingsStub) -> None:
    full = tmp_path / "full"
    full.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(full)):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        corpus = Path(__file__).parent / "fixtures" / "corpus-mini"
        done = subprocess.run(  # a process of its own: its store is closed when it ends, so the disk unmounts
            [LITBOT, "ingest", str(corpus)], capture_output=True, text=True, timeout=300,
            env={**os.environ, "LITBOT_CHROMA_PATH": str(full / "chroma")},
        )  # fmt: skip
        assert done.returncode == 1 and "is full" in done.stderr and "Traceback" not in done.stderr
    finally:
        subprocess.run(["umount", str(full)], check=False)


# --- untrusted text never drives the terminal or Discord -------------------------------------------------------

EVIL = {
    "pmid": "31337",
    "doi": "10.1234/x)[click](http://evil.example)",
    "title": "Rugby headgear \x1b[2J\x1b]8;;http://evil.example\x1b\\phish\x1b]8;;\x1b\\ and concussion",
    "journal": "J \x1b[0m Sports",
    "abstract": "Headgear did not prevent concussion in rugby players \x1b[31mred\x1b[0m at any level.",
}


@pytest.mark.slow
def test_escape_codes_in_records_never_reach_the_output(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub
) -> None:
    data = tmp_path / "evil.jsonl"
    data.write_text(json.dumps(EVIL) + "\n")
    assert run_litbot("ingest", str(data)).returncode == 0
    text = run_litbot("ask", "Does rugby headgear prevent concussion?").stdout
    assert "\x1b" not in text, repr(text)
    assert "https://pubmed.ncbi.nlm.nih.gov/31337/" in text  # the link comes from the PMID, nothing else
    (citation,) = json.loads(run_litbot("ask", "Does rugby headgear prevent concussion?", "--json").stdout)[
        "citations"
    ]
    assert citation["link"] == "https://pubmed.ncbi.nlm.nih.gov/31337/" and "\x1b" not in json.dumps(citation)
    piped = run_litbot("chat", "--no-links", input="Does rugby headgear prevent concussion?\n")
    assert "\x1b" not in piped.stdout, repr(piped.stdout[piped.stdout.find("\x1b") - 80 :])


def test_discord_shows_untrusted_text_literally() -> None:
    from bot.discord.render import answer_messages, sources_embed
    from bot.types import Answer, Citation

    answer = Answer(
        question="q",
        mode="llm",
        text="# Heading [click](http://evil.example) ||spoiler|| @everyone Headgear helps [1].",
        citations=[Citation(n=1, id="doi:x", title="T [x](http://evil.example)", doi=EVIL["doi"])],
    )
    message = answer_messages(answer)[0]
    assert re.search(r"(?<!\\)\[[^\]]*\]\(http", message) is None  # no live masked link
    assert "\\# Heading" in message and "\\|\\|" in message
    assert "@everyone" not in message  # defused (a zero-width space after the @)
    embed = sources_embed(answer)
    assert (
        embed is not None and re.search(r"(?<!\\)\[[^\]]*\]\(<?http://evil", embed.description or "") is None
    )
    targets = re.findall(r"\]\(<([^>]*)>\)", embed.description or "")
    assert targets and all(t.startswith("https://doi.org/10.1234/x%29%5Bclick%5D") for t in targets)


# --- secrets ---------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_server_echoing_the_key_or_a_password_in_a_url_never_shows_it(mini_settings: Settings) -> None:
    key = "sk-test-ECHOED-secret-123"
    with OpenAIStub(default=Reply(status=500, text=f"Authorization: Bearer {key}")) as stub:
        base = stub.url.replace("http://", "http://user:pass-word-99@")
        done = run_litbot(
            "--debug", "ask", "Does rugby headgear prevent concussion?",
            env={"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base, "LITBOT_LLM_MAX_RETRIES": "0"},
        )  # fmt: skip
    shown = done.stdout + done.stderr
    assert key not in shown and "pass-word-99" not in shown
    assert "***" in shown
