"""Backtest: /backtest (pick a bot) and the card's button run the bot's settings over recent history in a worker
thread, edit one progress message, then send the chart with the main metrics as its caption."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.bot_card import bot_title, own_bot
from bot.callbacks import BotCb, MenuCb
from bot.filters import accepted
from bot.keyboards import Keyboard
from bot.markets import open_exchange
from bot.settings_editor import fmt_number, problems
from bot.views import show
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User

log = logging.getLogger(__name__)
router = Router(name="backtest")
router.message.filter(accepted)
router.callback_query.filter(accepted)

HISTORY = 1000  # candles of the bot's timeframe
MIN_CANDLES = 200
WORKERS = asyncio.Semaphore(2)  # backtests share the process with the bot: at most two at a time
_running: set[int] = set()  # users with a backtest under way


async def _bots_keyboard(user: User):
    bots = await StrategyBot.filter(user=user).order_by("id")
    kb = Keyboard()
    for b in bots:
        kb.button(text=bot_title(b), callback_data=BotCb(action="backtest", bot_id=b.id))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(1)
    return bool(bots), kb.as_markup()


@router.message(Command("backtest"))
async def cmd_backtest(message: Message, db_user: User) -> None:
    has, markup = await _bots_keyboard(db_user)
    await message.answer(_("backtest.pick") if has else _("backtest.no_bots"), reply_markup=markup)


@router.callback_query(MenuCb.filter(F.item == "backtest"))
async def menu_backtest(query: CallbackQuery, db_user: User) -> None:
    has, markup = await _bots_keyboard(db_user)
    await show(query, _("backtest.pick") if has else _("backtest.no_bots"), markup)
    await query.answer()


@router.callback_query(BotCb.filter(F.action == "backtest"))
async def bot_backtest(query: CallbackQuery, callback_data: BotCb, db_user: User, engine: Any) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    issues = problems(BotKind(b.kind), b.settings)
    if issues:
        await query.answer(("⚠️ " + issues[0])[:190], show_alert=True)
        return
    if db_user.id in _running:
        await query.answer(_("backtest.busy"), show_alert=True)
        return
    await query.answer()
    _running.add(db_user.id)
    try:
        await run_for_chat(query.message.chat.id, query.bot, b, engine)
    finally:
        _running.discard(db_user.id)


async def run_for_chat(chat_id: int, bot: Any, b: StrategyBot, engine: Any) -> None:
    from engine.backtest.runner import run_backtest
    from engine.candles import Candles
    from engine.strategies.grid_ladder import MarketRules

    kind = BotKind(b.kind)
    settings = b.settings
    timeframe = settings.get("timeframe", "15m")
    progress = await bot.send_message(chat_id, _("backtest.loading").format(title=bot_title(b), timeframe=timeframe))
    account = await ExchangeAccount.get(id=b.account_id)  # type: ignore[attr-defined]
    try:
        ex = await open_exchange(account, engine)
        m = await ex.market(b.symbol)
        rows = await ex.fetch_ohlcv(b.symbol, timeframe, limit=HISTORY)
    except Exception as e:
        log.info("backtest of bot %s: no history: %s", b.id, type(e).__name__)
        rows = []
    if len(rows) < MIN_CANDLES:
        await progress.edit_text(_("backtest.no_history").format(n=len(rows), need=MIN_CANDLES))
        return
    arr = np.asarray(rows, dtype=float)
    candles = Candles(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5])
    cs = float(m.contract_size)
    if kind == BotKind.HYPERRSI:  # the HYPERRSI backtest sizes in base units
        rules = MarketRules(float(m.price_step), float(m.amount_step) * cs, float(m.min_amount or 0) * cs,
                            float(m.min_cost or 0), 1.0)
    else:
        rules = MarketRules(float(m.price_step), float(m.amount_step), float(m.min_amount or 0),
                            float(m.min_cost or 0), cs)
    market = "swap" if MarketType(account.market_type) == MarketType.SWAP else "spot"
    equity = float(settings.get("investment", 1000.0))
    await progress.edit_text(_("backtest.running").format(title=bot_title(b), n=len(candles), timeframe=timeframe))
    async with WORKERS:
        try:
            result, png = await asyncio.to_thread(_run_and_plot, run_backtest, kind.value, settings, candles,
                                                  b.symbol, timeframe, equity, market, rules)
        except Exception as e:
            log.warning("backtest of bot %s failed: %s", b.id, type(e).__name__, exc_info=True)
            await progress.edit_text(_("backtest.failed"))
            return
    met = result.metrics
    caption = _("backtest.caption").format(
        title=bot_title(b), timeframe=timeframe, n=len(candles),
        ret=f"{met.total_return_pct:+.2f}", dd=f"{met.max_drawdown_pct:.2f}", trades=met.trades,
        win=f"{met.win_rate:.0f}", pf=_pf(met),
        sharpe=f"{met.sharpe:.2f}", fees=fmt_number(round(met.fees_paid, 2)),
        final=fmt_number(round(met.final_equity, 2)), initial=fmt_number(round(met.initial_equity, 2)),
    )
    await progress.edit_text(_("backtest.done").format(title=bot_title(b)))
    await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"backtest-{b.id}.png"), caption=caption[:1024])


def _pf(met: Any) -> str:
    if not met.trades:
        return "—"
    return "∞" if met.profit_factor is None else f"{met.profit_factor:.2f}"  # None: no losing trade


def _run_and_plot(run_backtest, strategy: str, settings: dict, candles, symbol: str, timeframe: str,
                  equity: float, market: str, rules) -> tuple[Any, bytes]:
    """In the worker thread: the simulation, then the chart as PNG bytes."""
    from engine.backtest.plot import plot

    result = run_backtest(strategy, settings, candles, symbol=symbol, timeframe=timeframe, initial_equity=equity,
                          market=market, market_rules=rules)
    with tempfile.TemporaryDirectory() as d:
        path = plot(result, candles, Path(d) / "chart.png")
        return result, path.read_bytes()
