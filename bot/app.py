"""Composition root: reads the configuration once, wires database, vault, engine and Telegram, runs them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import Any

from aiogram import Bot
from pydantic import ValidationError

from bot.logging_setup import setup_logging
from bot.ops import OpsServer
from bot.roles import Part, Role, engine_runs_bots, runs, until_stopped, warnings
from bot.sandbox.run import Sandbox, replay_start_ms
from bot.session import make_session
from bot.startup import StartupError, connect_database, reach_telegram, sync_admins
from db.config import AppConfig, ConfigError
from db.database import disconnect
from db.vault import Vault, VaultError, check_readable, load_master_keys

log = logging.getLogger(__name__)


def load_config() -> AppConfig:
    try:
        return AppConfig()
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"The configuration is invalid ({problems}).") from None


def make_bot(config: AppConfig) -> Bot:
    """The Bot on the checked token (require_bot_token strips what a copy-paste adds)."""
    return Bot(token=config.require_bot_token().get_secret_value(), session=make_session(config.TELEGRAM_API_URL))


async def run(config: AppConfig, vault: Vault, on_started: Callable[[], object] | None = None,
              sandbox: Sandbox | None = None, role: Role = Role.ALL) -> None:
    """The bot until polling (or the webhook) stops; `on_started()` runs once everything is up, just before updates
    are taken (main: engine/runtime/heap.settle_heap). With `sandbox` (no BOT_TOKEN) the same process talks to the
    embedded Bot API, which serves the web chat too. `role` says which parts this process runs (bot/roles.py; `all`
    by default)."""
    from bot.dispatcher import POLLING_CONCURRENCY, build_dispatcher
    from bot.i18n import make_i18n
    from bot.notifier import Notifier
    from bot.pacing_shared import make_pacer
    from bot.webhook import serve_updates
    from engine.kernel_cache import load_kernels
    from engine.runtime.engine import build_engine

    # stopped while still starting: the start-up is cancelled and unwinds through its cleanups (a KeyboardInterrupt
    # raised by a signal handler could land inside the loop's own callbacks); polling and the webhook install theirs
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, _cancel_once(asyncio.current_task()))
    await connect_database(config.DATABASE_URL)
    bot = None
    try:
        await sync_admins(config.ADMIN_IDS)
        await check_readable(vault)

        def new_engine():
            return build_engine(vault=vault, redis_url=config.REDIS_URL, replay_dir=config.MARKET_REPLAY_DIR,
                                replay_speed=config.MARKET_REPLAY_SPEED,
                                replay_start_ms=replay_start_ms(config) if sandbox is not None else None,
                                paper_only=sandbox is not None,
                                # alone (one process, no broker) the in-process symbol locks are enough
                                shared_locks=bool(config.BROKER_URL) or role is not Role.ALL,
                                runs_bots=engine_runs_bots(role, config))

        engine = None
        if sandbox is not None:  # the page drives the engine's replay clock: the engine exists before the page
            engine = new_engine()
            config = await sandbox.open(config, engine)
        bot = make_bot(config)
        await reach_telegram(bot, config.TELEGRAM_API_URL)
        i18n = make_i18n(config.DEFAULT_LANGUAGE)
        if engine is None:
            engine = new_engine()
        dp = build_dispatcher(vault=vault, engine=engine, admin_ids=config.ADMIN_IDS, redis_url=config.REDIS_URL,
                              default_language=config.DEFAULT_LANGUAGE, i18n=i18n, sandbox=sandbox is not None)
        notifier = Notifier(bot, i18n=i18n, default_language=config.DEFAULT_LANGUAGE,
                            pacer=make_pacer(bot, config.REDIS_URL))  # Telegram's pace shared through Redis
        log.info("TradingBoost starting (env=%s, database=%s)", config.ENV, config.DATABASE_URL.split("://")[0])
        # the numba kernels, off the event loop, before the first candle close needs them
        await asyncio.to_thread(load_kernels)
        ops = OpsServer(engine, host=config.HEALTH_HOST, port=config.HEALTH_PORT, redis_url=config.REDIS_URL)
        if config.HEALTH_PORT:  # before the engine starts trading: a busy port ends the start-up cleanly
            await ops.start()
        for warning in warnings(role, config):
            log.warning("%s", warning)
        stop_jobs = asyncio.Event()
        jobs = job_parts(role, config, vault, engine, stop_jobs) if config.BROKER_URL else []
        if engine_runs_bots(role, config):
            await engine.start(settle=True)  # one process: the engine's own scheduler runs the candle closes
        if on_started is not None:
            on_started()
        if sandbox is not None:
            sandbox.announce()
        notifying = asyncio.create_task(notifier.run_forever(), name="notifier") \
            if runs(role, Part.NOTIFIER) else None
        try:
            if runs(role, Part.UPDATES):
                await serve_updates(dp, bot, config, polling_concurrency=POLLING_CONCURRENCY)
            else:
                await until_stopped()
        finally:
            _stopping(loop)  # the webhook's and the roles' handlers are gone: a second SIGTERM would kill mid-way
            stop_jobs.set()
            await asyncio.gather(*jobs, return_exceptions=True)
            if notifying is not None:
                notifying.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await notifying
            await engine.shutdown()
            await ops.stop()
    finally:
        _stopping(loop)
        if bot is not None:
            await bot.session.close()  # polling closes it; a stop before polling began must too
        if sandbox is not None:
            await sandbox.close()
        await disconnect()  # left open, aiosqlite's connection thread (not a daemon) keeps the process alive


def _cancel_once(task: asyncio.Task) -> Callable[[], None]:
    """SIGTERM while starting: cancel the start-up once. Another (make forwards the one it got, an operator sends
    one more) must not cancel the clean-up the first one began."""
    def on_sigterm() -> None:
        loop = asyncio.get_running_loop()
        _stopping(loop)
        task.cancel()
    return on_sigterm


def _stopping(loop: asyncio.AbstractEventLoop) -> None:
    """From here on SIGTERM is only said: the process is already stopping."""
    loop.add_signal_handler(signal.SIGTERM, log.info, "SIGTERM: already stopping")


def job_parts(role: Role, config: AppConfig, vault: Vault, engine: Any, stop: asyncio.Event) -> list[asyncio.Task]:
    """With BROKER_URL: the job consumer where the role runs jobs, the close emitter where it schedules."""
    from engine.jobs.parts import emit_closes, serve_jobs

    parts = []
    if runs(role, Part.JOBS):
        parts.append(asyncio.create_task(serve_jobs(config.BROKER_URL, stop, vault=vault, redis_url=config.REDIS_URL,
                                                    replay_dir=config.MARKET_REPLAY_DIR), name="jobs"))
    if runs(role, Part.SCHEDULER):
        parts.append(asyncio.create_task(emit_closes(config.BROKER_URL, stop, clock=engine.clock), name="closes"))
    return parts


def _run_loop(coro) -> None:
    """uvloop when installed (it comes with ccxt): cheaper I/O for polling, HTTP and the database drivers."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(role: Role = Role.ALL) -> int:
    try:
        config = load_config()
        sandbox = Sandbox() if config.BOT_TOKEN is None else None  # no token: the bot in a web chat, on paper
        if sandbox is not None:
            config = sandbox.prepare(config)
        token = config.require_bot_token()
        config.check_production()
        keys = load_master_keys(config)
        webhook_secret = [config.WEBHOOK_SECRET.get_secret_value()] if config.WEBHOOK_SECRET else []
        setup_logging(secrets=[token.get_secret_value(), *keys, *webhook_secret], fmt=config.LOG_FORMAT)
        vault = Vault(keys)
    except (ConfigError, VaultError) as e:
        print(e, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)  # stopped before the loop runs (`run` then installs its own)
    if config.bot_token_was_padded:
        log.warning("BOT_TOKEN had spaces or quotes around it in the configuration: they were ignored")
    try:
        from engine.runtime.heap import settle_heap

        _run_loop(run(config, vault, on_started=settle_heap, sandbox=sandbox, role=role))
    except VaultError as e:
        log.error("%s", e)
        return 1
    except StartupError as e:
        log.error("%s", e)
        return e.code
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    return 0
