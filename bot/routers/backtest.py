"""Backtest: /backtest [starting equity] (pick a bot) and the card's button run the bot's settings over recent
history in a worker thread from the account's balance (or the stated equity), edit one progress message, then send
the chart with the main metrics, the position still held at the end and why there was no trade, as its caption."""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import numbers as nb
from bot.bot_card import bot_title
from bot.callbacks import BacktestCb, BotCb, MenuCb
from bot.filters import OwnBot, accepted
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader
from bot.replies import alert, answer_now, show
from bot.services import accounts, bots
from bot.services.accounts import ExchangeAccount
from bot.services.bots import StrategyBot
from bot.services.users import User
from bot.settings_editor import problems
from db.enums import BotKind, MarketType
from engine.exchange.protocol import Exchange

log = logging.getLogger(__name__)

HISTORY = 1000  # candles of the bot's timeframe
MIN_CANDLES = 200
BALANCE_TIMEOUT = 10.0
WORKERS = asyncio.Semaphore(2)  # backtests share the process with the bot: at most two at a time
_running: set[int] = set()  # users with a backtest under way
DEFAULT_EQUITY = 10_000.0  # when the account's balance cannot be read (or is empty)
MAX_EQUITY = 1e9


async def _bots_keyboard(user: User, equity: float = 0.0):
    every = await bots.every(user)
    kb = Keyboard()
    for b in every:
        kb.button(text=bot_title(b), callback_data=BacktestCb(bot_id=b.id, equity=equity))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(1)
    return bool(every), kb.as_markup()


def parse_equity(text: str | None) -> float | None:
    """The starting equity typed after /backtest ("5000", "5,000", "2500.50"); 0.0 when none; None when bad."""
    arg = (text or "").strip().replace(",", "").replace("_", "")
    if not arg:
        return 0.0
    try:
        v = round(float(arg), 2)
    except ValueError:
        return None
    return v if 0 < v <= MAX_EQUITY and math.isfinite(v) else None


def _pick_text(has: bool, equity: float) -> str:
    if not has:
        return _("backtest.no_bots")
    start = _("backtest.pick_equity").format(amount=nb.money(equity)) if equity else _("backtest.pick_balance")
    return "\n".join([_("backtest.pick"), start])


async def cmd_backtest(message: Message, command: CommandObject, db_user: User) -> None:
    equity = parse_equity(command.args)
    if equity is None:
        await message.answer(_("backtest.bad_equity"))
        return
    has, markup = await _bots_keyboard(db_user, equity)
    await message.answer(_pick_text(has, equity), reply_markup=markup)


async def menu_backtest(query: CallbackQuery, db_user: User) -> None:
    has, markup = await _bots_keyboard(db_user)
    await show(query, _pick_text(has, 0.0), markup)


async def bot_backtest(query: CallbackQuery, strategy_bot: StrategyBot, db_user: User, exchanges: ExchangeReader,
                       callback_answer: CallbackAnswer) -> None:
    await _start(query, strategy_bot, 0.0, db_user, exchanges, callback_answer)


async def picked_backtest(query: CallbackQuery, callback_data: BacktestCb, strategy_bot: StrategyBot, db_user: User,
                          exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    equity = callback_data.equity if 0 < callback_data.equity <= MAX_EQUITY else 0.0
    await _start(query, strategy_bot, equity, db_user, exchanges, callback_answer)


async def _start(query: CallbackQuery, b: StrategyBot, equity: float, db_user: User, exchanges: ExchangeReader,
                 callback_answer: CallbackAnswer) -> None:
    issues = problems(BotKind(b.kind), b.settings)
    if issues:
        alert(callback_answer, "⚠️ " + issues[0])
        return
    if db_user.id in _running:
        alert(callback_answer, _("backtest.busy"))
        return
    await answer_now(query, callback_answer)
    _running.add(db_user.id)
    try:
        await run_for_chat(query.message.chat.id, query.bot, b, exchanges, equity)
    finally:
        _running.discard(db_user.id)


async def _account_equity(ex: Exchange, account: ExchangeAccount, quote: str) -> float | None:
    """Paper: the account's quote balance; live: the free quote balance (fetch_balance). None when unknown."""
    try:
        bal = (await asyncio.wait_for(ex.fetch_balance(), BALANCE_TIMEOUT)).get(quote)
    except Exception as e:
        log.info("backtest: balance of account %s unavailable: %s", account.id, type(e).__name__)
        return None
    if bal is None:
        return None
    v = float(bal.total if account.is_paper else bal.free)
    return v if v > 0 else None


async def run_for_chat(chat_id: int, bot: Any, b: StrategyBot, exchanges: ExchangeReader, equity: float = 0.0
                       ) -> None:
    from engine.backtest.runner import run_backtest
    from engine.candles import Candles
    from engine.exchange.paper import MAKER_FEE, SLIPPAGE, TAKER_FEE
    from engine.exchange.units import base_market
    from engine.market.rules import market_rules

    kind = BotKind(b.kind)
    settings = b.settings
    timeframe = settings.get("timeframe", "15m")
    progress = await bot.send_message(chat_id, _("backtest.loading").format(title=bot_title(b), timeframe=timeframe))
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    async with exchanges.reading(account) as ex:
        m = None
        try:
            m = base_market(await ex.market(b.symbol))
            rows = await ex.fetch_ohlcv(b.symbol, timeframe, limit=HISTORY)
        except Exception as e:
            log.info("backtest of bot %s: no history: %s", b.id, type(e).__name__)
            rows = []
        if len(rows) < MIN_CANDLES or m is None:
            await progress.edit_text(_("backtest.no_history").format(n=len(rows), need=MIN_CANDLES))
            return
        source = "asked"
        if not equity:
            balance = await _account_equity(ex, account, m.quote)
            equity, source = (balance, "balance") if balance else (DEFAULT_EQUITY, "default")
    arr = np.asarray(rows, dtype=float)
    candles = Candles(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5])
    costs = {"maker_fee": float(m.maker_fee if m.maker_fee is not None else MAKER_FEE),
             "taker_fee": float(m.taker_fee if m.taker_fee is not None else TAKER_FEE), "slippage": float(SLIPPAGE)}
    market = "swap" if MarketType(account.market_type) == MarketType.SWAP else "spot"
    await progress.edit_text(_("backtest.running").format(title=bot_title(b), n=len(candles), timeframe=timeframe))
    async with WORKERS:
        try:
            rep, png = await asyncio.to_thread(_run_and_plot, run_backtest, kind.value, settings, candles,
                                               b.symbol, timeframe, equity, market, market_rules(m), costs)
        except Exception as e:
            log.warning("backtest of bot %s failed: %s", b.id, type(e).__name__, exc_info=True)
            await progress.edit_text(_("backtest.failed"))
            return
    caption = caption_text(rep, nb.MarketNumbers.from_market(m), title=bot_title(b), timeframe=timeframe,
                           n=len(candles), source=source)
    await progress.edit_text(_("backtest.done").format(title=bot_title(b)))
    await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"backtest-{b.id}.png"), caption=caption[:1024])


def _signed_pct(v: float) -> str:
    return ("+" if round(v, 2) > 0 else "") + nb.pct(v)


def caption_text(rep: Any, mn: nb.MarketNumbers, *, title: str, timeframe: str, n: int, source: str) -> str:
    met, end = rep.result.metrics, rep.end
    sources = {"balance": _("backtest.source.balance"), "asked": _("backtest.source.asked"),
               "default": _("backtest.source.default")}
    lines = [_("backtest.caption").format(
        title=title, timeframe=timeframe, n=n, initial=mn.money(met.initial_equity), source=sources[source],
        ret=_signed_pct(met.total_return_pct), dd=nb.pct(met.max_drawdown_pct), trades=met.trades,
        win=nb.pct(met.win_rate), pf=_pf(met), sharpe=nb.fixed(met.sharpe, 2), realized=mn.money(end.realized_pnl),
        fees=mn.money(met.fees_paid), final=mn.money(met.final_equity),
    )]
    if end.amount:
        lines.append(_("backtest.open_at_end").format(
            side=_("side.long") if end.amount > 0 else _("side.short"), amount=mn.amount(abs(end.amount)),
            entry=mn.price(end.entry), mark=mn.price(end.mark), upnl=mn.money(end.unrealized_pnl)))
    explained = rep.why is not None and rep.why[0] in ("funds", "grid_funds")
    for reason, d in rep.result.notes:  # what the simulated account refused, and liquidations
        if reason.startswith("refused_") and not explained:
            lines.append(_("backtest.refusals").format(orders=d.get("orders", 0),
                                                       reason=_(f"refused.{reason.removeprefix('refused_')}")))
        elif reason == "liquidation":
            lines.append(_("backtest.liquidations").format(count=d.get("count", 0)))
    if rep.why and rep.why[0] != "position_open":
        lines.append(why_text(rep.why, mn))
    lines += [_("backtest.other_equity"), _("backtest.disclaimer")]
    return "\n".join(lines)


def why_text(why: tuple[str, dict], mn: nb.MarketNumbers) -> str:
    """'No trades: …' for a cause from engine.backtest.explain, with its numbers formatted for people."""
    cause, d = why
    texts = {
        "plan_refused": _("backtest.why.plan_refused"), "not_reached": _("backtest.why.not_reached"),
        "no_signal": _("backtest.why.no_signal"), "funds": _("backtest.why.funds"),
        "grid_funds": _("backtest.why.grid_funds"),
        "below_minimum": _("backtest.why.below_minimum"), "blocked_by_trend": _("backtest.why.blocked_by_trend"),
        "orders_refused": _("backtest.why.orders_refused"), "no_level_armed": _("backtest.why.no_level_armed"),
    }
    refusal = d.get("refusal", "")
    values = {
        "refusal": _(f"refused.{refusal}") if refusal else "", "orders": d.get("orders", 0),
        "candles": d.get("candles", 0), "signals": d.get("signals", 0), "margin": mn.money(d.get("margin", 0.0)),
        "equity": mn.money(d.get("equity", 0.0)), "min_cost": mn.money(d.get("min_cost", 0.0)),
        "price": mn.price(d.get("price", 0.0)), "lowest": mn.price(d.get("lowest", 0.0)),
        "highest": mn.price(d.get("highest", 0.0)),
    }
    return texts.get(cause, _("backtest.why.orders_refused")).format(**values)


def _pf(met: Any) -> str:
    if not met.trades:
        return "—"
    return "∞" if met.profit_factor is None else nb.fixed(met.profit_factor, 2)  # None: no losing trade


def _run_and_plot(run_backtest, strategy: str, settings: dict, candles, symbol: str, timeframe: str,
                  equity: float, market: str, rules, costs: dict) -> tuple[Any, bytes]:
    """In the worker thread: the simulation, what it left open and why it made no trade, then the chart."""
    from engine.backtest.explain import report
    from engine.backtest.plot import plot

    result = run_backtest(strategy, settings, candles, symbol=symbol, timeframe=timeframe, initial_equity=equity,
                          market=market, market_rules=rules, **costs)
    rep = report(result, settings, candles, rules, costs["maker_fee"], costs["taker_fee"], costs["slippage"])
    with tempfile.TemporaryDirectory() as d:
        path = plot(result, candles, Path(d) / "chart.png")
        return rep, path.read_bytes()


def make_router() -> Router:
    router = Router(name="backtest")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    router.message.register(cmd_backtest, Command("backtest"))
    router.callback_query.register(menu_backtest, MenuCb.filter(F.item == "backtest"))
    router.callback_query.register(bot_backtest, BotCb.filter(F.action == "backtest"), OwnBot())
    router.callback_query.register(picked_backtest, BacktestCb.filter(), OwnBot())
    return router
