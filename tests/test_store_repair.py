"""`litbot check` finds each kind of damage; `ask` on a damaged store is one line saying what to do; `litbot
repair` mends it without losing an intact article, re-embedding only what it must. Also: an embeddings server
that answers with the wrong number or size of vectors is refused before anything is stored, and a full disk
under the lexical index says so."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ingest import hnsw_files
from ingest.settings import Settings

from .cli_runner import run_litbot
from .conftest import MINI_CORPUS
from .embeddings_stub import EmbeddingsStub
from .store_snapshots import differences, read_store, read_template

LITBOT = str(Path(sys.executable).parent / "litbot")
HEADGEAR = "Does rugby headgear prevent concussion?"
HEADGEAR_PMID = "11867487"


def vector_segment(settings: Settings) -> Path:
    return next(p for p in settings.chroma_path.iterdir() if (p / hnsw_files.HEADER).exists())


def truncate_data(folder: Path) -> None:
    data = folder / hnsw_files.DATA
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])


def lose_id_map(folder: Path) -> None:
    (folder / hnsw_files.ID_MAP).unlink()


def zero_header(folder: Path) -> None:
    (folder / hnsw_files.HEADER).write_bytes(bytes(100))


def empty_header(folder: Path) -> None:
    """What a kill while hnswlib rewrote the header leaves."""
    (folder / hnsw_files.HEADER).write_bytes(b"")


def garble_links(folder: Path) -> None:
    links = folder / hnsw_files.LINKS
    with links.open("r+b") as out:
        out.write(np.random.default_rng(1).integers(0, 2**32, 4096, dtype=np.uint32).tobytes())


def garble_vectors(folder: Path) -> None:
    """Every vector overwritten with other finite numbers (labels and links kept), and the links garbled so the
    repair runs: salvaged vectors that disagree with the model must not be kept."""
    header = hnsw_files.read_header(folder)
    data = np.memmap(folder / hnsw_files.DATA, dtype=np.uint8, mode="r+")
    rng = np.random.default_rng(2)
    for element in range(header.count):
        start = element * header.size_per_element + header.data_offset
        data[start : header.label_offset + element * header.size_per_element] = (
            rng.normal(size=(header.label_offset - header.data_offset) // 4).astype(np.float32).view(np.uint8)
        )
    data.flush()
    del data
    garble_links(folder)


def empty_header_garbled_vectors(folder: Path) -> None:
    """Vectors overwritten and then the header lost: the element size can still be told from the labels, but
    the vectors found there must not be kept."""
    garble_vectors(folder)
    empty_header(folder)


def delete_segment(folder: Path) -> None:
    shutil.rmtree(folder)


@pytest.fixture(scope="session")
def large_snapshot(
    hashed_large_store_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
    embeddings_server: EmbeddingsStub,
) -> dict[str, object]:
    """The large store as built, read once per worker."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in embeddings_server.env().items():
            patch.setenv(name, value)
        return read_template(hashed_large_store_template, tmp_path_factory.mktemp("snapshot"))


def test_check_finds_a_sound_store_sound(hashed_large_settings: Settings) -> None:
    done = run_litbot("check", "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"] and report["problems"] == [], done.stdout
    assert report["articles"] == 1264 and report["chunks"] > 1000  # 64 + 1,200; index files persisted


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "seen_at_open"),
    [
        (truncate_data, True),
        (lose_id_map, True),
        (zero_header, True),
        (empty_header, True),
        (garble_links, True),  # read whole at a process's first look
        (garble_vectors, True),
        (empty_header_garbled_vectors, True),
        (delete_segment, False),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_damage_is_found_said_in_one_line_and_repaired_without_loss(
    hashed_large_settings: Settings,
    large_snapshot: dict[str, object],
    damage: Callable[[Path], None],
    seen_at_open: bool,
) -> None:
    damage(vector_segment(hashed_large_settings))
    if seen_at_open:  # a command's first look, before Chroma loads the files: one line, never a crash
        ask = run_litbot("ask", HEADGEAR)
        assert ask.returncode == 1 and ask.stderr.count("\n") == 1, ask.stderr
        assert "damaged" in ask.stderr and "litbot repair" in ask.stderr
    check = run_litbot("check", "--json")
    report = json.loads(check.stdout)
    assert check.returncode == 1 and not report["ok"] and report["problems"], check.stdout
    repaired = run_litbot("repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    result = json.loads(repaired.stdout)
    assert result["after"]["ok"] and bool(result["quarantined"]) == (damage is not delete_segment)
    if damage in (garble_vectors, empty_header_garbled_vectors, delete_segment):
        assert result["reembedded_chunks"] >= 1000  # nothing in the files could be trusted
    elif damage in (garble_links, zero_header, empty_header):
        # every vector salvaged (without a header, from the element size that puts the id map's labels where
        # labels go), and checked against the model
        assert result["reembedded_chunks"] == 0 and result["salvaged_vectors"] == report["chunks"]
    assert not differences(read_store(hashed_large_settings.chroma_path), large_snapshot)
    answer = json.loads(run_litbot("ask", HEADGEAR, "--json").stdout)
    assert HEADGEAR_PMID in [c["pmid"] for c in answer["citations"]]


def test_repair_rebuilds_a_lexical_index_that_lost_articles(hashed_mini_settings: Settings) -> None:
    import sqlite3

    from ingest.lexical import index_folder

    database = index_folder(hashed_mini_settings.store_cache_dir) / "articles.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("DELETE FROM articles WHERE article_id = ?", (f"pmid:{HEADGEAR_PMID}",))
    check = run_litbot("check")
    assert check.returncode == 1 and "lexical index" in check.stdout, check.stdout
    repaired = run_litbot("repair", "--json")
    assert repaired.returncode == 0 and json.loads(repaired.stdout)["lexical_rebuilt"], repaired.stdout
    assert run_litbot("check").returncode == 0
    answer = json.loads(run_litbot("ask", HEADGEAR, "--json").stdout)
    assert HEADGEAR_PMID in [c["pmid"] for c in answer["citations"]]


def test_repair_of_a_sound_store_changes_nothing(hashed_mini_settings: Settings) -> None:
    before = read_store(hashed_mini_settings.chroma_path)
    done = run_litbot("repair")
    assert done.returncode == 0 and "nothing to repair" in done.stdout, done.stdout
    assert not differences(read_store(hashed_mini_settings.chroma_path), before)


@pytest.mark.parametrize(("miscount", "dimension"), [(1, None), (-1, None), (0, 64)])
def test_an_embeddings_server_that_answers_wrongly_is_refused_before_anything_is_stored(
    hashed_mini_settings: Settings,
    hashed_embeddings: EmbeddingsStub,
    tmp_path: Path,
    miscount: int,
    dimension: int | None,
) -> None:
    before = read_store(hashed_mini_settings.chroma_path)
    data = tmp_path / "new.jsonl"
    data.write_text(
        "".join(
            json.dumps({"pmid": str(800000 + n), "title": f"Zorbulin {n}", "abstract": "Zorbulin helped."})
            + "\n"
            for n in range(5)
        )
    )
    hashed_embeddings.miscount, hashed_embeddings.dimension = miscount, dimension
    done = run_litbot("ingest", str(data))
    assert done.returncode == 1 and done.stderr.count("error:") == 1, done.stderr
    assert f"the embeddings server at {hashed_embeddings.url}" in done.stderr
    assert ("-dimensional" if dimension else "vectors for") in done.stderr
    hashed_embeddings.reset()
    assert not differences(read_store(hashed_mini_settings.chroma_path), before)


def _mount(*args: str) -> bool:
    return subprocess.run(["mount", *args], capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.parametrize("room", ["128k", "192k", "256k"])  # full when SQLite opens, in tantivy, at COMMIT
def test_a_full_disk_under_the_lexical_index_says_so_and_a_rerun_finishes(
    tmp_path: Path, hashed_embeddings: EmbeddingsStub, room: str
) -> None:
    """The store has room, its lexical index (beside it, in .litbot/) has not: the disk-full line, not an
    SQLite or tantivy error; once there is room, the same command again leaves a sound store."""
    store = tmp_path / "chroma"
    cache = store / ".litbot"
    cache.mkdir(parents=True)
    if not _mount("-t", "tmpfs", "-o", f"size={room}", "tmpfs", str(cache)):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    env = {**os.environ, "LITBOT_CHROMA_PATH": str(store)}
    try:
        done = subprocess.run(
            [LITBOT, "ingest", str(MINI_CORPUS)], capture_output=True, text=True, timeout=300, env=env
        )
    finally:
        subprocess.run(["umount", str(cache)], check=False)
    assert done.returncode == 1 and "is full" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "rollback" not in done.stderr
    again = subprocess.run([LITBOT, "ingest", str(MINI_CORPUS)], capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr
    check = subprocess.run([LITBOT, "check", "--json"], capture_output=True, text=True, env=env)
    assert json.loads(check.stdout)["ok"] and json.loads(check.stdout)["articles"] == 64, check.stdout


def test_a_lexical_index_only_behind_the_store_is_a_note_and_repair_catches_it_up(
    hashed_mini_settings: Settings,
) -> None:
    """An article written after the index's cursor (an ingest killed before it indexed) is not damage: the
    next question would catch up; `repair` does it at once."""
    from ingest.embeddings import make_embedder
    from ingest.store import ChunkRecord, open_store

    embedder = make_embedder(hashed_mini_settings)
    store = open_store(hashed_mini_settings, embedder.name, create=False)
    text = "Zorbulin and rugby\n\nZorbulin halved concussion in rugby players."
    meta = {
        "article_id": "pmid:777002",
        "chunk": 0,
        "n_chunks": 1,
        "hash": "h",
        "title": "Zorbulin and rugby",
    }
    store.write_articles(
        [("pmid:777002", 1, [ChunkRecord("pmid:777002#0", text, embedder.embed_documents([text])[0], meta)])]
    )
    check = run_litbot("check", "--json")
    report = json.loads(check.stdout)
    assert check.returncode == 0 and report["lexical_behind"] == 1 and report["notes"], check.stdout
    repaired = json.loads(run_litbot("repair", "--json").stdout)
    assert repaired["lexical_caught_up"] == 1 and repaired["after"]["lexical_behind"] == 0


def test_two_repairs_in_one_second_set_their_damaged_indexes_aside_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by CI: an ingest's repair and a question's repair a moment later named the same quarantine folder,
    and the second failed ("already exists")."""
    from ingest import store_health
    from ingest.store_health import _quarantine_folder

    monkeypatch.setattr(
        store_health.time, "strftime", lambda _: "20261206T234722"
    )  # one second, whatever the clock

    settings = Settings(_env_file=None, chroma_path=tmp_path / "chroma", data_dir=tmp_path / "data")  # type: ignore[call-arg]
    first = _quarantine_folder(settings, "segment")
    first.mkdir(parents=True)
    second = _quarantine_folder(settings, "segment")
    assert second != first and not second.exists() and second.parent == first.parent
    assert (first.name, second.name) == ("20261206T234722-segment", "20261206T234722-segment-2")
