"""Control through `engine.control`: start, stop (close the position or keep it), pause, resume, /stopall."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.bot_card import EDITABLE, bot_card, bot_title, own_bot
from bot.callbacks import BotCb, StopAllCb, StopCb
from bot.engine_api import NotYours
from bot.filters import accepted
from bot.keyboards import Keyboard
from bot.settings_editor import problems
from bot.views import show
from db.enums import BotKind, BotStatus
from db.models import StrategyBot, User

log = logging.getLogger(__name__)
router = Router(name="control")
router.message.filter(accepted)
router.callback_query.filter(accepted)


async def _run(query: CallbackQuery, action: str, call) -> bool:
    """Run one control call; answers the user on refusal. True when it went through."""
    try:
        await call
    except NotYours:
        await query.answer(_("common.not_found"), show_alert=True)
        return False
    except ValidationError:
        await query.answer(_("control.invalid_settings"), show_alert=True)
        return False
    except Exception as e:
        reason = getattr(e, "reason", None)
        if reason is None and type(e).__module__.startswith("engine."):
            reason = type(e).__name__
        if reason is None:
            raise
        log.info("%s refused: %s", action, reason)
        key = f"refused.{reason}"
        text = _("control.refused").format(reason=_(key) if _(key) != key else reason)
        await query.answer(text[:190], show_alert=True)
        return False
    return True


@router.callback_query(BotCb.filter(F.action == "start"))
async def start(query: CallbackQuery, callback_data: BotCb, db_user: User, engine: Any) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    if b.status not in EDITABLE:
        await query.answer(_("control.already").format(status=_(f"status.{b.status.value}")), show_alert=True)
        return
    issues = problems(BotKind(b.kind), b.settings)
    if issues:
        await query.answer(("⚠️ " + issues[0])[:190], show_alert=True)
        return
    if await _run(query, "start", engine.control.start_bot(db_user.id, b.id)):
        await b.refresh_from_db()
        await show(query, *await bot_card(b, engine))
        await query.answer(_("control.started"))


@router.callback_query(BotCb.filter(F.action.in_({"pause", "resume"})))
async def pause_resume(query: CallbackQuery, callback_data: BotCb, db_user: User, engine: Any) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    want = BotStatus.RUNNING if callback_data.action == "pause" else BotStatus.PAUSED
    if b.status != want:
        await query.answer(_("common.stale"), show_alert=True)
        return
    fn = engine.control.pause_bot if callback_data.action == "pause" else engine.control.resume_bot
    if await _run(query, callback_data.action, fn(db_user.id, b.id)):
        await b.refresh_from_db()
        await show(query, *await bot_card(b, engine))
        await query.answer(_(f"control.{callback_data.action}d"))


@router.callback_query(BotCb.filter(F.action == "stop"))
async def stop_ask(query: CallbackQuery, callback_data: BotCb, db_user: User) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    kb = Keyboard()
    kb.button(text=_("control.stop_close"), callback_data=StopCb(bot_id=b.id, close=True))
    kb.button(text=_("control.stop_keep"), callback_data=StopCb(bot_id=b.id, close=False))
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(1)
    await show(query, _("control.stop_question").format(title=bot_title(b)), kb.as_markup())
    await query.answer()


@router.callback_query(StopCb.filter())
async def stop(query: CallbackQuery, callback_data: StopCb, db_user: User, engine: Any) -> None:
    b = await own_bot(db_user, callback_data.bot_id)
    if b is None:
        await query.answer(_("common.not_found"), show_alert=True)
        return
    if b.status not in (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR):
        await query.answer(_("common.stale"), show_alert=True)
        return
    if await _run(query, "stop", engine.control.stop_bot(db_user.id, b.id, close_position=callback_data.close)):
        await b.refresh_from_db()
        await show(query, *await bot_card(b, engine))
        await query.answer(_("control.stopped"))


@router.message(Command("stopall"))
async def stopall_ask(message: Message, db_user: User) -> None:
    n = await StrategyBot.filter(user=db_user, status__in=[BotStatus.RUNNING, BotStatus.PAUSED]).count()
    if not n:
        await message.answer(_("control.nothing_running"))
        return
    kb = Keyboard()
    kb.button(text=_("control.stopall_keep"), callback_data=StopAllCb(confirm=True, close=False))
    kb.button(text=_("control.stopall_close"), callback_data=StopAllCb(confirm=True, close=True))
    kb.button(text=_("common.no"), callback_data=StopAllCb(confirm=False))
    kb.adjust(1)
    await message.answer(_("control.stopall_question").format(n=n), reply_markup=kb.as_markup())


@router.callback_query(StopAllCb.filter())
async def stopall(query: CallbackQuery, callback_data: StopAllCb, db_user: User, engine: Any) -> None:
    if not callback_data.confirm:
        await show(query, _("common.cancelled"), None)
        await query.answer()
        return
    n = await engine.control.stop_all(db_user.id, close_positions=callback_data.close)
    await show(query, _("control.stopall_done").format(n=n), None)
    await query.answer()
