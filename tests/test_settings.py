"""Settings: prefixes, standard aliases, secrets, and .env.example listing every setting."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest.settings import GROUPS, MODEL_THRESHOLDS, Settings, env_example

ROOT = Path(__file__).resolve().parents[1]


def test_standard_names_are_accepted_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-123")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("DISCORD_TOKEN", "discord-SECRET-456")
    monkeypatch.setenv("LITBOT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("LITBOT_CHROMA_PORT", "8123")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.openai_api_key is not None and s.openai_api_key.get_secret_value() == "sk-test-SECRET-123"
    assert s.discord_token is not None and s.discord_token.get_secret_value() == "discord-SECRET-456"
    assert s.llm_configured and s.uses_server
    assert s.store_label == "http://127.0.0.1:8123 [litbot]"
    assert "SECRET" not in repr(s) and "SECRET" not in str(s.model_dump())


def test_litbot_prefix_wins_over_nothing_and_dotenv_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text("LITBOT_COLLECTION=from-dotenv\nLITBOT_TOP_K=9\n")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert s.collection == "from-dotenv" and s.top_k == 9
    assert not s.llm_configured


def test_every_setting_is_described_grouped_and_in_env_example() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description and len(field.description) > 15, f"{name} has no description"
        extra = field.json_schema_extra
        assert isinstance(extra, dict) and extra.get("group") in GROUPS, f"{name} has no group"
    assert (ROOT / ".env.example").read_text() == env_example(), (
        "regenerate: litbot settings --example > .env.example"
    )
    listed = set(re.findall(r"^# ((?:LITBOT|OPENAI)_[A-Z_]+)=", env_example(), flags=re.MULTILINE))
    assert len(listed) == len(Settings.model_fields)


def test_one_data_dir_rule_and_caches_live_with_their_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LITBOT_CHROMA_PATH")
    moved = Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]
    assert moved.chroma_path == tmp_path / "data" / "chroma"  # the store follows LITBOT_DATA_DIR
    own = Settings(_env_file=None, data_dir=tmp_path / "data", chroma_path=tmp_path / "s1")  # type: ignore[call-arg]
    assert own.store_cache_dir == tmp_path / "s1" / ".litbot" / "litbot"
    other = own.model_copy(update={"collection": "other"})
    assert other.store_cache_dir != own.store_cache_dir
    server = Settings(_env_file=None, data_dir=tmp_path / "data", chroma_host="db.local", chroma_port=9000)  # type: ignore[call-arg]
    assert server.store_cache_dir.parent == tmp_path / "data" / "servers"
    assert "db.local-9000-litbot" in server.store_cache_dir.name


def test_thresholds_default_per_embedding_model_and_can_be_set() -> None:
    default = Settings(_env_file=None)  # type: ignore[call-arg]
    assert default.threshold("relevance_floor") == MODEL_THRESHOLDS["all-MiniLM-L6-v2"]["relevance_floor"]
    tuned = Settings(_env_file=None, relevance_floor=0.2, answer_relevance=0.7)  # type: ignore[call-arg]
    assert (tuned.threshold("relevance_floor"), tuned.threshold("answer_relevance")) == (0.2, 0.7)
    assert tuned.threshold("lay_word_relevance") == MODEL_THRESHOLDS["all-MiniLM-L6-v2"]["lay_word_relevance"]


def test_settings_command_never_prints_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bot.cli.app import app

    monkeypatch.setenv("OPENAI_API_KEY", "sk-SECRET-789")
    result = CliRunner().invoke(app, ["settings", "--json"])
    assert result.exit_code == 0 and "SECRET" not in result.stdout
    assert json.loads(result.stdout)["llm"]["OPENAI_API_KEY"] == "(set)"
