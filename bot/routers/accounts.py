"""Accounts: list, add an exchange API key by dialog (secrets deleted on read, checked, vaulted), paper, delete."""

from __future__ import annotations

import contextlib
import logging
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot import numbers
from bot.callbacks import AccCb, MenuCb
from bot.engine_api import NotYours
from bot.filters import accepted, not_command
from bot.keyboards import Keyboard, back_markup, back_to_menu
from bot.markets import EXCHANGES, NEEDS_PASSPHRASE, PAPER, check_key, mask
from bot.reads import accounts_without_prefix
from bot.views import show
from db.enums import BotStatus, MarketType
from db.models import AuditLog, ExchangeAccount, Order, StrategyBot, User
from db.vault import Vault

log = logging.getLogger(__name__)
router = Router(name="accounts")
router.message.filter(accepted)
router.callback_query.filter(accepted)

DELETED_PREFIX = "deleted#"
PAPER_MAX = Decimal("1000000000")
CENT = Decimal("0.01")


def _typed_money(v: Any) -> str:
    """A balance the user typed, as typed but to at most 2 decimals ("100000", "1234.5")."""
    return numbers.fixed(v, 2, trim=True, group=False)
LIVE = (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR, BotStatus.STOPPING)  # stopped first on deletion


class AddAccount(StatesGroup):
    api_key = State()
    secret = State()
    passphrase = State()


class AddPaper(StatesGroup):
    balance = State()


async def live_accounts(user: User) -> list[ExchangeAccount]:
    return await accounts_without_prefix(user, DELETED_PREFIX)


def describe_account(a: ExchangeAccount) -> str:
    if a.is_paper:
        bal = ", ".join(f"{_typed_money(v)} {k}" for k, v in (a.paper_balances or {}).items())
        return _("accounts.line_paper").format(label=a.label, market=a.market_type, balance=bal)
    return _("accounts.line").format(label=a.label, exchange=a.exchange, market=a.market_type, hint=a.key_hint)


async def accounts_view(user: User):
    accounts = await live_accounts(user)
    lines = [_("accounts.title")]
    lines += [describe_account(a) for a in accounts] or [_("accounts.none")]
    kb = Keyboard()
    kb.button(text=_("accounts.add_exchange"), callback_data=AccCb(action="add"))
    kb.button(text=_("accounts.add_paper"), callback_data=AccCb(action="paper"))
    for a in accounts:
        kb.button(text=_("accounts.delete_button").format(label=a.label), callback_data=AccCb(action="delete",
                                                                                          account_id=a.id))
    back_to_menu(kb)
    kb.adjust(2, *([1] * (len(accounts) + 1)))
    return "\n".join(lines), kb.as_markup()


@router.callback_query(MenuCb.filter(F.item == "accounts"))
async def menu_accounts(query: CallbackQuery, state: FSMContext, db_user: User) -> None:
    await state.clear()
    await show(query, *await accounts_view(db_user))
    await query.answer()


@router.message(Command("accounts"))
async def cmd_accounts(message: Message, state: FSMContext, db_user: User) -> None:
    await state.clear()
    text, markup = await accounts_view(db_user)
    await message.answer(text, reply_markup=markup)


# ---- exchange account dialog ----

@router.callback_query(AccCb.filter(F.action == "add"))
async def add_exchange(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    kb = Keyboard()
    for ex in EXCHANGES:
        kb.button(text=ex.upper(), callback_data=AccCb(action="exchange", value=ex))
    kb.button(text=_("common.back"), callback_data=MenuCb(item="accounts"))
    kb.adjust(3)
    await show(query, _("accounts.choose_exchange"), kb.as_markup())
    await query.answer()


@router.callback_query(AccCb.filter(F.action == "exchange"))
async def chose_exchange(query: CallbackQuery, callback_data: AccCb, state: FSMContext) -> None:
    if callback_data.value not in EXCHANGES:
        await query.answer(_("common.stale"), show_alert=True)
        return
    kb = Keyboard()
    for mt in EXCHANGES[callback_data.value]:
        kb.button(text=_(f"market.{mt.value}"), callback_data=AccCb(action="market", value=f"{callback_data.value}."
                                                                                          f"{mt.value}"))
    kb.button(text=_("common.back"), callback_data=AccCb(action="add"))
    kb.adjust(2)
    await show(query, _("accounts.choose_market").format(exchange=callback_data.value.upper()), kb.as_markup())
    await query.answer()


@router.callback_query(AccCb.filter(F.action == "market"))
async def chose_market(query: CallbackQuery, callback_data: AccCb, state: FSMContext) -> None:
    exchange, _sep, market = callback_data.value.partition(".")
    if market not in {m.value for m in MarketType}:  # a forged button (seen: "paper.bogus" ended in a ValueError)
        await query.answer(_("common.stale"), show_alert=True)
        return
    if exchange == PAPER:
        await state.set_state(AddPaper.balance)
        await state.update_data(market=market)
        kb = Keyboard()
        for amount in ("1000", "10000", "100000"):
            kb.button(text=f"{int(amount):,} USDT", callback_data=AccCb(action="paper_balance", value=amount))
        kb.adjust(3)
        await show(query, _("accounts.paper_balance_prompt"), kb.as_markup())
        await query.answer()
        return
    if exchange not in EXCHANGES or market not in {m.value for m in EXCHANGES[exchange]}:
        await query.answer(_("common.stale"), show_alert=True)
        return
    await state.set_state(AddAccount.api_key)
    await state.update_data(exchange=exchange, market=market)
    await show(query, _("accounts.send_api_key").format(exchange=exchange.upper()), None)
    await query.answer()


async def _read_secret(message: Message, bot: Bot) -> str | None:
    """The text of a message holding a secret, deleted from the chat at once."""
    text = (message.text or "").strip()
    with contextlib.suppress(TelegramBadRequest):
        await bot.delete_message(message.chat.id, message.message_id)
    return text or None


def _looks_like_key(text: str | None) -> bool:
    return bool(text) and 8 <= len(text) <= 256 and not text.startswith("/") and not any(c.isspace() for c in text)


@router.message(StateFilter(AddAccount.api_key), not_command)
async def got_api_key(message: Message, state: FSMContext, bot: Bot, vault: Vault) -> None:
    text = await _read_secret(message, bot)
    if not _looks_like_key(text):
        await message.answer(_("accounts.bad_secret"))
        return
    await state.update_data(api_key=vault.encrypt(text))  # FSM storage may be Redis: never hold plaintext there
    await state.set_state(AddAccount.secret)
    await message.answer(_("accounts.key_received_send_secret"))


@router.message(StateFilter(AddAccount.secret), not_command)
async def got_secret(message: Message, state: FSMContext, bot: Bot, vault: Vault, db_user: User,
                     exchange_urls: dict | None = None) -> None:
    text = await _read_secret(message, bot)
    if not _looks_like_key(text):
        await message.answer(_("accounts.bad_secret"))
        return
    await state.update_data(secret=vault.encrypt(text))
    data = await state.get_data()
    if data["exchange"] in NEEDS_PASSPHRASE:
        await state.set_state(AddAccount.passphrase)
        await message.answer(_("accounts.send_passphrase"))
        return
    await _finish(message, state, vault, db_user, exchange_urls)


@router.message(StateFilter(AddAccount.passphrase), not_command)
async def got_passphrase(message: Message, state: FSMContext, bot: Bot, vault: Vault, db_user: User,
                         exchange_urls: dict | None = None) -> None:
    text = await _read_secret(message, bot)
    if not text or len(text) > 128 or text.startswith("/"):
        await message.answer(_("accounts.bad_secret"))
        return
    await state.update_data(passphrase=vault.encrypt(text))
    await _finish(message, state, vault, db_user, exchange_urls)


async def _finish(message: Message, state: FSMContext, vault: Vault, user: User, urls: dict | None) -> None:
    data = await state.get_data()
    exchange, market = data["exchange"], MarketType(data["market"])
    key, secret = vault.decrypt(data["api_key"]).reveal(), vault.decrypt(data["secret"]).reveal()
    passphrase = vault.decrypt(data["passphrase"]).reveal() if data.get("passphrase") else None
    progress = await message.answer(_("accounts.checking"))
    try:
        check = await check_key(exchange, market, key, secret, passphrase, urls)
    except Exception as e:  # classified by the domain error's reason; its text is never shown or logged
        reason = getattr(e, "reason", type(e).__name__)
        log.info("key check for user %s on %s failed: %s", user.id, exchange, reason)
        bad_key = reason in ("invalid_key", "missing_permission")
        await _refuse(progress, state, _("accounts.key_invalid") if bad_key else _("accounts.key_check_failed"))
        return
    if not check.valid:
        await _refuse(progress, state, _("accounts.key_invalid"))
        return
    if check.can_withdraw:
        await _refuse(progress, state, _("accounts.key_can_withdraw"))
        return
    if not check.can_trade:
        await _refuse(progress, state, _("accounts.key_cannot_trade"))
        return
    label = await _free_label(user, f"{exchange}-{market.value}")
    acc = await ExchangeAccount.create(
        user=user, exchange=exchange, market_type=market, label=label,
        api_key_enc=data["api_key"], secret_enc=data["secret"], passphrase_enc=data.get("passphrase"),
        key_hint=mask(key), is_paper=False,
    )
    await AuditLog.create(user=user, actor_telegram_id=user.telegram_id, action="account_add",
                          object_type="account", object_id=str(acc.id), details={"exchange": exchange})
    await state.clear()
    text = _("accounts.added").format(label=label, hint=acc.key_hint)
    if check.can_withdraw is None:
        text += "\n\n" + _("accounts.withdraw_unknown")
    await progress.edit_text(text, reply_markup=back_markup())


async def _refuse(progress: Message, state: FSMContext, reason: str) -> None:
    """Back to the API-key step: the secrets read so far are dropped."""
    await state.set_state(AddAccount.api_key)
    await state.update_data(api_key=None, secret=None, passphrase=None)
    await progress.edit_text(reason + "\n\n" + _("accounts.try_again"))


async def _free_label(user: User, base: str) -> str:
    taken = set(await ExchangeAccount.filter(user=user).values_list("label", flat=True))
    label, n = base, 1
    while label in taken:
        n += 1
        label = f"{base}-{n}"
    return label


# ---- paper account ----

@router.callback_query(AccCb.filter(F.action == "paper"))
async def add_paper(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    kb = Keyboard()
    for mt in MarketType:
        kb.button(text=_(f"market.{mt.value}"), callback_data=AccCb(action="market", value=f"{PAPER}.{mt.value}"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item="accounts"))
    kb.adjust(2)
    await show(query, _("accounts.paper_market"), kb.as_markup())
    await query.answer()


@router.callback_query(AccCb.filter(F.action == "paper_balance"), StateFilter(AddPaper.balance))
async def paper_balance_button(query: CallbackQuery, callback_data: AccCb, state: FSMContext, db_user: User) -> None:
    await _create_paper(query.message, state, db_user, callback_data.value)
    await query.answer()


@router.message(StateFilter(AddPaper.balance), not_command)
async def paper_balance_text(message: Message, state: FSMContext, db_user: User) -> None:
    await _create_paper(message, state, db_user, (message.text or "").replace(",", "").strip())


async def _create_paper(message: Any, state: FSMContext, user: User, raw: str) -> None:
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        amount = None
    if amount is not None and amount.is_finite() and amount.as_tuple().exponent < CENT.as_tuple().exponent:
        amount = amount.quantize(CENT, rounding=ROUND_DOWN)  # a balance is money: kept and shown to the cent
    if amount is None or not amount.is_finite() or not 0 < amount <= PAPER_MAX:
        await message.answer(_("accounts.paper_bad_balance").format(max=f"{PAPER_MAX:,}"))
        return
    data = await state.get_data()
    market = MarketType(data.get("market", MarketType.SWAP.value))
    label = await _free_label(user, f"paper-{market.value}")
    acc = await ExchangeAccount.create(user=user, exchange=PAPER, market_type=market, label=label, is_paper=True,
                                       paper_balances={"USDT": str(amount)})
    await AuditLog.create(user=user, actor_telegram_id=user.telegram_id, action="account_add",
                          object_type="account", object_id=str(acc.id), details={"exchange": PAPER})
    await state.clear()
    await message.answer(_("accounts.paper_added").format(label=label, balance=_typed_money(amount)),
                         reply_markup=back_markup())


# ---- delete ----

@router.callback_query(AccCb.filter(F.action == "delete"))
async def delete_ask(query: CallbackQuery, callback_data: AccCb, db_user: User) -> None:
    acc = await ExchangeAccount.get_or_none(id=callback_data.account_id, user=db_user)
    if acc is None or acc.label.startswith(DELETED_PREFIX):
        await query.answer(_("common.not_found"), show_alert=True)
        return
    n = await StrategyBot.filter(account=acc, status__in=LIVE).count()
    kb = Keyboard()
    kb.button(text=_("accounts.delete_yes"), callback_data=AccCb(action="delete_yes", account_id=acc.id))
    kb.button(text=_("common.no"), callback_data=MenuCb(item="accounts"))
    await show(query, _("accounts.delete_confirm").format(label=acc.label, bots=n), kb.as_markup())
    await query.answer()


@router.callback_query(AccCb.filter(F.action == "delete_yes"))
async def delete_do(query: CallbackQuery, callback_data: AccCb, db_user: User, engine: Any) -> None:
    acc = await ExchangeAccount.get_or_none(id=callback_data.account_id, user=db_user)
    if acc is None or acc.label.startswith(DELETED_PREFIX):
        await query.answer(_("common.not_found"), show_alert=True)
        return
    bots = await StrategyBot.filter(account=acc)
    for b in bots:
        if b.status in LIVE:
            try:
                await engine.control.stop_bot(db_user.id, b.id, close_position=False)
            except NotYours:
                await query.answer(_("common.not_found"), show_alert=True)
                return
    traded = set(await Order.filter(account=acc).values_list("bot_id", flat=True))
    for b in bots:
        if b.id not in traded:
            await b.delete()
    if traded:
        # Orders and fills keep their history, so the row stays; its secrets go and it leaves every list.
        acc.label = f"{DELETED_PREFIX}{acc.id}"
        acc.api_key_enc = acc.secret_enc = acc.passphrase_enc = None
        await acc.save()
    else:
        await acc.delete()
    await engine.forget_account(callback_data.account_id)
    await AuditLog.create(user=db_user, actor_telegram_id=db_user.telegram_id, action="account_delete",
                          object_type="account", object_id=str(callback_data.account_id))
    await query.answer(_("accounts.deleted"))
    await show(query, *await accounts_view(db_user))
