"""Composition root: reads the configuration once, wires database, vault, engine and Telegram, runs them."""

from __future__ import annotations

import asyncio
import logging
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import ValidationError

from bot.logging_setup import setup_logging
from db.config import AppConfig, ConfigError
from db.database import connect, disconnect
from db.vault import Vault, VaultError, check_readable, load_master_keys

log = logging.getLogger(__name__)


def load_config() -> AppConfig:
    try:
        return AppConfig()
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in e.errors())
        raise ConfigError(f"The configuration is invalid ({problems}).") from None


def make_bot(config: AppConfig) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(config.TELEGRAM_API_URL.rstrip("/")))
    return Bot(token=config.require_bot_token().get_secret_value(), session=session)


async def run(config: AppConfig, vault: Vault) -> None:
    await connect(config.DATABASE_URL)
    try:
        await check_readable(vault)
        bot = make_bot(config)
        dp = Dispatcher()
        log.info("TradingBoost starting (env=%s, database=%s)", config.ENV, config.DATABASE_URL.split("://")[0])
        await dp.start_polling(bot)
    finally:
        await disconnect()


def main() -> int:
    try:
        config = load_config()
        token = config.require_bot_token()
        config.check_production()
        keys = load_master_keys(config)
        setup_logging(secrets=[token.get_secret_value(), *keys])
        vault = Vault(keys)
    except (ConfigError, VaultError) as e:
        print(e, file=sys.stderr)
        return 2
    try:
        asyncio.run(run(config, vault))
    except VaultError as e:
        log.error("%s", e)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
