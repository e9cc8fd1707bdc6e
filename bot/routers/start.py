"""/start (language, risk notice, main menu), /help, /cancel and the main menu's own buttons."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandStart, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import LangCb, MenuCb, RiskCb
from bot.keyboards import LANGUAGE_NAMES, Keyboard, back_markup, language_choice, main_menu
from bot.views import show
from db.models import AuditLog, User

router = Router(name="start")


@router.message(Command("cancel"), StateFilter("*"))
async def cancel(message: Message, state: FSMContext) -> None:
    had = await state.get_state()
    await state.clear()
    await message.answer(_("common.cancelled") if had else _("common.nothing_to_cancel"), reply_markup=main_menu())


@router.message(CommandStart(), StateFilter("*"))
async def start(message: Message, state: FSMContext, db_user: User) -> None:
    await state.clear()
    if db_user.risk_accepted_at is None:
        await message.answer(_("start.choose_language"), reply_markup=language_choice())
    else:
        await message.answer(_("start.menu"), reply_markup=main_menu())


@router.callback_query(LangCb.filter())
async def set_language(query: CallbackQuery, callback_data: LangCb, db_user: User, i18n: I18n) -> None:
    if callback_data.code not in LANGUAGE_NAMES:
        await query.answer(_("common.stale"), show_alert=True)
        return
    db_user.language = callback_data.code
    await db_user.save(update_fields=["language", "updated_at"])
    with i18n.use_locale(callback_data.code):
        if db_user.risk_accepted_at is None:
            kb = Keyboard()
            kb.button(text=_("start.accept"), callback_data=RiskCb(accept=True))
            kb.button(text=_("start.decline"), callback_data=RiskCb(accept=False))
            await show(query, _("start.risk_notice"), kb.as_markup())
        else:
            await show(query, _("start.menu"), main_menu())
        await query.answer(_("start.language_set"))


@router.callback_query(RiskCb.filter())
async def risk(query: CallbackQuery, callback_data: RiskCb, db_user: User) -> None:
    if not callback_data.accept:
        await show(query, _("start.declined"), None)
        await query.answer()
        return
    if db_user.risk_accepted_at is None:
        db_user.risk_accepted_at = datetime.now(UTC)
        await db_user.save(update_fields=["risk_accepted_at", "updated_at"])
        await AuditLog.create(user=db_user, actor_telegram_id=db_user.telegram_id, action="risk_accepted",
                              object_type="user", object_id=str(db_user.id))
    await show(query, _("start.menu"), main_menu())
    await query.answer()


@router.callback_query(MenuCb.filter(F.item == "main"))
async def menu(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(query, _("start.menu"), main_menu())
    await query.answer()


@router.callback_query(MenuCb.filter(F.item == "language"))
async def menu_language(query: CallbackQuery) -> None:
    await show(query, _("start.choose_language"), language_choice())
    await query.answer()


@router.message(Command("help"))
async def help_command(message: Message) -> None:
    await message.answer(_("start.help"), reply_markup=back_markup())


@router.callback_query(MenuCb.filter(F.item == "help"))
async def menu_help(query: CallbackQuery) -> None:
    await show(query, _("start.help"), back_markup())
    await query.answer()
