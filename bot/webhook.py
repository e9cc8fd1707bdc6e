"""Telegram's updates in: a webhook that any number of replicas serve (WEBHOOK_URL), or polling for one process."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
from collections.abc import Callable
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.startup import StartupError, safe_url
from db.config import AppConfig

log = logging.getLogger(__name__)

# Telegram's rule for secret_token: 1-256 characters, A-Z a-z 0-9 _ -
SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# In-flight updates get this long to finish (and be answered) once the replica is told to stop.
SHUTDOWN_GRACE = 30.0


def check_secret(secret: str | None) -> str:
    """The webhook secret, or StartupError (code 2): a webhook without one would take updates from anyone who finds
    the URL. The message never quotes the secret."""
    if not secret:
        raise StartupError("WEBHOOK_URL is set but WEBHOOK_SECRET is not: the webhook would accept anyone's updates.",
                           code=2)
    if not SECRET_SHAPE.fullmatch(secret):
        raise StartupError("WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule).",
                           code=2)
    return secret


def webhook_path(url: str) -> str:
    """The path the replicas serve: the public URL's (a load balancer forwards it unchanged)."""
    return urlsplit(url).path or "/"


def make_app(dp: Dispatcher, bot: Bot, *, secret: str, path: str) -> web.Application:
    """The aiohttp application: POST `path` feeds the update to `dp` and answers only once it is handled
    (`handle_in_background=False`): Telegram sends a chat's next update after this answer, so the answer waits for
    the handler or per-chat order is lost across replicas (and even in one). A wrong or missing
    X-Telegram-Bot-Api-Secret-Token is answered 401 before the update is read. The dispatcher's start-up and
    shut-down hooks run with the application's."""
    app = web.Application()
    handler = UpdatesInFlight(dp, bot, handle_in_background=False, secret_token=secret)
    handler.register(app, path=path)
    app.on_shutdown.append(handler.finish)  # before the dispatcher's hooks (setup_application's), which close
    setup_application(app, dp, bot=bot)
    return app


class UpdatesInFlight(SimpleRequestHandler):
    """aiogram's request handler, counting the updates it is handling: a stopping replica lets them finish (up to
    SHUTDOWN_GRACE) before the dispatcher's shut-down hooks close the FSM storage, the users' locks and the Bot's
    session under them. aiohttp runs an application's shut-down hooks before it waits for the requests in flight."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.in_flight = 0
        self.idle = asyncio.Event()
        self.idle.set()

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.idle.clear()
        try:
            return await super().handle(request)
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self.idle.set()

    async def finish(self, app: web.Application) -> None:
        try:
            await asyncio.wait_for(self.idle.wait(), SHUTDOWN_GRACE)
        except TimeoutError:
            log.warning("%d update(s) still being handled after %.0f s; stopping anyway", self.in_flight,
                        SHUTDOWN_GRACE)


async def serve_webhook(
    dp: Dispatcher,
    bot: Bot,
    *,
    url: str,
    secret: str,
    host: str,
    port: int,
    on_started: Callable[[], None] | None = None,
    stop: asyncio.Event | None = None,
    handle_signals: bool = True,
) -> None:
    """Serve Telegram's pushes on host:port until `stop` is set (or SIGTERM/SIGINT with `handle_signals`).

    Once listening, registers the webhook: `setWebhook(url, secret_token, allowed_updates=<the update types the
    routers use>, drop_pending_updates=False)`. Every replica does so on start; the call is idempotent, so that is
    harmless (the last one wins with identical settings) and no replica is special. Stopping never deletes the
    webhook: the other replicas keep serving it. Requests in flight get SHUTDOWN_GRACE seconds to finish."""
    secret = check_secret(secret)
    stop = stop or asyncio.Event()
    runner = web.AppRunner(make_app(dp, bot, secret=secret, path=webhook_path(url)), shutdown_timeout=SHUTDOWN_GRACE,
                           access_log=None)
    await runner.setup()  # runs the dispatcher's start-up hooks (the command menu)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals else ()
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as e:
            raise StartupError(f"The webhook cannot listen on {host}:{port} ({e.strerror or e}).", code=2) from None
        await register_webhook(dp, bot, url, secret)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        log.info("Webhook mode: serving %s on %s:%d", safe_url(url), host, port)
        if on_started is not None:
            on_started()
        await stop.wait()
        log.info("Webhook stopping: finishing the updates in flight")
    finally:
        try:
            await runner.cleanup()  # the dispatcher's shut-down hooks and the Bot's session close with it
        finally:  # only then: a second SIGTERM while the updates in flight finish must not kill the process
            for sig in signals:
                loop.remove_signal_handler(sig)


async def register_webhook(dp: Dispatcher, bot: Bot, url: str, secret: str) -> None:
    """setWebhook; a refusal (a URL Telegram rejects, say) ends the start-up with Telegram's reason, which never
    contains the secret (aiogram's errors quote Telegram's description, not the request)."""
    try:
        await bot.set_webhook(url, secret_token=secret, allowed_updates=dp.resolve_used_update_types(),
                              drop_pending_updates=False)
    except TelegramAPIError as e:
        raise StartupError(f"Telegram refused the webhook {safe_url(url)}: {e.message}", code=2) from None


async def leave_webhook(bot: Bot) -> None:
    """Before polling: a webhook left from an earlier webhook run would make every getUpdates fail (409 Conflict).
    Deleting none is harmless; pending updates are kept."""
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except TelegramAPIError as e:
        log.warning("deleteWebhook failed (%s); polling fails while a webhook is set", type(e).__name__)


async def serve_updates(dp: Dispatcher, bot: Bot, config: AppConfig, *, polling_concurrency: int) -> None:
    """Updates in, the way the configuration says: the webhook when WEBHOOK_URL is set, else polling (the default,
    one process per bot token)."""
    if config.WEBHOOK_URL:
        secret = config.WEBHOOK_SECRET.get_secret_value() if config.WEBHOOK_SECRET else None
        await serve_webhook(dp, bot, url=config.WEBHOOK_URL, secret=check_secret(secret), host=config.WEBHOOK_HOST,
                            port=config.WEBHOOK_PORT)
        return
    await leave_webhook(bot)
    await dp.start_polling(bot, tasks_concurrency_limit=polling_concurrency)
