"""HYPERRSI and GRID bots: the lists, and creating one (pick an account, then a symbol by button or by name)."""

from __future__ import annotations

import logging
import math
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.account_label import account_label
from bot.bot_card import bot_title, status_text
from bot.callbacks import BotCb, MenuCb, NewBotCb
from bot.filters import OwnAccount, accepted, not_command
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader, last_price, normalise_symbol
from bot.replies import alert, answer_now, show
from bot.services import accounts, bots
from bot.services.accounts import ExchangeAccount
from bot.services.users import User
from bot.settings_editor import defaults, editor_view
from db.enums import BotKind, MarketType

log = logging.getLogger(__name__)

POPULAR = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB")


class NewBot(StatesGroup):
    symbol = State()


def enc_symbol(symbol: str) -> str:
    return symbol.replace(":", "!")  # ':' separates callback data fields


def dec_symbol(value: str) -> str:
    return value.replace("!", ":")


def _kind(value: str) -> BotKind | None:
    try:
        return BotKind(value)
    except ValueError:
        return None


def fits(kind: BotKind, account: ExchangeAccount) -> bool:
    """HYPERRSI needs a swap account: its take-profits and stop rest reduce-only side by side, which spot cannot
    do (each resting sell would lock the same coins)."""
    return kind != BotKind.HYPERRSI or account.market_type == MarketType.SWAP


async def list_bots(query: CallbackQuery, callback_data: MenuCb, state: FSMContext, db_user: User) -> None:
    await state.clear()
    kind = BotKind(callback_data.item)
    listed = await bots.of_kind(db_user, kind)
    kb = Keyboard()
    for b in listed:
        kb.button(text=f"{bot_title(b)} · {status_text(b.status)}", callback_data=BotCb(action="card", bot_id=b.id))
    kb.button(text=_("bots.new"), callback_data=NewBotCb(kind=kind.value))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(1)
    intro = _(f"bots.intro.{kind.value}")
    await show(query, intro if listed else intro + "\n\n" + _("bots.none"), kb.as_markup())


async def pick_account(query: CallbackQuery, callback_data: NewBotCb, db_user: User,
                       callback_answer: CallbackAnswer) -> None:
    kind = _kind(callback_data.kind)
    if kind is None:
        alert(callback_answer, _("common.stale"))
        return
    every = await accounts.live(db_user)
    usable = [a for a in every if fits(kind, a)]
    kb = Keyboard()
    for a in usable:
        kb.button(text=f"{account_label(a)} ({a.market_type})",
                  callback_data=NewBotCb(kind=kind.value, account_id=a.id))
    if not usable:
        kb.button(text=_("menu.accounts"), callback_data=MenuCb(item="accounts"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item=kind.value))
    kb.adjust(1)
    text = _("bots.pick_account") if usable else _("bots.needs_swap") if every else _("bots.no_accounts")
    await show(query, text, kb.as_markup())


async def _markets(exchanges: ExchangeReader, account: ExchangeAccount) -> dict:
    async with exchanges.reading(account) as ex:
        return await ex.load_markets()


async def pick_symbol(query: CallbackQuery, callback_data: NewBotCb, account: ExchangeAccount, state: FSMContext,
                      exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    kind = _kind(callback_data.kind)
    if kind is None:
        alert(callback_answer, _("common.not_found"))
        return
    if not fits(kind, account):
        alert(callback_answer, _("bots.needs_swap"))
        return
    markets = await _markets(exchanges, account)
    kb = Keyboard()
    shown = 0
    for base in POPULAR:
        for symbol, m in markets.items():
            if m.base == base and m.quote in ("USDT", "KRW") and shown < 6:
                kb.button(text=symbol, callback_data=NewBotCb(kind=kind.value, account_id=account.id,
                                                               symbol=enc_symbol(symbol)))
                shown += 1
                break
    kb.button(text=_("common.back"), callback_data=NewBotCb(kind=kind.value))
    kb.adjust(2)
    await state.set_state(NewBot.symbol)
    await state.update_data(kind=kind.value, account_id=account.id)
    await show(query, _("bots.pick_symbol"), kb.as_markup())


async def chose_symbol(query: CallbackQuery, callback_data: NewBotCb, account: ExchangeAccount, state: FSMContext,
                       db_user: User, exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    kind = _kind(callback_data.kind)
    if kind is None:
        alert(callback_answer, _("common.not_found"))
        return
    symbol = dec_symbol(callback_data.symbol)
    if symbol not in await _markets(exchanges, account):
        alert(callback_answer, _("bots.unknown_symbol").format(symbol=symbol))
        return
    await answer_now(query, callback_answer)
    await _create(query.message, state, db_user, exchanges, kind, account, symbol)


async def typed_symbol(message: Message, state: FSMContext, db_user: User, exchanges: ExchangeReader) -> None:
    data = await state.get_data()
    account = await accounts.own(db_user, data.get("account_id", 0))
    kind = _kind(data.get("kind", ""))
    if account is None or kind is None:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    text = (message.text or "").strip()
    markets = await _markets(exchanges, account)
    symbol = normalise_symbol(text, MarketType(account.market_type)) if text else ""
    if symbol not in markets:
        examples = ", ".join(list(markets)[:4])
        await message.answer(_("bots.unknown_symbol_typed").format(symbol=text[:40], examples=examples))
        return
    await _create(message, state, db_user, exchanges, kind, account, symbol)


async def _create(message: Any, state: FSMContext, user: User, exchanges: ExchangeReader, kind: BotKind,
                  account: ExchangeAccount, symbol: str) -> None:
    if not fits(kind, account):
        await state.clear()
        await message.answer(_("bots.needs_swap"))
        return
    values = defaults(kind)
    if kind == BotKind.GRID:
        async with exchanges.reading(account) as ex:
            price = await last_price(ex, symbol)
        if price:  # a starting range of ±10 % around the price, rounded to 5 significant digits
            values["lower_price"] = _sig(price * 0.9)
            values["upper_price"] = _sig(price * 1.1)
    b = await bots.create(user, account, kind, symbol, values)
    await state.clear()
    text, markup = editor_view(b)
    await message.answer(_("bots.created") + "\n\n" + text, reply_markup=markup)


def _sig(x: float, digits: int = 5) -> float:
    if x <= 0:
        return x
    return round(x, max(0, digits - 1 - math.floor(math.log10(x))))


def make_router() -> Router:
    router = Router(name="new_bot")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(list_bots, MenuCb.filter(F.item.in_({"hyperrsi", "grid"})))
    cb.register(pick_account, NewBotCb.filter(F.account_id == 0))
    cb.register(pick_symbol, NewBotCb.filter((F.account_id != 0) & (F.symbol == "")), OwnAccount())
    cb.register(chose_symbol, NewBotCb.filter(F.symbol != ""), OwnAccount())
    router.message.register(typed_symbol, StateFilter(NewBot.symbol), not_command)
    return router
