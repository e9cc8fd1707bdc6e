"""Accounts: list, add an exchange API key by dialog (real money or demo; secrets deleted on read, checked, vaulted),
paper, delete. In the sandbox (`sandbox` workflow data, no BOT_TOKEN) no key is ever asked for: paper only."""

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
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import numbers
from bot.account_label import account_label
from bot.callbacks import AccCb, MenuCb
from bot.engine_port import EnginePort, NotYours
from bot.filters import OwnAccount, accepted, not_command
from bot.keyboards import Keyboard, back_markup, back_to_menu
from bot.markets import EXCHANGES, NEEDS_PASSPHRASE, PAPER, mask
from bot.replies import alert, show, toast
from bot.services import accounts
from bot.services.accounts import ExchangeAccount
from bot.services.users import User
from db.enums import MarketType
from db.vault import Vault

log = logging.getLogger(__name__)

PAPER_MAX = Decimal("1000000000")
CENT = Decimal("0.01")
LIVE_MODE, DEMO_MODE = "live", "demo"


def _typed_money(v: Any) -> str:
    """A balance the user typed, as typed but to at most 2 decimals ("100000", "1234.5")."""
    return numbers.fixed(v, 2, trim=True, group=False)


class AddAccount(StatesGroup):
    api_key = State()
    secret = State()
    passphrase = State()


class AddPaper(StatesGroup):
    balance = State()


def describe_account(a: ExchangeAccount) -> str:
    if a.is_paper:
        bal = ", ".join(f"{_typed_money(v)} {k}" for k, v in (a.paper_balances or {}).items())
        return _("accounts.line_paper").format(label=a.label, market=a.market_type, balance=bal)
    return _("accounts.line").format(label=account_label(a), exchange=a.exchange, market=a.market_type,
                                     hint=a.key_hint)


async def accounts_view(user: User):
    live = await accounts.live(user)
    lines = [_("accounts.title")]
    lines += [describe_account(a) for a in live] or [_("accounts.none")]
    kb = Keyboard()
    kb.button(text=_("accounts.add_exchange"), callback_data=AccCb(action="add"))
    kb.button(text=_("accounts.add_paper"), callback_data=AccCb(action="paper"))
    for a in live:
        kb.button(text=_("accounts.delete_button").format(label=account_label(a)),
                  callback_data=AccCb(action="delete", account_id=a.id))
    back_to_menu(kb)
    kb.adjust(2, *([1] * (len(live) + 1)))
    return "\n".join(lines), kb.as_markup()


async def menu_accounts(query: CallbackQuery, state: FSMContext, db_user: User) -> None:
    await state.clear()
    await show(query, *await accounts_view(db_user))


async def cmd_accounts(message: Message, state: FSMContext, db_user: User) -> None:
    await state.clear()
    text, markup = await accounts_view(db_user)
    await message.answer(text, reply_markup=markup)


# ---- exchange account dialog ----

async def _paper_only(query: CallbackQuery, state: FSMContext) -> None:
    """The sandbox's answer to every step of the key dialog: real keys need Telegram; a paper account instead."""
    await state.clear()
    kb = Keyboard()
    kb.button(text=_("accounts.add_paper"), callback_data=AccCb(action="paper"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item="accounts"))
    kb.adjust(1)
    await show(query, _("sandbox.paper_only"), kb.as_markup())


async def add_exchange(query: CallbackQuery, state: FSMContext, sandbox: bool = False) -> None:
    if sandbox:
        await _paper_only(query, state)
        return
    await state.clear()
    kb = Keyboard()
    for ex in EXCHANGES:
        kb.button(text=ex.upper(), callback_data=AccCb(action="exchange", value=ex))
    kb.button(text=_("common.back"), callback_data=MenuCb(item="accounts"))
    kb.adjust(3)
    await show(query, _("accounts.choose_exchange"), kb.as_markup())


async def chose_exchange(query: CallbackQuery, callback_data: AccCb, state: FSMContext,
                         callback_answer: CallbackAnswer, sandbox: bool = False) -> None:
    if sandbox:
        await _paper_only(query, state)
        return
    exchange = callback_data.value
    if exchange not in EXCHANGES:
        alert(callback_answer, _("common.stale"))
        return
    if not accounts.offers_demo(exchange):
        await _choose_market(query, exchange, demo=False)
        return
    kb = Keyboard()
    for mode, text in ((LIVE_MODE, _("accounts.mode_live")), (DEMO_MODE, _("accounts.mode_demo"))):
        kb.button(text=text, callback_data=AccCb(action="mode", value=f"{exchange}.{mode}"))
    kb.button(text=_("common.back"), callback_data=AccCb(action="add"))
    kb.adjust(2)
    await show(query, _("accounts.choose_mode").format(exchange=exchange.upper()), kb.as_markup())


async def chose_mode(query: CallbackQuery, callback_data: AccCb, state: FSMContext,
                     callback_answer: CallbackAnswer, sandbox: bool = False) -> None:
    """Real money or the venue's demo environment: offered only where the venue has one."""
    if sandbox:
        await _paper_only(query, state)
        return
    exchange, _sep, mode = callback_data.value.partition(".")
    if exchange not in EXCHANGES or mode not in (LIVE_MODE, DEMO_MODE) or not accounts.offers_demo(exchange):
        alert(callback_answer, _("common.stale"))
        return
    await _choose_market(query, exchange, demo=mode == DEMO_MODE)


async def _choose_market(query: CallbackQuery, exchange: str, *, demo: bool) -> None:
    """The venue's markets; a demo choice rides on each button ("okx.swap.demo"), so no state is needed yet."""
    kb = Keyboard()
    for mt in EXCHANGES[exchange]:
        value = f"{exchange}.{mt.value}.{DEMO_MODE}" if demo else f"{exchange}.{mt.value}"
        kb.button(text=_(f"market.{mt.value}"), callback_data=AccCb(action="market", value=value))
    back = AccCb(action="exchange", value=exchange) if accounts.offers_demo(exchange) else AccCb(action="add")
    kb.button(text=_("common.back"), callback_data=back)
    kb.adjust(2)
    await show(query, _("accounts.choose_market").format(exchange=exchange.upper()), kb.as_markup())


async def chose_market(query: CallbackQuery, callback_data: AccCb, state: FSMContext,
                       callback_answer: CallbackAnswer, sandbox: bool = False) -> None:
    exchange, _sep, rest = callback_data.value.partition(".")
    market, _sep, mode = rest.partition(".")
    # a forged button (seen: "paper.bogus" ended in a ValueError); demo only where the venue has it, never paper
    if market not in {m.value for m in MarketType} or mode not in ("", DEMO_MODE):
        alert(callback_answer, _("common.stale"))
        return
    if exchange == PAPER and not mode:
        await state.set_state(AddPaper.balance)
        await state.update_data(market=market)
        kb = Keyboard()
        for amount in ("1000", "10000", "100000"):
            kb.button(text=f"{int(amount):,} USDT", callback_data=AccCb(action="paper_balance", value=amount))
        kb.adjust(3)
        await show(query, _("accounts.paper_balance_prompt"), kb.as_markup())
        return
    if sandbox:
        await _paper_only(query, state)
        return
    if (exchange not in EXCHANGES or market not in {m.value for m in EXCHANGES[exchange]}
            or (mode and not accounts.offers_demo(exchange))):
        alert(callback_answer, _("common.stale"))
        return
    await _ask_key(query, state, exchange, market, demo=mode == DEMO_MODE)


async def _ask_key(query: CallbackQuery, state: FSMContext, exchange: str, market: str, *, demo: bool) -> None:
    await state.set_state(AddAccount.api_key)
    await state.set_data({"exchange": exchange, "market": market, "demo": demo})
    text = _("accounts.send_api_key").format(exchange=exchange.upper())
    if demo:
        text = _("accounts.send_demo_key").format(exchange=exchange.upper()) + "\n\n" + text
    await show(query, text, None)


async def _read_secret(message: Message, bot: Bot, state: FSMContext, sandbox: bool) -> str | None:
    """The text of a message holding a secret, deleted from the chat at once; None in the sandbox, whose dialog
    never gets here (a dialog left open by a Telegram run sharing the FSM store ends unread)."""
    text = (message.text or "").strip()
    with contextlib.suppress(TelegramBadRequest):
        await bot.delete_message(message.chat.id, message.message_id)
    if sandbox:
        await state.clear()
        await message.answer(_("sandbox.paper_only"))
        return None
    return text or None


def _looks_like_key(text: str | None) -> bool:
    return bool(text) and 8 <= len(text) <= 256 and not text.startswith("/") and not any(c.isspace() for c in text)


async def got_api_key(message: Message, state: FSMContext, bot: Bot, vault: Vault, sandbox: bool = False) -> None:
    text = await _read_secret(message, bot, state, sandbox)
    if sandbox:
        return
    if not _looks_like_key(text):
        await message.answer(_("accounts.bad_secret"))
        return
    await state.update_data(api_key=vault.encrypt(text))  # FSM storage may be Redis: never hold plaintext there
    await state.set_state(AddAccount.secret)
    await message.answer(_("accounts.key_received_send_secret"))


async def got_secret(message: Message, state: FSMContext, bot: Bot, vault: Vault, db_user: User,
                     exchange_urls: dict | None = None, sandbox: bool = False) -> None:
    text = await _read_secret(message, bot, state, sandbox)
    if sandbox:
        return
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


async def got_passphrase(message: Message, state: FSMContext, bot: Bot, vault: Vault, db_user: User,
                         exchange_urls: dict | None = None, sandbox: bool = False) -> None:
    text = await _read_secret(message, bot, state, sandbox)
    if sandbox:
        return
    if not text or len(text) > 128 or text.startswith("/"):
        await message.answer(_("accounts.bad_secret"))
        return
    await state.update_data(passphrase=vault.encrypt(text))
    await _finish(message, state, vault, db_user, exchange_urls)


async def _finish(message: Message, state: FSMContext, vault: Vault, user: User, urls: dict | None) -> None:
    data = await state.get_data()
    exchange, market, demo = data["exchange"], MarketType(data["market"]), bool(data.get("demo"))
    key, secret = vault.decrypt(data["api_key"]).reveal(), vault.decrypt(data["secret"]).reveal()
    passphrase = vault.decrypt(data["passphrase"]).reveal() if data.get("passphrase") else None
    progress = await message.answer(_("accounts.checking"))
    try:
        check = await accounts.check_key(exchange, market, key, secret, passphrase, urls, demo=demo)
    except Exception as e:  # classified by the domain error's reason; its text is never shown or logged
        reason = getattr(e, "reason", type(e).__name__)
        log.info("key check for user %s on %s (demo: %s) failed: %s", user.id, exchange, demo, reason)
        bad_key = reason in ("invalid_key", "missing_permission")
        await _refuse(progress, state, _key_invalid(exchange, demo) if bad_key else _("accounts.key_check_failed"))
        return
    if not check.valid:
        await _refuse(progress, state, _key_invalid(exchange, demo))
        return
    if check.can_withdraw:
        await _refuse(progress, state, _("accounts.key_can_withdraw"))
        return
    if not check.can_trade:
        await _refuse(progress, state, _("accounts.key_cannot_trade"))
        return
    acc = await accounts.create_live(user, exchange, market, api_key_enc=data["api_key"], secret_enc=data["secret"],
                                     passphrase_enc=data.get("passphrase"), key_hint=mask(key), is_demo=demo)
    await state.clear()
    text = _("accounts.added").format(label=account_label(acc), hint=acc.key_hint)
    if check.can_withdraw is None and not demo:  # demo funds cannot leave the demo environment
        text += "\n\n" + _("accounts.withdraw_unknown")
    await progress.edit_text(text, reply_markup=back_markup())


def _key_invalid(exchange: str, demo: bool) -> str:
    """Why a key was refused; a key of the other environment is the likely mistake where the venue has two."""
    if demo:
        return _("accounts.key_invalid_demo").format(exchange=exchange.upper())
    if accounts.offers_demo(exchange):
        return _("accounts.key_invalid") + "\n" + _("accounts.key_invalid_live_hint")
    return _("accounts.key_invalid")


async def _refuse(progress: Message, state: FSMContext, reason: str) -> None:
    """Back to the API-key step, in the same exchange, market and environment: the secrets read so far are dropped."""
    await state.set_state(AddAccount.api_key)
    await state.update_data(api_key=None, secret=None, passphrase=None)
    await progress.edit_text(reason + "\n\n" + _("accounts.try_again"))


# ---- paper account ----

async def add_paper(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    kb = Keyboard()
    for mt in MarketType:
        kb.button(text=_(f"market.{mt.value}"), callback_data=AccCb(action="market", value=f"{PAPER}.{mt.value}"))
    kb.button(text=_("common.back"), callback_data=MenuCb(item="accounts"))
    kb.adjust(2)
    await show(query, _("accounts.paper_market"), kb.as_markup())


async def paper_balance_button(query: CallbackQuery, callback_data: AccCb, state: FSMContext, db_user: User) -> None:
    await _create_paper(query.message, state, db_user, callback_data.value)


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
    acc = await accounts.create_paper(user, PAPER, market, amount)
    await state.clear()
    await message.answer(_("accounts.paper_added").format(label=acc.label, balance=_typed_money(amount)),
                         reply_markup=back_markup())


# ---- delete ----

async def delete_ask(query: CallbackQuery, account: ExchangeAccount) -> None:
    n = await accounts.active_bots(account)
    kb = Keyboard()
    kb.button(text=_("accounts.delete_yes"), callback_data=AccCb(action="delete_yes", account_id=account.id))
    kb.button(text=_("common.no"), callback_data=MenuCb(item="accounts"))
    await show(query, _("accounts.delete_confirm").format(label=account_label(account), bots=n), kb.as_markup())


async def delete_do(query: CallbackQuery, account: ExchangeAccount, db_user: User, engine: EnginePort,
                    callback_answer: CallbackAnswer) -> None:
    try:
        await accounts.delete(db_user, account, engine)
    except NotYours:
        alert(callback_answer, _("common.not_found"))
        return
    toast(callback_answer, _("accounts.deleted"))
    await show(query, *await accounts_view(db_user))


def make_router() -> Router:
    router = Router(name="accounts")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb, msg = router.callback_query, router.message
    cb.register(menu_accounts, MenuCb.filter(F.item == "accounts"))
    msg.register(cmd_accounts, Command("accounts"))
    cb.register(add_exchange, AccCb.filter(F.action == "add"))
    cb.register(chose_exchange, AccCb.filter(F.action == "exchange"))
    cb.register(chose_market, AccCb.filter(F.action == "market"))
    cb.register(chose_mode, AccCb.filter(F.action == "mode"))
    msg.register(got_api_key, StateFilter(AddAccount.api_key), not_command)
    msg.register(got_secret, StateFilter(AddAccount.secret), not_command)
    msg.register(got_passphrase, StateFilter(AddAccount.passphrase), not_command)
    cb.register(add_paper, AccCb.filter(F.action == "paper"))
    cb.register(paper_balance_button, AccCb.filter(F.action == "paper_balance"), StateFilter(AddPaper.balance))
    msg.register(paper_balance_text, StateFilter(AddPaper.balance), not_command)
    cb.register(delete_ask, AccCb.filter(F.action == "delete"), OwnAccount())
    cb.register(delete_do, AccCb.filter(F.action == "delete_yes"), OwnAccount())
    return router
