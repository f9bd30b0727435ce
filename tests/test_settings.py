"""Settings: prefixes, standard aliases, secrets, and .env.example listing every setting."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.settings import Settings

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


def test_env_example_lists_every_setting_with_a_comment() -> None:
    text = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^# ((?:LITBOT|OPENAI)_[A-Z_]+)=", text, flags=re.MULTILINE))
    for name, field in Settings.model_fields.items():
        aliases = set(field.validation_alias.choices) if field.validation_alias else set()  # type: ignore[union-attr]
        assert aliases & listed, f"setting {name} is missing from .env.example"
