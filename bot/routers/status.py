"""Status: /status (bots, positions, PnL, refresh button), /positions, /balance, /pnl [days]."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.bot_card import bot_title, status_text
from bot.callbacks import BotCb, MenuCb, StatusCb
from bot.filters import accepted
from bot.keyboards import Keyboard
from bot.markets import last_price, open_exchange
from bot.reads import fills_since, positions_of, shown_bots
from bot.routers.accounts import live_accounts
from bot.settings_editor import fmt_number
from bot.views import show
from db.enums import PositionSide
from db.models import ExchangeAccount, Position, User

log = logging.getLogger(__name__)
router = Router(name="status")
router.message.filter(accepted)
router.callback_query.filter(accepted)

MAX_DAYS = 90
PRICE_TIMEOUT = 5.0


async def _mark(account: ExchangeAccount, symbol: str, engine: Any) -> float | None:
    try:
        ex = await open_exchange(account, engine)
        return await asyncio.wait_for(last_price(ex, symbol), PRICE_TIMEOUT)
    except Exception as e:  # the status still shows everything else
        log.info("no mark price for %s: %s", symbol, type(e).__name__)
        return None


def _upnl(pos: Position, mark: float | None) -> float | None:
    if mark is None or pos.average_entry is None:
        return None
    sign = 1 if pos.side == PositionSide.LONG else -1
    return sign * (mark - float(pos.average_entry)) * float(pos.size)


async def status_view(user: User, engine: Any) -> tuple[str, InlineKeyboardMarkup]:
    bots = await shown_bots(user)
    positions = {p.bot_id: p for p in await positions_of([b.id for b in bots])} if bots else {}
    accounts: dict[int, ExchangeAccount] = {}  # read only when an open position needs a mark price
    lines = [_("status.title")]
    kb = Keyboard()
    total_r = Decimal(0)
    for b in bots:
        pos = positions.get(b.id)
        lines.append("")
        lines.append(f"{bot_title(b)} · {status_text(b.status)}")
        if pos is not None:
            total_r += pos.realized_pnl
        if pos is None or pos.side == PositionSide.FLAT or not pos.size:
            lines.append(_("status.flat").format(realised=fmt_number(float(pos.realized_pnl) if pos else 0)))
        else:
            if b.account_id not in accounts:  # type: ignore[attr-defined]
                accounts[b.account_id] = await ExchangeAccount.get(id=b.account_id)  # type: ignore[attr-defined]
            mark = await _mark(accounts[b.account_id], b.symbol, engine)  # type: ignore[attr-defined]
            upnl = _upnl(pos, mark)
            lines.append(_("status.position").format(
                side=_(f"side.{pos.side.value}"), size=fmt_number(float(pos.size)),
                entry=fmt_number(float(pos.average_entry or 0)),
                upnl="?" if upnl is None else fmt_number(round(upnl, 4)),
                realised=fmt_number(float(pos.realized_pnl)),
            ))
        kb.button(text=bot_title(b), callback_data=BotCb(action="card", bot_id=b.id))
    if not bots:
        lines.append(_("status.no_bots"))
    else:
        lines.append("")
        lines.append(_("status.total_realised").format(amount=fmt_number(float(total_r))))
    lines.append(_("status.updated").format(time=datetime.now(UTC).strftime("%H:%M:%S UTC")))
    kb.button(text=_("status.refresh"), callback_data=StatusCb(view="status"))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


@router.message(Command("status"))
async def cmd_status(message: Message, db_user: User, engine: Any) -> None:
    text, markup = await status_view(db_user, engine)
    await message.answer(text, reply_markup=markup)


@router.callback_query(StatusCb.filter(F.view == "status"))
async def refresh_status(query: CallbackQuery, db_user: User, engine: Any) -> None:
    await show(query, *await status_view(db_user, engine))
    await query.answer(_("status.refreshed"))


@router.callback_query(MenuCb.filter(F.item == "status"))
async def menu_status(query: CallbackQuery, db_user: User, engine: Any) -> None:
    await show(query, *await status_view(db_user, engine))
    await query.answer()


@router.message(Command("positions"))
async def cmd_positions(message: Message, db_user: User, engine: Any) -> None:
    rows = await Position.filter(bot__user=db_user).exclude(side=PositionSide.FLAT).prefetch_related("bot")
    rows = [p for p in rows if p.size]
    if not rows:
        await message.answer(_("positions.none"))
        return
    lines = [_("positions.title")]
    for p in rows:
        account = await ExchangeAccount.get(id=p.bot.account_id)
        upnl = _upnl(p, await _mark(account, p.symbol, engine))
        lines.append(_("positions.line").format(
            title=bot_title(p.bot), side=_(f"side.{p.side.value}"), size=fmt_number(float(p.size)),
            entry=fmt_number(float(p.average_entry or 0)), upnl="?" if upnl is None else fmt_number(round(upnl, 4)),
        ))
    await message.answer("\n".join(lines))


@router.message(Command("balance"))
async def cmd_balance(message: Message, db_user: User, engine: Any) -> None:
    accounts = await live_accounts(db_user)
    if not accounts:
        await message.answer(_("balance.no_accounts"))
        return
    lines = [_("balance.title")]
    for a in accounts:
        lines.append("")
        lines.append(f"{a.label} ({a.exchange}, {a.market_type})")
        try:
            ex = await open_exchange(a, engine)
            balances = await asyncio.wait_for(ex.fetch_balance(), PRICE_TIMEOUT)
        except Exception as e:
            log.info("balance of account %s unavailable: %s", a.id, type(e).__name__)
            lines.append(_("balance.unavailable"))
            continue
        shown = [b for b in balances.values() if b.total]
        for b in shown:
            lines.append(_("balance.line").format(currency=b.currency, total=fmt_number(float(b.total)),
                                                  free=fmt_number(float(b.free))))
        if not shown:
            lines.append(_("balance.empty"))
    await message.answer("\n".join(lines))


@router.message(Command("pnl"))
async def cmd_pnl(message: Message, command: CommandObject, db_user: User) -> None:
    arg = (command.args or "").strip()
    if arg and (not arg.isdigit() or not 1 <= int(arg) <= MAX_DAYS):
        await message.answer(_("pnl.bad_days").format(max=MAX_DAYS))
        return
    days = int(arg) if arg else 7
    await message.answer(await pnl_table(db_user, days))


async def pnl_table(user: User, days: int) -> str:
    today = datetime.now(UTC).date()
    first = today - timedelta(days=days - 1)
    since_ms = int(datetime(first.year, first.month, first.day, tzinfo=UTC).timestamp() * 1000)
    rows = await fills_since(user, since_ms)
    per_day: dict = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for ts, pnl, fee in rows:
        d = datetime.fromtimestamp(ts / 1000, UTC).date()
        per_day[d][0] += pnl
        per_day[d][1] += fee
        per_day[d][2] += 1
    lines = [_("pnl.title").format(days=days), _("pnl.header")]
    total = [Decimal(0), Decimal(0), 0]
    for i in range(days):
        d = first + timedelta(days=i)
        pnl, fee, n = per_day.get(d, (Decimal(0), Decimal(0), 0))
        total = [total[0] + pnl, total[1] + fee, total[2] + n]
        lines.append(f"{d.isoformat()}  {fmt_number(round(float(pnl), 2)):>10}  {fmt_number(round(float(fee), 2)):>8}"
                     f"  {n:>4}")
    lines.append(_("pnl.total").format(pnl=fmt_number(round(float(total[0]), 2)),
                                       fees=fmt_number(round(float(total[1]), 2)), n=total[2]))
    return "\n".join(lines)
