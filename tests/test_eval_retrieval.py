"""`litbot eval retrieval` over tiny real BEIR folders: all three modes, the right keys, a reused store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.eval import eval_app
from bot.eval.beir import eval_store_settings, load_beir
from bot.eval.retrieval import corpus_id
from ingest.settings import Settings

pytestmark = pytest.mark.slow  # each test ingests a BEIR corpus
FIXTURES = Path(__file__).parent / "fixtures"
SCIFACT_MINI = FIXTURES / "beir-scifact-mini"
PUBMEDQA_MINI = FIXTURES / "beir-pubmedqa-mini"
KEYS = {"ndcg@10", "recall@5", "recall@100", "mrr@10", "p50_ms", "p95_ms", "queries"}


def _run(*args: str) -> dict[str, dict[str, float]]:
    result = CliRunner().invoke(eval_app, ["retrieval", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, dict[str, float]] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def test_scifact_mini_reports_three_modes_and_reuses_its_store(settings: Settings) -> None:
    report = _run(str(SCIFACT_MINI), "--split", "train")
    assert set(report) == {"hybrid", "lexical", "dense"}
    for mode, row in report.items():
        assert set(row) == KEYS, mode
        assert row["queries"] == 5
        for key in ("ndcg@10", "recall@5", "recall@100", "mrr@10"):
            assert 0.0 <= row[key] <= 1.0, (mode, key)
        assert 0 < row["p50_ms"] <= row["p95_ms"]
    for mode in ("hybrid", "dense"):  # 40 documents: every judged one is within the first 100
        assert report[mode]["recall@100"] == 1.0, report
    assert report["hybrid"]["ndcg@10"] >= 0.6, report
    store = eval_store_settings(SCIFACT_MINI, settings).chroma_path
    marker = store.parent / "ingested.json"
    assert json.loads(marker.read_text())["new"] == 40
    stamp = marker.stat().st_mtime_ns
    again = _run(str(SCIFACT_MINI), "--split", "train", "--limit", "2")
    assert again["hybrid"]["queries"] == 2
    assert marker.stat().st_mtime_ns == stamp  # not ingested again


def test_pubmedqa_mini_maps_articles_by_pmid() -> None:
    report = _run(str(PUBMEDQA_MINI), "--split", "test", "--limit", "8")
    assert report["hybrid"]["queries"] == 8
    assert report["hybrid"]["recall@5"] == 1.0
    assert report["hybrid"]["mrr@10"] >= 0.9


def test_table_output_and_clear_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(eval_app, ["retrieval", str(tmp_path), "--split", "test"])
    assert result.exit_code == 1
    assert "error:" in result.output and "corpus.jsonl" in result.output
    assert "Traceback" not in result.output


def test_load_beir_keeps_judged_queries_only() -> None:
    beir = load_beir(SCIFACT_MINI, "train")
    assert sorted(beir.queries) == ["1134", "1135", "1136", "616", "617"]
    assert beir.qrels["616"] == {"18670": 1}


@pytest.mark.parametrize(
    ("metadata", "article_id", "expected"),
    [
        ({"source_id": "18670", "pmid": "999"}, "src:18670", "18670"),
        ({"pmid": "21645374"}, "pmid:21645374", "21645374"),
        ({}, "src:4983", "4983"),
    ],
)
def test_corpus_id(metadata: dict[str, str], article_id: str, expected: str) -> None:
    assert corpus_id(metadata, article_id) == expected


def test_cached_store_is_not_reused_across_chunkings(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store chunked by another chunker version or window must not be scored as if it were current."""
    current = eval_store_settings(SCIFACT_MINI, settings).chroma_path
    wider = eval_store_settings(SCIFACT_MINI, settings.model_copy(update={"chunk_tokens": 128})).chroma_path
    monkeypatch.setattr("bot.eval.beir.CHUNKER_VERSION", "next")
    newer = eval_store_settings(SCIFACT_MINI, settings).chroma_path
    assert len({current, wider, newer}) == 3
