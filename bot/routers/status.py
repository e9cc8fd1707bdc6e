"""Status: /status (bots, positions, PnL, refresh button), /positions, /balance, /pnl [days]."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import numbers
from bot.account_label import account_label
from bot.bot_card import bot_title, realised, status_text
from bot.callbacks import BotCb, MenuCb, StatusCb
from bot.filters import accepted
from bot.keyboards import Keyboard
from bot.market_numbers import for_bot, from_symbol
from bot.markets import ExchangeReader, last_price
from bot.replies import show, toast
from bot.services import accounts, bots
from bot.services.accounts import ExchangeAccount
from bot.services.bots import Position
from bot.services.users import User
from db.enums import PositionSide
from engine.exchange.units import base_market

log = logging.getLogger(__name__)

MAX_DAYS = 90
PRICE_TIMEOUT = 5.0
# balances shown as money (2 decimals); any other currency is a coin, shown to its market's lot
MONEY_CURRENCIES = frozenset({"USDT", "USDC", "USD", "BUSD", "FDUSD", "TUSD", "DAI", "KRW", "EUR"})


async def _mark(exchanges: ExchangeReader, account: ExchangeAccount, symbol: str) -> float | None:
    try:
        async with exchanges.reading(account) as ex:
            return await asyncio.wait_for(last_price(ex, symbol), PRICE_TIMEOUT)
    except Exception as e:  # the status still shows everything else
        log.info("no mark price for %s: %s", symbol, type(e).__name__)
        return None


def _upnl(pos: Position, mark: float | None) -> float | None:
    if mark is None or pos.average_entry is None:
        return None
    sign = 1 if pos.side == PositionSide.LONG else -1
    return sign * (mark - float(pos.average_entry)) * float(pos.size)


async def status_view(user: User, exchanges: ExchangeReader) -> tuple[str, InlineKeyboardMarkup]:
    shown = await bots.shown_bots(user)
    positions = {p.bot_id: p for p in await bots.positions_of([b.id for b in shown])} if shown else {}
    held: dict[int, ExchangeAccount] = {}  # read only when an open position needs a mark price
    lines = [_("status.title")]
    kb = Keyboard()
    totals: dict[str | None, Decimal] = defaultdict(Decimal)  # realised PnL after fees per quote currency
    fees: dict[str | None, Decimal] = defaultdict(Decimal)
    for b in shown:
        pos = positions.get(b.id)
        lines.append("")
        lines.append(f"{bot_title(b)} · {status_text(b.status)}")
        nums = from_symbol(b.symbol)
        if pos is not None:
            totals[nums.quote] += pos.realized_pnl - pos.fees
            fees[nums.quote] += pos.fees
        if pos is not None and pos.side != PositionSide.FLAT and pos.size:
            if b.account_id not in held:  # type: ignore[attr-defined]
                held[b.account_id] = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
            nums = await for_bot(held[b.account_id], b.symbol, exchanges, b.id)  # type: ignore[attr-defined]
        if pos is None or pos.side == PositionSide.FLAT or nums.is_dust(pos.size):
            lines.append(_("status.flat").format(**realised(nums, pos)))
        else:
            account = held[b.account_id]  # type: ignore[attr-defined]
            upnl = _upnl(pos, await _mark(exchanges, account, b.symbol))
            lines.append(_("status.position").format(
                side=_(f"side.{pos.side.value}"), size=nums.amount(pos.size), entry=nums.price(pos.average_entry),
                upnl="?" if upnl is None else nums.money(upnl), **realised(nums, pos),
            ))
        kb.button(text=bot_title(b), callback_data=BotCb(action="card", bot_id=b.id))
    if not shown:
        lines.append(_("status.no_bots"))
    else:
        lines.append("")
        quotes = sorted(totals, key=str)
        lines.append(_("status.total_realised").format(
            amount=", ".join(numbers.money(totals[q], q) for q in quotes),
            fees=", ".join(numbers.money(fees[q], q) for q in quotes)))
    lines.append(_("status.updated").format(time=datetime.now(UTC).strftime("%H:%M:%S UTC")))
    kb.button(text=_("status.refresh"), callback_data=StatusCb(view="status"))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


async def cmd_status(message: Message, db_user: User, exchanges: ExchangeReader) -> None:
    text, markup = await status_view(db_user, exchanges)
    await message.answer(text, reply_markup=markup)


async def refresh_status(query: CallbackQuery, db_user: User, exchanges: ExchangeReader,
                         callback_answer: CallbackAnswer) -> None:
    await show(query, *await status_view(db_user, exchanges))
    toast(callback_answer, _("status.refreshed"))


async def menu_status(query: CallbackQuery, db_user: User, exchanges: ExchangeReader) -> None:
    await show(query, *await status_view(db_user, exchanges))


async def cmd_positions(message: Message, db_user: User, exchanges: ExchangeReader) -> None:
    shown = []
    for p in await bots.open_positions(db_user):
        if p.size:
            account = await accounts.by_id(p.bot.account_id)
            nums = await for_bot(account, p.symbol, exchanges, p.bot.id)
            if not nums.is_dust(p.size):
                shown.append((p, account, nums))
    if not shown:
        await message.answer(_("positions.none"))
        return
    lines = [_("positions.title")]
    for p, account, nums in shown:
        upnl = _upnl(p, await _mark(exchanges, account, p.symbol))
        lines.append(_("positions.line").format(
            title=bot_title(p.bot), side=_(f"side.{p.side.value}"), size=nums.amount(p.size),
            entry=nums.price(p.average_entry), upnl="?" if upnl is None else nums.money(upnl),
        ))
    await message.answer("\n".join(lines))


async def cmd_balance(message: Message, db_user: User, exchanges: ExchangeReader) -> None:
    live = await accounts.live(db_user)
    if not live:
        await message.answer(_("balance.no_accounts"))
        return
    lines = [_("balance.title")]
    for a in live:
        lines.append("")
        lines.append(f"{account_label(a)} ({a.exchange}, {a.market_type})")
        try:
            async with exchanges.reading(a) as ex:
                balances = await asyncio.wait_for(ex.fetch_balance(), PRICE_TIMEOUT)
                shown = [b for b in balances.values() if b.total]
                lots = await _coin_lots(ex, {b.currency for b in shown} - MONEY_CURRENCIES)
        except Exception as e:
            log.info("balance of account %s unavailable: %s", a.id, type(e).__name__)
            lines.append(_("balance.unavailable"))
            continue
        for b in shown:
            lines.append(_("balance.line").format(currency=b.currency, total=_balance(b.total, b.currency, lots),
                                                  free=_balance(b.free, b.currency, lots)))
        if not shown:
            lines.append(_("balance.empty"))
    await message.answer("\n".join(lines))


async def _coin_lots(ex: Any, coins: set[str]) -> dict[str, Decimal]:
    """The finest lot (base units) of the account's markets in each coin, from the markets the exchange has loaded."""
    if not coins:
        return {}
    try:
        markets = await asyncio.wait_for(ex.load_markets(), PRICE_TIMEOUT)
    except Exception as e:
        log.info("no markets for coin balances: %s", type(e).__name__)
        return {}
    lots: dict[str, Decimal] = {}
    for m in markets.values():
        step = base_market(m).amount_step
        if m.base in coins and step > 0 and (m.base not in lots or step < lots[m.base]):
            lots[m.base] = step
    return lots


def _balance(value: Decimal, currency: str, lots: dict[str, Decimal]) -> str:
    """Money to 2 decimals; a coin to its finest lot (bounded to 8 decimals when no market says)."""
    if currency in MONEY_CURRENCIES:
        return numbers.money(value)
    return numbers.amount(value, lots.get(currency))


async def cmd_pnl(message: Message, command: CommandObject, db_user: User) -> None:
    arg = (command.args or "").strip()
    if arg and (not arg.isdigit() or not 1 <= int(arg) <= MAX_DAYS):
        await message.answer(_("pnl.bad_days").format(max=MAX_DAYS))
        return
    days = int(arg) if arg else 7
    await message.answer(await pnl_table(db_user, days))


def _zone(user: User) -> tuple[tzinfo, str]:
    """The user's view of the day: their time zone when they have one, else UTC."""
    name = getattr(user, "timezone", None)
    if name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC, "UTC"


def _day_start_ms(d: date, tz: tzinfo) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp() * 1000)


async def pnl_table(user: User, days: int) -> str:
    """Realised PnL and fees per day of the fills' own timestamps (market time on a replay), in the user's days,
    one table per quote currency (never two currencies added together).

    The window is the last `days` days up to today; when it holds no fill but older fills exist (a replay of
    past candles, or a quiet spell), it is the `days` days up to the newest fill's day instead, and says so."""
    tz, tz_name = _zone(user)
    last = datetime.now(tz).date()
    shifted = False
    newest = await bots.newest_fill_ts(user)
    if newest is not None:
        newest_day = datetime.fromtimestamp(newest / 1000, tz).date()
        if newest_day < last - timedelta(days=days - 1):
            last, shifted = newest_day, True
    first = last - timedelta(days=days - 1)
    rows = [] if newest is None else await bots.fills_between(
        user, _day_start_ms(first, tz), _day_start_ms(last + timedelta(days=1), tz))
    per_quote: dict[str | None, dict] = defaultdict(lambda: defaultdict(lambda: [Decimal(0), Decimal(0), 0]))
    for ts, pnl, fee, symbol in rows:
        day = per_quote[from_symbol(symbol).quote][datetime.fromtimestamp(ts / 1000, tz).date()]
        day[0] += pnl
        day[1] += fee
        day[2] += 1
    lines = [_("pnl.title_range").format(days=days, first=first.isoformat(), last=last.isoformat(), tz=tz_name)]
    if shifted:
        lines.append(_("pnl.shifted").format(days=days))
    for quote in sorted(per_quote, key=str) or [None]:
        if len(per_quote) > 1:
            lines.append("")
            lines.append(quote or "?")
        lines += _pnl_days(per_quote.get(quote, {}), first, days, quote)
    return "\n".join(lines)


def _pnl_days(per_day: dict, first: date, days: int, quote: str | None) -> list[str]:
    lines = [_("pnl.header")]
    total = [Decimal(0), Decimal(0), 0]
    for i in range(days):
        d = first + timedelta(days=i)
        pnl, fee, n = per_day.get(d, (Decimal(0), Decimal(0), 0))
        total = [total[0] + pnl, total[1] + fee, total[2] + n]
        lines.append(f"{d.isoformat()}  {numbers.money(pnl):>10}  {numbers.money(fee):>8}  {n:>4}")
    lines.append(_("pnl.total").format(pnl=numbers.money(total[0], quote), fees=numbers.money(total[1], quote),
                                       n=total[2]))
    return lines


def make_router() -> Router:
    router = Router(name="status")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    router.message.register(cmd_status, Command("status"))
    router.callback_query.register(refresh_status, StatusCb.filter(F.view == "status"))
    router.callback_query.register(menu_status, MenuCb.filter(F.item == "status"))
    router.message.register(cmd_positions, Command("positions"))
    router.message.register(cmd_balance, Command("balance"))
    router.message.register(cmd_pnl, Command("pnl"))
    return router
