"""What repairing a store a killed ingest left torn costs (RELIABILITY.md, bug 8): a copy of a store (by default
the one `litbot ingest --sample` built) is torn as a SIGKILL during Chroma's rewrite of its index files leaves
it (``header.bin`` emptied, the lock's generation marked busy), then repaired; side by side, a copy whose id
map is lost as well, so no vector can be salvaged from the files and the repair must re-embed them, as every
repair of a lost header did before 215692a.

    .venv/bin/litbot ingest --sample
    .venv/bin/python bench/repair_torn.py            # the store LITBOT_DATA_DIR (or the default) names
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import hnsw_files
from ingest.embeddings import make_embedder
from ingest.errors import StoreDamaged
from ingest.settings import load_settings
from ingest.store_health import repair_after_crash
from tests.store_snapshots import tear_vector_index


def repaired(source: Path, scratch: Path, lose_id_map: bool) -> dict[str, object]:
    store = scratch / "chroma"
    shutil.copytree(source, store)
    tear_vector_index(store, died_during_its_turn=True)
    if lose_id_map:
        segment = next(p for p in store.iterdir() if (p / hnsw_files.HEADER).exists())
        (segment / hnsw_files.ID_MAP).unlink()
    settings = load_settings().model_copy(update={"chroma_path": store})
    report = repair_after_crash(settings, make_embedder(settings), StoreDamaged("torn"))
    return {
        "seconds": report.seconds,
        "salvaged": report.salvaged_vectors,
        "reembedded": report.reembedded_chunks,
        "sound_after": report.after.ok,
        "chunks": report.after.chunks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", type=Path, help="the store folder to copy (default: the configured one)")
    args = parser.parse_args()
    source = args.store or load_settings().chroma_path
    results = {}
    for name, lose in (("header emptied (salvaged)", False), ("header and id map lost (re-embedded)", True)):
        with tempfile.TemporaryDirectory() as scratch:
            results[name] = repaired(source, Path(scratch), lose)
        print(name, json.dumps(results[name]), flush=True)
    fast, slow = results.values()
    print(f"ratio re-embedding / salvaging: {float(slow['seconds']) / float(fast['seconds']):.1f}x")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
