"""Last router: anything no feature handled (unknown commands, text outside a dialog, stale buttons)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from db.models import User

router = Router(name="fallback")


@router.message()
async def unknown_message(message: Message, db_user: User | None = None) -> None:
    if db_user is not None and db_user.risk_accepted_at is None:
        await message.answer(_("start.first"))
    else:
        await message.answer(_("common.unknown"))


@router.callback_query()
async def unknown_button(query: CallbackQuery) -> None:
    await query.answer(_("common.stale"), show_alert=True)
