"""The sandbox: `make run` without BOT_TOKEN runs the same bot process against the embedded Bot API, with the web
chat on the same port, paper accounts only, on replayed candles. Nothing here can reach Telegram or an exchange."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.sandbox import users, web
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from bot.startup import StartupError
from db.config import TELEGRAM_API, AppConfig, ConfigError
from engine.market.sample import SAMPLE_DIR, SANDBOX_START_MS

log = logging.getLogger(__name__)

TOKEN = "42:SANDBOX"  # the embedded server's own; never valid at Telegram, and the session never goes there
# Telegram's pace, with the bursts it tolerates in a private chat: 10 messages per 10 s to one chat, 30/s overall.
RATE = RateLimit(overall=30, per_chat=1, retry_after=1, window=10)

# its own file by default: the sandbox never opens the database where `make run` with a token keeps real accounts
SANDBOX_DATABASE_URL = "sqlite://data/sandbox.sqlite3"


def replay_start_ms(config: AppConfig) -> int | None:
    """Where the replay starts: on the shipped sample, a stretch where a default grid trades at once; else the
    engine's default (a week into the data)."""
    return SANDBOX_START_MS if config.MARKET_REPLAY_DIR == SAMPLE_DIR else None


def replay_dir(config: AppConfig) -> Path:
    """MARKET_REPLAY_DIR when set, else the sample the project ships (engine/market/sample)."""
    return config.MARKET_REPLAY_DIR if config.MARKET_REPLAY_DIR is not None else SAMPLE_DIR


class Sandbox:
    """Prepares the configuration (`prepare`), then serves the Bot API and the page once the engine exists
    (`open`), says where (`announce`) and closes (`close`)."""

    def __init__(self) -> None:
        self.api: BotAPIStandIn | None = None

    def prepare(self, config: AppConfig) -> AppConfig:
        """The sandbox's token, its admin among ADMIN_IDS, its candles and, unless DATABASE_URL is set, its own
        database file; refused in production."""
        if config.is_production:
            raise ConfigError("ENV=production requires BOT_TOKEN: the sandbox (no token) is for trying the bot on "
                              "this machine. Get a token from @BotFather (/newbot) and put it in .env.")
        replay = replay_dir(config)
        database = {} if "DATABASE_URL" in config.model_fields_set else {"DATABASE_URL": SANDBOX_DATABASE_URL}
        return config.model_copy(update={
            **database,
            "BOT_TOKEN": SecretStr(TOKEN),
            "ADMIN_IDS": tuple(dict.fromkeys((*config.ADMIN_IDS, *users.ADMIN_IDS))),
            "MARKET_REPLAY_DIR": replay,
        })

    async def open(self, config: AppConfig, engine: Any) -> AppConfig:
        """Serve the Bot API and the page on SANDBOX_HOST:SANDBOX_PORT; the configuration the Bot is built from."""
        if config.TELEGRAM_API_URL.rstrip("/") != TELEGRAM_API:
            log.info("TELEGRAM_API_URL is ignored in the sandbox: the bot talks only to its embedded Bot API")
        api = BotAPIStandIn(token=TOKEN, host=config.SANDBOX_HOST, port=config.SANDBOX_PORT, keep_calls=0,
                            rate_limit=RATE)
        web.add_routes(api.app, api, clock_control=clock_control(engine))
        try:
            await api.start()
        except OSError as e:
            raise StartupError(f"The sandbox cannot listen on {config.SANDBOX_HOST}:{config.SANDBOX_PORT} "
                               f"({e.strerror or type(e).__name__}): set SANDBOX_PORT to a free port.") from None
        self.api = api
        return config.model_copy(update={"TELEGRAM_API_URL": api.base_url})

    def announce(self) -> None:
        """One short block on stdout: where the chat is, and how to use a real Telegram bot instead."""
        assert self.api is not None
        print(f"\nTradingBoost sandbox: open http://{self.api.host}:{self.api.port} in your browser "
              "(paper accounts on replayed candles, no Telegram needed).\n"
              "To run it as a real Telegram bot instead, put BOT_TOKEN=<token from @BotFather> in .env and "
              "run it again.\n", flush=True)

    async def close(self) -> None:
        if self.api is not None:
            await self.api.stop()
            self.api = None


def clock_control(engine: Any) -> Any:
    """The replay clock the page's speed buttons drive (the engine's `clock_control`), None when it has none."""
    clock = getattr(engine, "clock_control", None)
    return clock if callable(getattr(clock, "set_speed", None)) else None
