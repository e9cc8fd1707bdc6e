"""HYPERRSI and GRID bots: the lists, and creating one: an account that fits the strategy (or a paper one made on the
spot), a symbol by button or by name, then the quick setup (bot/quick_setup.py)."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import quick_setup as qs
from bot.account_label import account_label
from bot.bot_card import bot_title, status_text
from bot.callbacks import AccCb, BotCb, MenuCb, NewBotCb
from bot.filters import OwnAccount, accepted, not_command
from bot.keyboards import Keyboard
from bot.markets import PAPER, ExchangeReader, normalise_symbol
from bot.numbers import fixed
from bot.replies import alert, answer_now, show
from bot.routers import quick_setup
from bot.services import accounts, bots
from bot.services.accounts import DEFAULT_PAPER_BALANCE, ExchangeAccount
from bot.services.users import User
from bot.symbols import heard, say
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


def markets_for(kind: BotKind) -> tuple[MarketType, ...]:
    """The markets a new paper account for `kind` is offered in, the one it needs first."""
    return (MarketType.SWAP,) if kind == BotKind.HYPERRSI else (MarketType.SWAP, MarketType.SPOT)


def _balance() -> str:
    return f"{fixed(DEFAULT_PAPER_BALANCE, 2, trim=True)} USDT"


def new_paper_text(market: MarketType) -> str:
    return _("bots.new_paper_swap") if market == MarketType.SWAP else _("bots.new_paper_spot")


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
        kb.button(text=f"{account_label(a)} · {_(f'market.{a.market_type.value}')}",
                  callback_data=NewBotCb(kind=kind.value, account_id=a.id))
    if not usable:  # made here, without leaving the bot's creation
        for market in markets_for(kind):
            kb.button(text=new_paper_text(market), callback_data=AccCb(action="bot_paper",
                                                                       value=f"{kind.value}.{market.value}"))
        kb.button(text=_("accounts.add_exchange"), callback_data=AccCb(action="add"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item=kind.value))
    kb.adjust(1)
    if usable:
        text = _("bots.pick_account")
    elif kind == BotKind.HYPERRSI:
        text = _("bots.needs_swap_offer").format(balance=_balance())
    else:
        text = _("bots.no_accounts_offer").format(balance=_balance())
    await show(query, text, kb.as_markup())


async def new_paper(query: CallbackQuery, callback_data: AccCb, state: FSMContext, db_user: User,
                    exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    """A paper account of the market the strategy needs, with the default virtual balance, then its symbols. A
    second press (a double tap) finds the first one instead of making another."""
    kind_value, _sep, market_value = callback_data.value.partition(".")
    kind = _kind(kind_value)
    market = next((m for m in MarketType if m.value == market_value), None)
    if kind is None or market is None or market not in markets_for(kind):
        alert(callback_answer, _("common.stale"))
        return
    made = [a for a in await accounts.live(db_user) if a.is_paper and a.market_type == market]
    account = made[-1] if made else await accounts.create_paper(db_user, PAPER, market, DEFAULT_PAPER_BALANCE)
    head = _("bots.paper_made").format(label=account.label, balance=_balance())
    await _symbols(query, state, exchanges, kind, account, head)


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
    await _symbols(query, state, exchanges, kind, account)


async def _symbols(query: CallbackQuery, state: FSMContext, exchanges: ExchangeReader, kind: BotKind,
                   account: ExchangeAccount, head: str = "") -> None:
    markets = await _markets(exchanges, account)
    kb = Keyboard()
    shown = 0
    for base in POPULAR:
        for symbol, m in markets.items():
            if m.base == base and m.quote in ("USDT", "KRW") and shown < 6:
                kb.button(text=say(symbol, account.market_type), callback_data=NewBotCb(
                    kind=kind.value, account_id=account.id, symbol=enc_symbol(symbol)))
                shown += 1
                break
    kb.button(text=_("common.back"), callback_data=NewBotCb(kind=kind.value))
    kb.adjust(2)
    await state.set_state(NewBot.symbol)
    await state.update_data(kind=kind.value, account_id=account.id)
    await show(query, (head + "\n\n" if head else "") + _("bots.pick_symbol"), kb.as_markup())


async def chose_symbol(query: CallbackQuery, callback_data: NewBotCb, account: ExchangeAccount, state: FSMContext,
                       db_user: User, exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    kind = _kind(callback_data.kind)
    if kind is None:
        alert(callback_answer, _("common.not_found"))
        return
    symbol = dec_symbol(callback_data.symbol)
    if symbol not in await _markets(exchanges, account):
        alert(callback_answer, _("bots.unknown_symbol").format(symbol=say(symbol, account.market_type)))
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
    symbol = normalise_symbol(heard(text), MarketType(account.market_type)) if heard(text) else ""
    if symbol not in markets:
        examples = ", ".join(say(s, account.market_type) for s in list(markets)[:4])
        await message.answer(_("bots.unknown_symbol_typed").format(symbol=text[:40], examples=examples))
        return
    await _create(message, state, db_user, exchanges, kind, account, symbol)


async def _create(message: Any, state: FSMContext, user: User, exchanges: ExchangeReader, kind: BotKind,
                  account: ExchangeAccount, symbol: str) -> None:
    if not fits(kind, account):
        await state.clear()
        await message.answer(_("bots.needs_swap"))
        return
    suggested = None
    if kind == BotKind.GRID:
        async with exchanges.reading(account) as ex:
            suggested, _price = await qs.suggest_range(ex, symbol)
    b = await bots.create(user, account, kind, symbol, qs.initial_values(kind, suggested))
    await state.clear()
    text, markup = qs.quick_view(b, head=_("bots.created"), note=qs.range_note(suggested) if suggested else "")
    await message.answer(text, reply_markup=markup)


def make_router() -> Router:
    router = Router(name="new_bot")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(list_bots, MenuCb.filter(F.item.in_({"hyperrsi", "grid"})))
    cb.register(pick_account, NewBotCb.filter(F.account_id == 0))
    cb.register(pick_symbol, NewBotCb.filter((F.account_id != 0) & (F.symbol == "")), OwnAccount())
    cb.register(chose_symbol, NewBotCb.filter(F.symbol != ""), OwnAccount())
    cb.register(new_paper, AccCb.filter(F.action == "bot_paper"))
    router.message.register(typed_symbol, StateFilter(NewBot.symbol), not_command)
    router.include_router(quick_setup.make_router())
    return router
