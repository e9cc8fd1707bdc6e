"""/notifications: how much the user is told about their bots' trades (every fill, entries and closes, daily)."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.keyboards import Keyboard
from bot.replies import alert, show, toast
from bot.services import users
from bot.services.users import NotifyLevel, User

CURRENT = "✅ "


class NotifyLevelCb(CallbackData, prefix="nlvl"):
    level: str


def label(level: NotifyLevel) -> str:
    return {NotifyLevel.ALL: _("notify_level.all"), NotifyLevel.TRADES: _("notify_level.trades"),
            NotifyLevel.DAILY: _("notify_level.daily")}[level]


def view(current: NotifyLevel) -> tuple[str, InlineKeyboardMarkup]:
    """The three choices, one a row, the current one marked."""
    kb = Keyboard()
    for level in NotifyLevel:
        kb.button(text=(CURRENT if level == current else "") + label(level),
                  callback_data=NotifyLevelCb(level=level.value))
    kb.adjust(1)
    return _("notify_level.title").format(level=label(current)), kb.as_markup()


async def notifications(message: Message, db_user: User) -> None:
    text, markup = view(NotifyLevel(db_user.notify_level))
    await message.answer(text, reply_markup=markup)


async def choose(query: CallbackQuery, callback_data: NotifyLevelCb, db_user: User,
                 callback_answer: CallbackAnswer) -> None:
    try:
        level = NotifyLevel(callback_data.level)
    except ValueError:
        alert(callback_answer, _("common.stale"))
        return
    await users.set_notify_level(db_user, level)
    text, markup = view(level)
    await show(query, text, markup)
    toast(callback_answer, _("notify_level.saved").format(level=label(level)))


def make_router() -> Router:
    router = Router(name="notify_level")
    router.message.register(notifications, Command("notifications"), StateFilter("*"))
    router.callback_query.register(choose, NotifyLevelCb.filter())
    return router
