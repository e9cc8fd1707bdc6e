"""The sandbox: `make run` without BOT_TOKEN runs the same bot process against the embedded Bot API, with the web
chat on the same port, paper accounts only, on replayed candles. Nothing here can reach Telegram or an exchange."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from bot.sandbox import users
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from bot.startup import StartupError
from db.config import TELEGRAM_API, AppConfig, ConfigError

log = logging.getLogger(__name__)

TOKEN = "42:SANDBOX"  # the embedded server's own; never valid at Telegram, and the session never goes there
# Telegram's pace, with the bursts it tolerates in a private chat: 10 messages per 10 s to one chat, 30/s overall.
RATE = RateLimit(overall=30, per_chat=1, retry_after=1, window=10)
SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def replay_dir(config: AppConfig) -> Path | None:
    """MARKET_REPLAY_DIR when set, else the sample the project ships, else ../shared/data beside the clone."""
    if config.MARKET_REPLAY_DIR is not None:
        return config.MARKET_REPLAY_DIR
    try:
        from engine.market.sample import SAMPLE_DIR
    except ImportError:  # the shipped sample is its own module (issue 17); a checkout without it has ../shared
        return SHARED_DATA if SHARED_DATA.is_dir() else None
    return SAMPLE_DIR


class Sandbox:
    """Prepares the configuration (`prepare`), then serves the Bot API and the page once the engine exists
    (`open`), says where (`announce`) and closes (`close`)."""

    def __init__(self) -> None:
        self.api: BotAPIStandIn | None = None

    def prepare(self, config: AppConfig) -> AppConfig:
        """The sandbox's token, its admin among ADMIN_IDS and its candles; refused in production."""
        if config.is_production:
            raise ConfigError("ENV=production requires BOT_TOKEN: the sandbox (no token) is for trying the bot on "
                              "this machine. Get a token from @BotFather (/newbot) and put it in .env.")
        replay = replay_dir(config)
        if replay is None:
            raise ConfigError("The sandbox needs candles to replay: set MARKET_REPLAY_DIR to a folder of "
                              "<BASE>_<QUOTE>-1m.csv files.")
        return config.model_copy(update={
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
        add_page(api, clock_control(engine))
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


def add_page(api: BotAPIStandIn, clock: Any) -> None:
    """The web chat (bot/sandbox/web.py) on the Bot API's app; without that module, a minimal JSON pair."""
    try:
        from bot.sandbox import web as page
    except ImportError:
        add_fallback_routes(api)
        return
    page.add_routes(api.app, api, clock_control=clock)


def add_fallback_routes(api: BotAPIStandIn) -> None:
    """POST /sandbox/api/send {user, text}, POST /sandbox/api/press {user, message_id, data} and
    GET /sandbox/api/chat?user= (the chat's messages and popups). JSON only, so no other site's form can post."""

    def who(raw: Any) -> users.SandboxUser:
        try:
            return users.user(int(raw))
        except (KeyError, TypeError, ValueError):
            raise web.HTTPNotFound(text='{"error": "user"}', content_type="application/json") from None

    async def body(request: web.Request) -> dict:
        if request.content_type != "application/json":
            raise web.HTTPUnsupportedMediaType(text='{"error": "json"}', content_type="application/json")
        data = await request.json()
        if not isinstance(data, dict):
            raise web.HTTPBadRequest(text='{"error": "body"}', content_type="application/json")
        return data

    async def send(request: web.Request) -> web.Response:
        data = await body(request)
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            return web.json_response({"error": "text"}, status=400)
        msg = await api.send_text(who(data.get("user")), text[:4096])
        return web.json_response({"ok": True, "message_id": msg["message_id"]})

    async def press(request: web.Request) -> web.Response:
        data = await body(request)
        u = who(data.get("user"))
        try:
            await api.press(u, u.id, int(data.get("message_id")), str(data.get("data")))
        except (TypeError, ValueError):
            return web.json_response({"error": "gone"}, status=409)
        return web.json_response({"ok": True})

    async def chat(request: web.Request) -> web.Response:
        u = who(request.query.get("user"))
        return web.json_response({"messages": api.chat_messages(u.id), "popups": api.popups(u.id)})

    api.app.router.add_post("/sandbox/api/send", send)
    api.app.router.add_post("/sandbox/api/press", press)
    api.app.router.add_get("/sandbox/api/chat", chat)
