"""/why [bot] and the card's "Why?" button: a bot's last decisions in words (bot/why_render.py)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.bot_card import bot_title, status_text
from bot.callbacks import BotCb
from bot.filters import OwnBot, accepted
from bot.ids import ROW_ID_MAX
from bot.keyboards import Keyboard
from bot.market_numbers import for_bot
from bot.markets import ExchangeReader
from bot.replies import show
from bot.services import accounts, bots
from bot.services.bots import StrategyBot
from bot.services.users import User
from bot.why_render import why_text


async def why_view(b: StrategyBot, exchanges: ExchangeReader) -> tuple[str, InlineKeyboardMarkup]:
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    nums = await for_bot(account, b.symbol, exchanges, b.id)
    kb = Keyboard()
    kb.button(text=_("card.refresh"), callback_data=BotCb(action="why", bot_id=b.id))
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(2)
    return why_text(b, nums, bot_title(b)), kb.as_markup()


def _bot_id(arg: str) -> int | None:
    """"12" or "#12" as a row id; None for anything else (letters, Unicode digits, out of range)."""
    arg = arg.strip().removeprefix("#")
    if not arg.isascii() or not arg.isdigit() or len(arg) > 10:
        return None
    value = int(arg)
    return value if value <= ROW_ID_MAX else None


async def cmd_why(message: Message, command: CommandObject, db_user: User, exchanges: ExchangeReader) -> None:
    """With a bot's number: that bot (the caller's only); without: the only bot, or the list to pick from."""
    arg = (command.args or "").strip()
    every: list[StrategyBot] = []
    if arg:
        bot_id = _bot_id(arg)
        b = None if bot_id is None else await bots.own(db_user, bot_id)
        if b is None:
            await message.answer(_("why.not_found").format(bot=arg[:20]))
            return
    else:
        every = await bots.every(db_user)
        b = every[0] if len(every) == 1 else None
    if b is not None:
        text, markup = await why_view(b, exchanges)
        await message.answer(text, reply_markup=markup)
        return
    if not every:
        await message.answer(_("why.no_bots"))
        return
    kb = Keyboard()
    for one in every:
        kb.button(text=f"{bot_title(one)} · {status_text(one.status)}",
                  callback_data=BotCb(action="why", bot_id=one.id))
    kb.adjust(1)
    await message.answer(_("why.pick"), reply_markup=kb.as_markup())


async def show_why(query: CallbackQuery, strategy_bot: StrategyBot, exchanges: ExchangeReader) -> None:
    await show(query, *await why_view(strategy_bot, exchanges))


def make_router() -> Router:
    router = Router(name="why")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    router.message.register(cmd_why, Command("why"))
    router.callback_query.register(show_why, BotCb.filter(F.action == "why"), OwnBot())
    return router
