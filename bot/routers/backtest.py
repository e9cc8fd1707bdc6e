"""Backtest: /backtest [starting equity] (pick a bot) and the card's button run the bot's settings over recent
history in a worker thread from the account's balance (or the stated equity; bot/backtest_run.py, shared with the
risk card), edit one progress message, then send the chart with the main metrics, the position still held at the end
and why there was no trade, as its caption."""

from __future__ import annotations

import asyncio
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import numbers as nb
from bot.backtest_run import Run, in_worker, prepare, signed_pct, why_text
from bot.bot_card import bot_title
from bot.callbacks import BacktestCb, BotCb, MenuCb
from bot.filters import OwnBot, accepted
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader
from bot.replies import alert, answer_now, show
from bot.services import accounts, bots
from bot.services.bots import StrategyBot
from bot.services.users import User
from bot.settings_editor import problems
from db.enums import BotKind

log = logging.getLogger(__name__)

HISTORY = 1000  # candles of the bot's timeframe
MIN_CANDLES = 200
_running: set[int] = set()  # users with a backtest under way
_tasks: set[asyncio.Task] = set()  # runs going on after their handler returned (kept from the GC)
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
    # the run goes on after the handler returns: behind a webhook Telegram holds the chat's next update (and gives
    # up after 60 s) until the handler is done, so handlers stay short (issue 18)
    task = asyncio.create_task(_run_then_free(db_user.id, query.message.chat.id, query.bot, b, exchanges, equity),
                               name=f"backtest-{b.id}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run_then_free(user_id: int, chat_id: int, bot: Any, b: StrategyBot, exchanges: ExchangeReader,
                         equity: float) -> None:
    try:
        await run_for_chat(chat_id, bot, b, exchanges, equity)
    except Exception:
        log.exception("backtest of bot %s failed", b.id)
    finally:
        _running.discard(user_id)


async def run_for_chat(chat_id: int, bot: Any, b: StrategyBot, exchanges: ExchangeReader, equity: float = 0.0
                       ) -> None:
    from engine.exchange.units import base_market

    kind = BotKind(b.kind)
    settings = b.settings
    timeframe = settings.get("timeframe", "15m")
    progress = await bot.send_message(chat_id, _("backtest.loading").format(title=bot_title(b), timeframe=timeframe))
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    run = None
    async with exchanges.reading(account) as ex:
        try:
            m = base_market(await ex.market(b.symbol))
        except Exception as e:
            log.info("backtest of bot %s: no market: %s", b.id, type(e).__name__)
        else:
            run = await prepare(ex, account, m, b.symbol, timeframe, HISTORY, equity)
    n = 0 if run is None else len(run.candles)
    if run is None or n < MIN_CANDLES:
        await progress.edit_text(_("backtest.no_history").format(n=n, need=MIN_CANDLES))
        return
    await progress.edit_text(_("backtest.running").format(title=bot_title(b), n=n, timeframe=timeframe))
    try:
        rep, png = await in_worker(_run_and_plot, run, kind.value, settings)
    except Exception as e:
        log.warning("backtest of bot %s failed: %s", b.id, type(e).__name__, exc_info=True)
        await progress.edit_text(_("backtest.failed"))
        return
    caption = caption_text(rep, nb.MarketNumbers.from_market(run.market), title=bot_title(b), timeframe=timeframe,
                           n=n, source=run.source)
    await progress.edit_text(_("backtest.done").format(title=bot_title(b)))
    await bot.send_photo(chat_id, BufferedInputFile(png, filename=f"backtest-{b.id}.png"), caption=caption[:1024])


def caption_text(rep: Any, mn: nb.MarketNumbers, *, title: str, timeframe: str, n: int, source: str) -> str:
    met, end = rep.result.metrics, rep.end
    sources = {"balance": _("backtest.source.balance"), "asked": _("backtest.source.asked"),
               "default": _("backtest.source.default")}
    lines = [_("backtest.caption").format(
        title=title, timeframe=timeframe, n=n, initial=mn.money(met.initial_equity), source=sources[source],
        ret=signed_pct(met.total_return_pct), dd=nb.pct(met.max_drawdown_pct), trades=met.trades,
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


def _pf(met: Any) -> str:
    if not met.trades:
        return "—"
    return "∞" if met.profit_factor is None else nb.fixed(met.profit_factor, 2)  # None: no losing trade


def _run_and_plot(run: Run, strategy: str, settings: dict) -> tuple[Any, bytes]:
    """In the worker thread: the simulation, what it left open and why it made no trade, then the chart."""
    from engine.backtest.explain import report
    from engine.backtest.plot import plot

    result = run.simulate(strategy, settings)
    c = run.costs
    rep = report(result, settings, run.candles, run.rules, c["maker_fee"], c["taker_fee"], c["slippage"])
    with tempfile.TemporaryDirectory() as d:
        path = plot(result, run.candles, Path(d) / "chart.png")
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
