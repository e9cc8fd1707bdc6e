"""A strategy bot's card: what it is, its state and position, and the buttons its status allows."""

from __future__ import annotations

from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.account_label import account_label
from bot.callbacks import BotCb, MenuCb, SetCb
from bot.keyboards import Keyboard
from bot.market_numbers import for_bot, from_symbol
from bot.markets import ExchangeReader
from bot.replies import alert
from bot.services import accounts, bots
from bot.services.accounts import ExchangeAccount
from bot.services.bots import EDITABLE, Position, StrategyBot
from bot.symbols import say
from db.enums import BotStatus, PositionSide


def bot_title(b: StrategyBot) -> str:
    """"#3 GRID BTC/USDT perpetual": the market as people say it (bot/symbols.py)."""
    return f"#{b.id} {b.kind.value.upper()} {say(b.symbol)}"


def editable(b: StrategyBot, callback_answer: CallbackAnswer) -> bool:
    """Settings, preview and deletion wait until the bot stops trading; else the press says so."""
    if b.status in EDITABLE:
        return True
    alert(callback_answer, _("editor.stop_first"))
    return False


def status_text(status: BotStatus) -> str:
    return _(f"status.{status.value}")


async def position_text(b: StrategyBot, account: ExchangeAccount | None = None,
                        exchanges: ExchangeReader | None = None) -> str:
    """The position to the market's tick and lot (read through `exchanges` when given), PnL in the quote currency."""
    pos = await bots.position(b)
    nums = from_symbol(b.symbol)
    if pos is not None and pos.side != PositionSide.FLAT and pos.size:
        nums = await for_bot(account, b.symbol, exchanges, b.id)
    if pos is None or pos.side == PositionSide.FLAT or nums.is_dust(pos.size):
        return _("card.flat").format(**realised(nums, pos))
    return _("card.position").format(
        side=_(f"side.{pos.side.value}"), size=nums.amount(pos.size), entry=nums.price(pos.average_entry),
        **realised(nums, pos),
    )


def realised(nums: Any, pos: Position | None) -> dict[str, str]:
    """A bot's realised PnL after fees, and the fees: the books say balance change = realised PnL - fees."""
    if pos is None:
        return {"realised": nums.money(0), "fees": nums.money(0)}
    return {"realised": nums.money(pos.realized_pnl - pos.fees), "fees": nums.money(pos.fees)}


async def bot_card(b: StrategyBot, exchanges: ExchangeReader | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The card; with `exchanges`, an open position is shown to its market's precision (bounded decimals without)."""
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    lines = [bot_title(b), _("card.account").format(label=account_label(account)),
             _("card.status").format(status=status_text(b.status)), await position_text(b, account, exchanges)]
    if b.last_error:
        lines.append(_("card.last_error").format(error=b.last_error[:300]))
    kb = Keyboard()
    if b.status in EDITABLE:
        kb.button(text=_("card.quick"), callback_data=SetCb(action="quick", bot_id=b.id))
        kb.button(text=_("card.settings"), callback_data=BotCb(action="settings", bot_id=b.id))
        # both kinds start from the risk card (bot/risk_card.py): nobody starts without seeing the risk
        kb.button(text=_("card.preview"), callback_data=BotCb(action="preview", bot_id=b.id))
        kb.button(text=_("card.delete"), callback_data=BotCb(action="delete", bot_id=b.id))
        if b.status == BotStatus.ERROR:  # orders or a position may remain: let the user stop and close
            kb.button(text=_("card.stop"), callback_data=BotCb(action="stop", bot_id=b.id))
    elif b.status == BotStatus.RUNNING:
        kb.button(text=_("card.pause"), callback_data=BotCb(action="pause", bot_id=b.id))
        kb.button(text=_("card.stop"), callback_data=BotCb(action="stop", bot_id=b.id))
    elif b.status == BotStatus.PAUSED:
        kb.button(text=_("card.resume"), callback_data=BotCb(action="resume", bot_id=b.id))
        kb.button(text=_("card.stop"), callback_data=BotCb(action="stop", bot_id=b.id))
    if b.status in (BotStatus.RUNNING, BotStatus.PAUSED):  # the live-safe settings (bot/routers/bot_settings.py)
        kb.button(text=_("card.settings"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.button(text=_("card.history"), callback_data=BotCb(action="history", bot_id=b.id))
    kb.button(text=_("card.backtest"), callback_data=BotCb(action="backtest", bot_id=b.id))
    kb.button(text=_("why.button"), callback_data=BotCb(action="why", bot_id=b.id))
    kb.button(text=_("card.refresh"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.button(text=_("common.back"), callback_data=MenuCb(item=b.kind.value))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()
