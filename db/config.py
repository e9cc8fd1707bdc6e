"""The application's configuration: one pydantic-settings class, instantiated only by entry points."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
DEFAULT_DATABASE_URL = "sqlite://data/tradingboost.sqlite3"


class ConfigError(Exception):
    """The configuration cannot run; the message is one sentence for a person, never holding a secret."""


class AppConfig(BaseSettings):
    """Exactly the variables of DESIGN.md's configuration table; `.env` is read if present."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    BOT_TOKEN: SecretStr | None = None
    TELEGRAM_API_URL: str = TELEGRAM_API
    DATABASE_URL: str = DEFAULT_DATABASE_URL
    REDIS_URL: str | None = None
    MASTER_KEY: SecretStr | None = None
    ADMIN_IDS: Annotated[tuple[int, ...], NoDecode] = ()
    DEFAULT_LANGUAGE: Literal["en", "ko"] = "en"
    MARKET_REPLAY_DIR: Path | None = None
    MARKET_REPLAY_SPEED: float = Field(60.0, gt=0)
    ENV: Literal["development", "production"] = "development"
    HEALTH_HOST: str = "127.0.0.1"
    HEALTH_PORT: int = Field(8081, ge=0, le=65535)  # 0: no operations surface
    LOG_FORMAT: Literal["text", "json"] = "text"
    SANDBOX_HOST: str = "127.0.0.1"  # without BOT_TOKEN: the embedded Bot API and its web chat
    SANDBOX_PORT: int = Field(8080, ge=1, le=65535)
    WEBHOOK_URL: str | None = None  # set: Telegram pushes updates to this https URL instead of polling
    WEBHOOK_SECRET: SecretStr | None = None  # checked against X-Telegram-Bot-Api-Secret-Token
    WEBHOOK_HOST: str = "0.0.0.0"
    WEBHOOK_PORT: int = Field(8443, ge=1, le=65535)
    BROKER_URL: str | None = None  # unset: jobs run in this process; nats://host:4222: on NATS JetStream

    @field_validator("ADMIN_IDS", mode="before")
    @classmethod
    def _split_ids(cls, v: object) -> object:
        if isinstance(v, str):
            parts = [p.strip() for p in v.split(",") if p.strip()]
            try:
                return tuple(int(p) for p in parts)
            except ValueError:
                raise ValueError("ADMIN_IDS must be comma-separated Telegram user ids, e.g. 12345,67890") from None
        return v

    @field_validator("REDIS_URL", "MASTER_KEY", "BOT_TOKEN", "MARKET_REPLAY_DIR", "WEBHOOK_URL", "WEBHOOK_SECRET",
                     "BROKER_URL", mode="before")
    @classmethod
    def _empty_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @property
    def is_production(self) -> bool:
        return self.ENV == "production"

    @property
    def uses_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite:")

    def check_production(self) -> None:
        """Refuse configurations that are fine for development but unsafe with real users' money."""
        if not self.is_production:
            return
        if self.MASTER_KEY is None:
            raise ConfigError(
                "ENV=production requires MASTER_KEY (one or more Fernet keys, comma-separated, newest first); "
                "generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'."
            )
        if self.uses_sqlite:
            raise ConfigError("ENV=production requires a PostgreSQL DATABASE_URL (postgres://...), not SQLite.")

    def require_bot_token(self) -> SecretStr:
        """The token without stray spaces or quotes (a copy-paste habit); refused when it is not token-shaped."""
        if self.BOT_TOKEN is None:
            raise ConfigError(
                "BOT_TOKEN is not set: create a bot with @BotFather in Telegram (/newbot), then put the token "
                "it gives you in a file named .env in the project folder as BOT_TOKEN=123456:ABC..."
            )
        token = self.BOT_TOKEN.get_secret_value().strip().strip("'\"").strip()
        if not _TOKEN.fullmatch(token):
            raise ConfigError("BOT_TOKEN does not look like a token from @BotFather (digits, a colon, then letters, "
                              "digits, - or _, like 123456:ABC-def); copy it again from @BotFather (/token).")
        return SecretStr(token)

    @property
    def bot_token_was_padded(self) -> bool:
        return self.BOT_TOKEN is not None and self.BOT_TOKEN.get_secret_value() != \
            self.require_bot_token().get_secret_value()
