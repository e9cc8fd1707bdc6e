"""Last router: anything no feature handled (unknown commands, text outside a dialog, stale buttons), and the one
answer to a button naming a bot or account that is not the caller's (bot/filters.py let it fall through)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import or_f
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AccCb, BacktestCb, BotCb, NewBotCb, SetCb, StopCb
from bot.filters import accepted
from bot.replies import alert
from bot.services.users import User


async def unknown_message(message: Message, db_user: User | None = None) -> None:
    if db_user is not None and db_user.risk_accepted_at is None:
        await message.answer(_("start.first"))
    else:
        await message.answer(_("common.unknown"))


async def not_found(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("common.not_found"))


async def unknown_button(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    alert(callback_answer, _("common.stale"))


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_message)
    owned = or_f(BotCb.filter(), SetCb.filter(), StopCb.filter(), BacktestCb.filter(),
                 AccCb.filter(F.account_id != 0), NewBotCb.filter(F.account_id != 0))
    router.callback_query.register(not_found, owned, accepted)
    router.callback_query.register(unknown_button)
    return router
