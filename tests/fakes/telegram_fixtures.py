"""Pytest fixtures running OUR Dispatcher, really polling the local Bot API stand-in over HTTP, on a migrated db.

tests/conftest.py loads this module as a plugin, so any test can ask for the fixtures::

    async def test_something(telegram):                # one harness with defaults (FakeEngine, no admins)
        api = telegram.api
        await telegram.accept_user(111)                # /start -> English -> accept; replies drained
        await api.send_command(111, "/status")
        reply = await api.next_call("sendMessage", chat_id=111)

    async def test_admin(telegram_factory):
        h = await telegram_factory(admin_ids=[999], rate_limit=RateLimit(overall=30, per_chat=1))

`telegram_factory(**kw)` accepts: engine (default: a FakeEngine recording control calls and updating
StrategyBot.status, with paper exchanges priced by `FakeEngine(prices={symbol: last})`; or a real
`engine.runtime.engine.Engine`, with the `vault` it was given), admin_ids, rate_limit, throttle_rate/throttle_burst (high by default: scripted
users click fast), redis_url, exchange_urls (ccxt base URL of tests/fakes/fake_exchange.py for key checks), and any
extra workflow data passed on to `build_dispatcher`. The Bot is built by bot.app.make_bot from TELEGRAM_API_URL. Both fixtures depend on the `db` fixture, so each test runs on SQLite and
PostgreSQL. The harness exposes `api` (BotAPIStandIn), `bot`, `dp`, `vault`, `engine`.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY

from bot.sandbox.bot_api import BotAPIStandIn, Call, RateLimit
from db.enums import BotStatus, MarketType
from db.models import AuditLog, ExchangeAccount, StrategyBot
from db.vault import Vault
from engine.exchange.paper import PaperExchange

__all__ = ["FakeControl", "FakeEngine", "ManualSeconds", "RateLimit", "TelegramHarness", "all_handled", "telegram",
           "telegram_factory", "updates_handled"]


@dataclass
class FakeControl:
    """The agreed `engine.runtime.control` surface, acting on the db only (no market), recording its calls."""

    calls: list[tuple] = field(default_factory=list)

    async def _own(self, user_id: int, bot_id: int) -> StrategyBot:
        b = await StrategyBot.get_or_none(id=bot_id)
        if b is None or b.user_id != user_id:  # type: ignore[attr-defined]
            from bot.engine_port import NotYours

            raise NotYours(f"bot {bot_id}")
        return b

    async def _set(self, user_id: int, bot_id: int, status: BotStatus, action: str, **details) -> None:
        b = await self._own(user_id, bot_id)
        b.status = status
        now = datetime.now(UTC)
        if status is BotStatus.RUNNING and b.started_at is None:
            b.started_at = now
        if status is BotStatus.STOPPED:
            b.stopped_at = now
        await b.save()
        await AuditLog.create(user_id=user_id, action=action, object_type="bot", object_id=str(bot_id),
                              details=details or None)

    async def start_bot(self, user_id: int, bot_id: int) -> None:
        self.calls.append(("start_bot", user_id, bot_id))
        await self._set(user_id, bot_id, BotStatus.RUNNING, "bot_start")

    async def stop_bot(self, user_id: int, bot_id: int, close_position: bool, *,
                       card: list[int] | None = None) -> BotStatus:
        self.calls.append(("stop_bot", user_id, bot_id, close_position))
        await self._set(user_id, bot_id, BotStatus.STOPPED, "bot_stop", close_position=close_position)
        return BotStatus.STOPPED

    async def pause_bot(self, user_id: int, bot_id: int) -> None:
        self.calls.append(("pause_bot", user_id, bot_id))
        await self._set(user_id, bot_id, BotStatus.PAUSED, "bot_pause")

    async def resume_bot(self, user_id: int, bot_id: int) -> None:
        self.calls.append(("resume_bot", user_id, bot_id))
        await self._set(user_id, bot_id, BotStatus.RUNNING, "bot_resume")

    async def stop_all(self, user_id: int, close_positions: bool) -> int:
        self.calls.append(("stop_all", user_id, close_positions))
        live = await StrategyBot.filter(user_id=user_id, status__in=[BotStatus.RUNNING, BotStatus.PAUSED])
        for b in live:
            await self._set(user_id, b.id, BotStatus.STOPPED, "bot_stop", close_position=close_positions)
        return len(live)

    async def update_settings(self, user_id: int, bot_id: int, changes: dict[str, Any], *,
                              action: str = "bot.setting", extra: dict | None = None) -> dict[str, list]:
        """The engine's own command with no bot attached: the live rules read the Position row."""
        from types import SimpleNamespace

        from db.models import User
        from engine.runtime.live_edit import update_settings
        from engine.runtime.locks import SymbolLocks

        self.calls.append(("update_settings", user_id, bot_id, dict(changes)))
        b = await self._own(user_id, bot_id)
        actor = (await User.get(id=user_id)).telegram_id
        return await update_settings(SimpleNamespace(handles={}, runs_bots=True), SymbolLocks(), b, changes, actor=actor,
                                     action=action, extra=extra or {})


@dataclass
class FakeEngine:
    """The chat's engine port (bot.engine_port.EnginePort): control on the db only, no bot ever attached; paper
    exchanges per account, priced by `prices` ({symbol: last}) when given."""

    control: FakeControl = field(default_factory=FakeControl)
    replay: Any = None
    prices: dict[str, float] = field(default_factory=dict)
    exchanges: dict[int, Any] = field(default_factory=dict)
    handles: dict[int, Any] = field(default_factory=dict)

    async def exchange_for(self, account: ExchangeAccount):
        ex = self.exchanges.get(account.id)
        if ex is None:
            balances = {k: Decimal(v) for k, v in (account.paper_balances or {"USDT": "10000"}).items()}
            ex = PaperExchange(MarketType(account.market_type), balances, source=self.replay)
            for symbol, price in self.prices.items():
                ex._last[symbol] = Decimal(str(price))
            self.exchanges[account.id] = ex
        return ex

    async def forget_account(self, account_id: int) -> None:
        self.control.calls.append(("forget_account", account_id))
        self.exchanges.pop(account_id, None)


@dataclass
class TelegramHarness:
    api: BotAPIStandIn
    bot: Bot
    dp: Dispatcher
    vault: Vault
    engine: Any
    task: asyncio.Task | None = None

    async def accept_user(self, user_id: int, language: str = "en") -> None:
        """Walk a new user through /start, the language choice and the risk notice; drains the replies."""
        api = self.api
        await api.send_command(user_id, "/start")
        choose = await api.next_call("sendMessage", chat_id=user_id)
        await api.click(user_id, choose, choose.button_data("English" if language == "en" else "한국어"))
        risk = await api.next_call("editMessageText", chat_id=user_id)
        await api.click(user_id, risk, risk.buttons()[0][1])
        await api.next_call("editMessageText", chat_id=user_id)
        await asyncio.sleep(0.05)
        api.drain()

    async def paper_balance_prompt(self, user_id: int, accounts: Call, market: str) -> Call:
        """From the accounts view: "Paper account", then the market button `market`; the balance prompt."""
        await self.api.click(user_id, accounts, accounts.button_data("Paper account"))
        choose = await self.api.next_call("editMessageText", chat_id=user_id)
        await self.api.click(user_id, choose, choose.button_data(market))
        return await self.api.next_call("editMessageText", chat_id=user_id)

    async def reply(self, user_id: int, command: str) -> str:
        """Send `command` as `user_id`; the text of the message the bot answers with."""
        await self.api.send_command(user_id, command)
        return (await self.api.next_call("sendMessage", chat_id=user_id)).text

    async def stop(self) -> None:
        if self.task is not None and not self.task.done():
            with contextlib.suppress(RuntimeError):
                await self.dp.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self.task, 10)
        await self.api.stop()


class ManualSeconds:
    """Seconds that move only when a test moves them (`clock.now += 1.5`); e.g. `throttle_clock=`."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def updates_handled() -> float:
    """Messages and button presses the bot has handled so far, their calls to the Bot API answered (a throttled
    one counts: dropping is handling; so does one whose handler failed)."""
    return sum(REGISTRY.get_sample_value("tb_updates_total", {"type": kind, "outcome": outcome}) or 0.0
               for kind in ("message", "callback_query") for outcome in ("ok", "error"))


async def all_handled(before: float, count: int, timeout: float = 15.0) -> None:
    """Wait until the bot has handled `count` more updates than `before` (from `updates_handled`)."""
    async with asyncio.timeout(timeout):
        while updates_handled() < before + count:
            await asyncio.sleep(0.02)


async def start_harness(*, engine: Any = None, rate_limit: RateLimit | None = None, polling_timeout: int = 5,
                        vault: Vault | None = None, **dispatcher_kw: Any) -> TelegramHarness:
    from bot.app import make_bot  # imported here: a broken bot module must not break collection
    from bot.dispatcher import build_dispatcher
    from db.config import AppConfig

    api = await BotAPIStandIn(rate_limit=rate_limit).start()
    vault = vault or Vault([Fernet.generate_key().decode()])
    engine = engine if engine is not None else FakeEngine()
    dispatcher_kw.setdefault("throttle_rate", 100.0)  # scripted users click faster than people; see test_bot_safety
    dispatcher_kw.setdefault("throttle_burst", 200)
    dp = build_dispatcher(vault=vault, engine=engine, **dispatcher_kw)
    bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))  # as production builds it
    h = TelegramHarness(api, bot, dp, vault, engine)
    h.task = asyncio.create_task(dp.start_polling(bot, handle_signals=False, polling_timeout=polling_timeout))
    await api.next_call("getMe", timeout=15)
    return h


@pytest.fixture
async def telegram_factory(db):
    """An async factory of harnesses (see the module docstring); all are stopped at teardown."""
    made: list[TelegramHarness] = []

    async def make(**kw: Any) -> TelegramHarness:
        h = await start_harness(**kw)
        made.append(h)
        return h

    yield make
    for h in made:
        await h.stop()


@pytest.fixture
async def telegram(telegram_factory) -> TelegramHarness:
    """A harness with the defaults: FakeEngine, no admins."""
    return await telegram_factory()
