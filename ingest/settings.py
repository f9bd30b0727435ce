"""litbot's one settings object.

Every setting is read from the environment (prefix ``LITBOT_``) and from a ``.env`` file in the working
directory; the standard ``OPENAI_API_KEY``/``OPENAI_BASE_URL`` and ``DISCORD_TOKEN`` names are accepted too.
Build it with :func:`load_settings` at the edge (the CLI) and pass it down; tests build
``Settings(_env_file=None, ...)``.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path(user_data_dir("litbot", appauthor=False))
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"LITBOT_{name}", *aliases)


class Settings(BaseSettings):
    """All of litbot's settings; see ``.env.example`` for one line on each."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- store -------------------------------------------------------------------------------------------
    chroma_path: Path = Field(
        DEFAULT_DATA_DIR / "chroma",
        validation_alias=_env("CHROMA_PATH"),
        description="Folder of the embedded Chroma store (ignored when chroma_host is set).",
    )
    chroma_host: str | None = Field(
        None, validation_alias=_env("CHROMA_HOST"), description="Chroma server host; set to use a server."
    )
    chroma_port: int = Field(8000, validation_alias=_env("CHROMA_PORT"), description="Chroma server port.")
    chroma_ssl: bool = Field(
        False, validation_alias=_env("CHROMA_SSL"), description="Use HTTPS to the server."
    )
    chroma_token: SecretStr | None = Field(
        None, validation_alias=_env("CHROMA_TOKEN"), description="Bearer token for a secured Chroma server."
    )
    collection: str = Field("litbot", validation_alias=_env("COLLECTION"), description="Collection name.")

    # --- embeddings and chunking ---------------------------------------------------------------------------
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        validation_alias=_env("EMBEDDING_MODEL"),
        description="'all-MiniLM-L6-v2' (offline, bundled) or 'openai:<model>', e.g. openai:text-embedding-3-small.",
    )
    embedding_batch_size: int = Field(4, validation_alias=_env("EMBEDDING_BATCH_SIZE"), ge=1)
    embedding_threads: int = Field(
        0, validation_alias=_env("EMBEDDING_THREADS"), ge=0, description="ONNX threads; 0 = all cores."
    )
    chunk_tokens: int = Field(
        256, validation_alias=_env("CHUNK_TOKENS"), ge=32, description="Chunk size in embedding-model tokens."
    )
    chunk_overlap_sentences: int = Field(1, validation_alias=_env("CHUNK_OVERLAP_SENTENCES"), ge=0)
    ingest_group_size: int = Field(
        64,
        validation_alias=_env("INGEST_GROUP_SIZE"),
        ge=1,
        description="Articles embedded and written together.",
    )

    # --- LLM -----------------------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key; unset = no LLM.",
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=_env("OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible server, e.g. http://localhost:11434/v1 for Ollama.",
    )
    llm_model: str = Field("gpt-4o-mini", validation_alias=_env("LLM_MODEL"), description="Chat model name.")
    llm_enabled: bool | None = Field(
        None,
        validation_alias=_env("LLM"),
        description="Force LLM mode on/off; default: on when an API key or base URL is set.",
    )
    llm_temperature: float = Field(0.0, validation_alias=_env("LLM_TEMPERATURE"))
    llm_timeout: float = Field(60.0, validation_alias=_env("LLM_TIMEOUT"), description="Seconds per request.")
    llm_max_retries: int = Field(3, validation_alias=_env("LLM_MAX_RETRIES"), ge=0)

    # --- retrieval and answering ---------------------------------------------------------------------------
    top_k: int = Field(6, validation_alias=_env("TOP_K"), ge=1, description="Sources per answer.")
    prompts_dir: Path | None = Field(None, validation_alias=_env("PROMPTS_DIR"))

    # --- Discord -------------------------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(
        None, validation_alias=_env("DISCORD_TOKEN", "DISCORD_TOKEN"), description="Bot token."
    )
    discord_guild_id: int | None = Field(
        None, validation_alias=_env("DISCORD_GUILD_ID"), description="Sync slash commands to this guild."
    )
    discord_ingest_role: str | None = Field(
        None, validation_alias=_env("DISCORD_INGEST_ROLE"), description="Role allowed to /ingest."
    )
    discord_max_upload_mb: float = Field(20.0, validation_alias=_env("DISCORD_MAX_UPLOAD_MB"))
    discord_user_rate: str = Field(
        "5/60", validation_alias=_env("DISCORD_USER_RATE"), description="Questions per seconds per user."
    )
    discord_max_concurrent: int = Field(4, validation_alias=_env("DISCORD_MAX_CONCURRENT"), ge=1)
    discord_watch_channel_id: int | None = Field(None, validation_alias=_env("DISCORD_WATCH_CHANNEL_ID"))
    watch_interval_hours: float = Field(24.0, validation_alias=_env("WATCH_INTERVAL_HOURS"))

    # --- NCBI E-utilities ----------------------------------------------------------------------------------
    eutils_url: str = Field(DEFAULT_EUTILS_URL, validation_alias=_env("EUTILS_URL"))
    ncbi_api_key: SecretStr | None = Field(None, validation_alias=_env("NCBI_API_KEY", "NCBI_API_KEY"))
    ncbi_email: str | None = Field(None, validation_alias=_env("NCBI_EMAIL"))
    ncbi_tool: str = Field("litbot", validation_alias=_env("NCBI_TOOL"))

    # --- misc ----------------------------------------------------------------------------------------------
    data_dir: Path = Field(
        DEFAULT_DATA_DIR, validation_alias=_env("DATA_DIR"), description="Caches, history, saved queries."
    )
    log_level: str = Field("WARNING", validation_alias=_env("LOG_LEVEL"))

    @property
    def uses_server(self) -> bool:
        return bool(self.chroma_host)

    @property
    def store_label(self) -> str:
        """Where the store lives, for humans (never includes a secret)."""
        if self.chroma_host:
            scheme = "https" if self.chroma_ssl else "http"
            return f"{scheme}://{self.chroma_host}:{self.chroma_port} [{self.collection}]"
        return f"{self.chroma_path} [{self.collection}]"

    @property
    def llm_configured(self) -> bool:
        if self.llm_enabled is not None:
            return self.llm_enabled
        return self.openai_api_key is not None or self.openai_base_url is not None


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with explicit overrides on top."""
    return Settings(**overrides)  # type: ignore[arg-type]
