"""/start (language, risk notice, main menu), /help, /cancel and the main menu's own buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LangCb, MenuCb, RiskCb
from bot.keyboards import LANGUAGE_NAMES, Keyboard, back_markup, language_choice, main_menu
from bot.replies import alert, show, toast
from bot.services import users
from bot.services.users import User


async def cancel(message: Message, state: FSMContext) -> None:
    had = await state.get_state()
    await state.clear()
    await message.answer(_("common.cancelled") if had else _("common.nothing_to_cancel"), reply_markup=main_menu())


async def start(message: Message, state: FSMContext, db_user: User) -> None:
    await state.clear()
    if db_user.risk_accepted_at is None:
        await message.answer(_("start.choose_language"), reply_markup=language_choice())
    else:
        await message.answer(_("start.menu"), reply_markup=main_menu())


async def set_language(query: CallbackQuery, callback_data: LangCb, db_user: User, i18n: I18n,
                       callback_answer: CallbackAnswer) -> None:
    if callback_data.code not in LANGUAGE_NAMES:
        alert(callback_answer, _("common.stale"))
        return
    await users.set_language(db_user, callback_data.code)
    with i18n.use_locale(callback_data.code):
        if db_user.risk_accepted_at is None:
            kb = Keyboard()
            kb.button(text=_("start.accept"), callback_data=RiskCb(accept=True))
            kb.button(text=_("start.decline"), callback_data=RiskCb(accept=False))
            await show(query, _("start.risk_notice"), kb.as_markup())
        else:
            await show(query, _("start.menu"), main_menu())
        toast(callback_answer, _("start.language_set"))


async def risk(query: CallbackQuery, callback_data: RiskCb, db_user: User) -> None:
    if not callback_data.accept:
        await show(query, _("start.declined"), None)
        return
    await users.accept_risk(db_user)
    await show(query, _("start.menu"), main_menu())


async def menu(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, _("start.menu"), main_menu())


async def menu_language(query: CallbackQuery) -> None:
    await show(query, _("start.choose_language"), language_choice())


async def help_command(message: Message) -> None:
    await message.answer(_("start.help"), reply_markup=back_markup())


async def menu_help(query: CallbackQuery) -> None:
    await show(query, _("start.help"), back_markup())


def make_router() -> Router:
    router = Router(name="start")
    router.message.register(cancel, Command("cancel"), StateFilter("*"))
    router.message.register(start, CommandStart(), StateFilter("*"))
    router.callback_query.register(set_language, LangCb.filter())
    router.callback_query.register(risk, RiskCb.filter())
    router.callback_query.register(menu, MenuCb.filter(F.item == "main"))
    router.callback_query.register(menu_language, MenuCb.filter(F.item == "language"))
    router.message.register(help_command, Command("help"))
    router.callback_query.register(menu_help, MenuCb.filter(F.item == "help"))
    return router
