"""HYPERRSI and GRID bots: create (account, symbol), the generic settings editor with presets, the GRID preview."""

from __future__ import annotations

import logging
import math
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.bot_card import EDITABLE, bot_card, bot_title, own_bot, status_text
from bot.callbacks import BotCb, MenuCb, NewBotCb, SetCb
from bot.filters import accepted, not_command
from bot.grid_preview import preview_view
from bot.keyboards import Keyboard
from bot.markets import last_price, normalise_symbol, open_exchange
from bot.routers.accounts import live_accounts
from bot.settings_editor import (
    PRESETS,
    BadValue,
    card,
    defaults,
    parse,
    prompt,
    spec_at,
    specs,
)
from bot.views import show
from db.enums import BotKind, MarketType
from db.models import AuditLog, ExchangeAccount, Order, StrategyBot, User

log = logging.getLogger(__name__)
router = Router(name="strategies")
router.message.filter(accepted)
router.callback_query.filter(accepted)

POPULAR = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB")


class NewBot(StatesGroup):
    symbol = State()


class EditSetting(StatesGroup):
    value = State()


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


# ---- lists and creation ----

@router.callback_query(MenuCb.filter(F.item.in_({"hyperrsi", "grid"})))
async def list_bots(query: CallbackQuery, callback_data: MenuCb, state: FSMContext, db_user: User) -> None:
    await state.clear()
    kind = BotKind(callback_data.item)
    bots = await StrategyBot.filter(user=db_user, kind=kind).order_by("id")
    kb = Keyboard()
    for b in bots:
        kb.button(text=f"{bot_title(b)} · {status_text(b.status)}", callback_data=BotCb(action="card", bot_id=b.id))
    kb.button(text=_("bots.new"), callback_data=NewBotCb(kind=kind.value))
    kb.button(text=_("menu.back"), callback_data=MenuCb(item="main"))
    kb.adjust(1)
    intro = _(f"bots.intro.{kind.value}")
    await show(query, intro if bots else intro + "\n\n" + _("bots.none"), kb.as_markup())
    await query.answer()


@router.callback_query(NewBotCb.filter(F.account_id == 0))
async def pick_account(query: CallbackQuery, callback_data: NewBotCb, db_user: User) -> None:
    kind = _kind(callback_data.kind)
    if kind is None:
        await query.answer(_("common.stale"), show_alert=True)
        return
    every = await live_accounts(db_user)
    accounts = [a for a in every if fits(kind, a)]
    kb = Keyboard()
    for a in accounts:
        kb.button(text=f"{a.label} ({a.market_type})", callback_data=NewBotCb(kind=kind.value, account_id=a.id))
    if not accounts:
        kb.button(text=_("menu.accounts"), callback_data=MenuCb(item="accounts"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item=kind.value))
    kb.adjust(1)
    text = _("bots.pick_account") if accounts else _("bots.needs_swap") if every else _("bots.no_accounts")
    await show(query, text, kb.as_markup())
    await query.answer()


async def _markets(account: ExchangeAccount, engine: Any) -> dict:
    ex = await open_exchange(account, engine)
    return await ex.load_markets()


@router.callback_query(NewBotCb.filter((F.account_id != 0) & (F.symbol == "")))
async def pick_symbol(query: CallbackQuery, callback_data: NewBotCb, state: FSMContext, db_user: User,
                      engine: Any) -> None:
    kind = _kind(callback_data.kind)
    account = await ExchangeAccount.get_or_none(id=callback_data.account_id, user=db_user)
    if kind is None or account is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    if not fits(kind, account):
        await query.answer(_("bots.needs_swap"), show_alert=True)
        return
    markets = await _markets(account, engine)
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
    await query.answer()


@router.callback_query(NewBotCb.filter(F.symbol != ""))
async def chose_symbol(query: CallbackQuery, callback_data: NewBotCb, state: FSMContext, db_user: User,
                       engine: Any) -> None:
    kind = _kind(callback_data.kind)
    account = await ExchangeAccount.get_or_none(id=callback_data.account_id, user=db_user)
    if kind is None or account is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    symbol = dec_symbol(callback_data.symbol)
    if symbol not in await _markets(account, engine):
        await query.answer(_("bots.unknown_symbol").format(symbol=symbol), show_alert=True)
        return
    await query.answer()
    await _create(query.message, state, db_user, engine, kind, account, symbol)


@router.message(StateFilter(NewBot.symbol), not_command)
async def typed_symbol(message: Message, state: FSMContext, db_user: User, engine: Any) -> None:
    data = await state.get_data()
    account = await ExchangeAccount.get_or_none(id=data.get("account_id"), user=db_user)
    kind = _kind(data.get("kind", ""))
    if account is None or kind is None:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    text = (message.text or "").strip()
    markets = await _markets(account, engine)
    symbol = normalise_symbol(text, MarketType(account.market_type)) if text else ""
    if symbol not in markets:
        examples = ", ".join(list(markets)[:4])
        await message.answer(_("bots.unknown_symbol_typed").format(symbol=text[:40], examples=examples))
        return
    await _create(message, state, db_user, engine, kind, account, symbol)


async def _create(message: Any, state: FSMContext, user: User, engine: Any, kind: BotKind,
                  account: ExchangeAccount, symbol: str) -> None:
    if not fits(kind, account):
        await state.clear()
        await message.answer(_("bots.needs_swap"))
        return
    values = defaults(kind)
    if kind == BotKind.GRID:
        price = await last_price(await open_exchange(account, engine), symbol)
        if price:  # a starting range of ±10 % around the price, rounded to 5 significant digits
            values["lower_price"] = _sig(price * 0.9)
            values["upper_price"] = _sig(price * 1.1)
    b = await StrategyBot.create(user=user, account=account, kind=kind, symbol=symbol, settings=values)
    await AuditLog.create(user=user, actor_telegram_id=user.telegram_id, action="bot.create", object_type="bot",
                          object_id=str(b.id), details={"kind": kind.value, "symbol": symbol})
    await state.clear()
    text, markup = editor_view(b)
    await message.answer(_("bots.created") + "\n\n" + text, reply_markup=markup)


def _sig(x: float, digits: int = 5) -> float:
    if x <= 0:
        return x
    return round(x, max(0, digits - 1 - math.floor(math.log10(x))))


# ---- the generic editor ----

def editor_view(b: StrategyBot) -> tuple[str, InlineKeyboardMarkup]:
    kind = BotKind(b.kind)
    text = card(kind, b.settings, _("editor.title").format(title=bot_title(b)))
    kb = Keyboard()
    for i, spec in enumerate(specs(kind).values()):
        kb.button(text=_(spec.label_key), callback_data=SetCb(action="edit", bot_id=b.id, idx=i))
    kb.button(text=_("editor.presets"), callback_data=SetCb(action="presets", bot_id=b.id))
    kb.button(text=_("editor.done"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(2)
    return text, kb.as_markup()


async def _editable(query: CallbackQuery, user: User, bot_id: int) -> StrategyBot | None:
    b = await own_bot(user, bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return None
    if b.status not in EDITABLE:
        await query.answer(_("editor.stop_first"), show_alert=True)
        return None
    return b


@router.callback_query(BotCb.filter(F.action == "settings"))
async def open_editor(query: CallbackQuery, callback_data: BotCb, state: FSMContext, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    await state.clear()
    await show(query, *editor_view(b))
    await query.answer()


@router.callback_query(SetCb.filter(F.action == "edit"))
async def edit_setting(query: CallbackQuery, callback_data: SetCb, state: FSMContext, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    spec = spec_at(BotKind(b.kind), callback_data.idx)
    if spec is None:
        await query.answer(_("common.stale"), show_alert=True)
        return
    current = b.settings.get(spec.name, spec.default)
    await state.clear()  # an earlier number prompt must not catch text meant for nothing
    if spec.kind == "bool":
        await _save(b, db_user, spec.name, not current)
        await show(query, *editor_view(b))
        await query.answer()
        return
    kb = Keyboard()
    if spec.kind == "choice":
        for j, choice in enumerate(spec.choices or ()):
            mark = "• " if choice == current else ""
            kb.button(text=f"{mark}{choice}", callback_data=SetCb(action="choose", bot_id=b.id, idx=callback_data.idx,
                                                                 value=str(j)))
    else:
        await state.set_state(EditSetting.value)
        await state.update_data(bot_id=b.id, idx=callback_data.idx)
    kb.button(text=_("common.back"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.adjust(2)
    await show(query, prompt(spec, current), kb.as_markup())
    await query.answer()


@router.callback_query(SetCb.filter(F.action == "choose"))
async def choose_value(query: CallbackQuery, callback_data: SetCb, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    spec = spec_at(BotKind(b.kind), callback_data.idx)
    if spec is None or spec.choices is None or not callback_data.value.isdigit() or \
            int(callback_data.value) >= len(spec.choices):
        await query.answer(_("common.stale"), show_alert=True)
        return
    await _save(b, db_user, spec.name, spec.choices[int(callback_data.value)])
    await show(query, *editor_view(b))
    await query.answer()


@router.message(StateFilter(EditSetting.value), not_command)
async def typed_value(message: Message, state: FSMContext, db_user: User) -> None:
    data = await state.get_data()
    b = await own_bot(db_user, data.get("bot_id", 0))
    spec = spec_at(BotKind(b.kind), data.get("idx", -1)) if b else None
    if b is None or b.status not in EDITABLE or spec is None:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    try:
        value = parse(spec, message.text or "")
    except BadValue as e:
        await message.answer(f"❌ {e}\n{_('editor.try_again')}")
        return
    await state.clear()
    await _save(b, db_user, spec.name, value)
    text, markup = editor_view(b)
    await message.answer(_("editor.saved").format(label=_(spec.label_key)) + "\n\n" + text, reply_markup=markup)


async def _save(b: StrategyBot, user: User, name: str, value: Any) -> None:
    await _update_settings(b, user, {name: value}, "bot.setting", {"name": name, "value": value})


async def _update_settings(b: StrategyBot, user: User, changes: dict, action: str, details: dict) -> None:
    """Merge `changes` into the bot's settings and record who did it."""
    b.settings = {**b.settings, **changes}
    await b.save(update_fields=["settings", "updated_at"])
    await AuditLog.create(user=user, actor_telegram_id=user.telegram_id, action=action, object_type="bot",
                          object_id=str(b.id), details=details)


@router.callback_query(SetCb.filter(F.action == "presets"))
async def presets(query: CallbackQuery, callback_data: SetCb, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    kind = BotKind(b.kind)
    kb = Keyboard()
    for i, name in enumerate(PRESETS[kind]):
        kb.button(text=_(f"preset.{kind.value}.{name}"), callback_data=SetCb(action="preset", bot_id=b.id, idx=i))
    kb.button(text=_("common.back"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.adjust(1)
    await show(query, _("editor.presets_intro"), kb.as_markup())
    await query.answer()


@router.callback_query(SetCb.filter(F.action == "preset"))
async def apply_preset(query: CallbackQuery, callback_data: SetCb, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    kind = BotKind(b.kind)
    names = list(PRESETS[kind])
    if not 0 <= callback_data.idx < len(names):
        await query.answer(_("common.stale"), show_alert=True)
        return
    name = names[callback_data.idx]
    await _update_settings(b, db_user, PRESETS[kind][name], "bot.preset", {"preset": name})
    await show(query, *editor_view(b))
    await query.answer(_("editor.preset_applied"))


# ---- GRID preview ----

@router.callback_query(BotCb.filter(F.action == "preview"))
async def grid_preview(query: CallbackQuery, callback_data: BotCb, db_user: User, engine: Any) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    await query.answer()
    await show(query, *await preview_view(b, engine))


# ---- delete a bot ----

@router.callback_query(BotCb.filter(F.action == "delete"))
async def delete_bot(query: CallbackQuery, callback_data: BotCb, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    kb = Keyboard()
    kb.button(text=_("bots.delete_yes"), callback_data=BotCb(action="delete_yes", bot_id=b.id))
    kb.button(text=_("common.no"), callback_data=BotCb(action="card", bot_id=b.id))
    await show(query, _("bots.delete_confirm").format(title=bot_title(b)), kb.as_markup())
    await query.answer()


@router.callback_query(BotCb.filter(F.action == "delete_yes"))
async def delete_bot_yes(query: CallbackQuery, callback_data: BotCb, db_user: User) -> None:
    b = await _editable(query, db_user, callback_data.bot_id)
    if b is None:
        return
    if await Order.filter(bot=b).exists():
        await query.answer(_("bots.has_history"), show_alert=True)
        return
    kind = b.kind
    await b.delete()
    await AuditLog.create(user=db_user, actor_telegram_id=db_user.telegram_id, action="bot.delete",
                          object_type="bot", object_id=str(callback_data.bot_id))
    await query.answer(_("bots.deleted"))
    kb = Keyboard()
    kb.button(text=_("common.back"), callback_data=MenuCb(item=kind.value))
    await show(query, _("bots.deleted"), kb.as_markup())


@router.message(Command("bots"))
async def cmd_bots(message: Message, db_user: User) -> None:
    bots = await StrategyBot.filter(user=db_user).order_by("id")
    kb = Keyboard()
    for b in bots:
        kb.button(text=f"{bot_title(b)} · {status_text(b.status)}", callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(1)
    await message.answer(_("bots.all") if bots else _("bots.none"), reply_markup=kb.as_markup())


@router.callback_query(BotCb.filter(F.action == "card"))
async def open_card(query: CallbackQuery, callback_data: BotCb, state: FSMContext, db_user: User,
                    engine: Any) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    await state.clear()
    await show(query, *await bot_card(b, engine))
    await query.answer()
