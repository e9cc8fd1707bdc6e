"""A bot's card and what its buttons do: start, stop (close the position or keep it), pause, resume, delete; /bots
and /stopall. Control goes through the engine's control commands, which check ownership and audit themselves."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.bot_card import bot_card, bot_title, editable, status_text
from bot.callbacks import BotCb, MenuCb, StopAllCb, StopCb
from bot.engine_port import EnginePort, NotYours
from bot.filters import OwnBot, accepted
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader
from bot.replies import alert, show, toast
from bot.services import bots
from bot.services.bots import EDITABLE, StrategyBot
from bot.services.users import User
from bot.settings_editor import problems
from db.enums import BotKind, BotStatus

log = logging.getLogger(__name__)


async def _run(callback_answer: CallbackAnswer, action: str, call: Awaitable[object]) -> bool:
    """Run one control command; a refusal is answered in a popup. True when it went through."""
    try:
        await call
    except NotYours:
        alert(callback_answer, _("common.not_found"))
        return False
    except ValidationError:
        alert(callback_answer, _("control.invalid_settings"))
        return False
    except Exception as e:
        reason = getattr(e, "reason", None)
        if reason is None and type(e).__module__.startswith("engine."):
            reason = type(e).__name__
        if reason is None:
            raise
        log.info("%s refused: %s", action, reason)
        key = f"refused.{reason}"
        alert(callback_answer, _("control.refused").format(reason=_(key) if _(key) != key else reason))
        return False
    return True


async def _show_card(query: CallbackQuery, b: StrategyBot, exchanges: ExchangeReader) -> None:
    await show(query, *await bot_card(await bots.reload(b), exchanges))


async def open_card(query: CallbackQuery, strategy_bot: StrategyBot, state: FSMContext,
                    exchanges: ExchangeReader) -> None:
    await state.clear()
    await show(query, *await bot_card(strategy_bot, exchanges))


async def cmd_bots(message: Message, db_user: User) -> None:
    every = await bots.every(db_user)
    kb = Keyboard()
    for b in every:
        kb.button(text=f"{bot_title(b)} · {status_text(b.status)}", callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(1)
    await message.answer(_("bots.all") if every else _("bots.none"), reply_markup=kb.as_markup())


async def start(query: CallbackQuery, strategy_bot: StrategyBot, db_user: User, engine: EnginePort,
                exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if b.status not in EDITABLE:
        alert(callback_answer, _("control.already").format(status=_(f"status.{b.status.value}")))
        return
    issues = problems(BotKind(b.kind), b.settings)
    if issues:
        alert(callback_answer, "⚠️ " + issues[0])
        return
    if await _run(callback_answer, "start", engine.control.start_bot(db_user.id, b.id)):
        await _show_card(query, b, exchanges)
        toast(callback_answer, _("control.started"))


async def pause_resume(query: CallbackQuery, callback_data: BotCb, strategy_bot: StrategyBot, db_user: User,
                       engine: EnginePort, exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    b, action = strategy_bot, callback_data.action
    if b.status != (BotStatus.RUNNING if action == "pause" else BotStatus.PAUSED):
        alert(callback_answer, _("common.stale"))
        return
    command = engine.control.pause_bot if action == "pause" else engine.control.resume_bot
    if await _run(callback_answer, action, command(db_user.id, b.id)):
        await _show_card(query, b, exchanges)
        toast(callback_answer, _(f"control.{action}d"))


async def stop_ask(query: CallbackQuery, strategy_bot: StrategyBot) -> None:
    b = strategy_bot
    kb = Keyboard()
    kb.button(text=_("control.stop_close"), callback_data=StopCb(bot_id=b.id, close=True))
    kb.button(text=_("control.stop_keep"), callback_data=StopCb(bot_id=b.id, close=False))
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(1)
    await show(query, _("control.stop_question").format(title=bot_title(b)), kb.as_markup())


async def stop(query: CallbackQuery, callback_data: StopCb, strategy_bot: StrategyBot, db_user: User,
               engine: EnginePort, exchanges: ExchangeReader, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if b.status not in (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.ERROR):
        alert(callback_answer, _("common.stale"))
        return
    card = [query.message.chat.id, query.message.message_id] if query.message else None
    stopping = engine.control.stop_bot(db_user.id, b.id, close_position=callback_data.close, card=card)
    if await _run(callback_answer, "stop", stopping):
        await _show_card(query, b, exchanges)  # reloads b
        # while the close is out the card says "stopping"; the notifier refreshes it once the bot is stopped
        toast(callback_answer, _("control.stopping" if b.status == BotStatus.STOPPING else "control.stopped"))


async def stopall_ask(message: Message, db_user: User) -> None:
    n = await bots.active_count(db_user)
    if not n:
        await message.answer(_("control.nothing_running"))
        return
    kb = Keyboard()
    kb.button(text=_("control.stopall_keep"), callback_data=StopAllCb(confirm=True, close=False))
    kb.button(text=_("control.stopall_close"), callback_data=StopAllCb(confirm=True, close=True))
    kb.button(text=_("common.no"), callback_data=StopAllCb(confirm=False))
    kb.adjust(1)
    await message.answer(_("control.stopall_question").format(n=n), reply_markup=kb.as_markup())


async def stopall(query: CallbackQuery, callback_data: StopAllCb, db_user: User, engine: EnginePort) -> None:
    if not callback_data.confirm:
        await show(query, _("common.cancelled"), None)
        return
    n = await engine.control.stop_all(db_user.id, close_positions=callback_data.close)
    await show(query, _("control.stopall_done").format(n=n), None)


async def delete_ask(query: CallbackQuery, strategy_bot: StrategyBot, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    kb = Keyboard()
    kb.button(text=_("bots.delete_yes"), callback_data=BotCb(action="delete_yes", bot_id=b.id))
    kb.button(text=_("common.no"), callback_data=BotCb(action="card", bot_id=b.id))
    await show(query, _("bots.delete_confirm").format(title=bot_title(b)), kb.as_markup())


async def delete_yes(query: CallbackQuery, strategy_bot: StrategyBot, db_user: User,
                     callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    try:
        await bots.delete(b, db_user)
    except bots.HasHistory:
        alert(callback_answer, _("bots.has_history"))
        return
    toast(callback_answer, _("bots.deleted"))
    kb = Keyboard()
    kb.button(text=_("common.back"), callback_data=MenuCb(item=b.kind.value))
    await show(query, _("bots.deleted"), kb.as_markup())


def make_router() -> Router:
    router = Router(name="bot_actions")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(open_card, BotCb.filter(F.action == "card"), OwnBot())
    router.message.register(cmd_bots, Command("bots"))
    cb.register(start, BotCb.filter(F.action == "start"), OwnBot())
    cb.register(pause_resume, BotCb.filter(F.action.in_({"pause", "resume"})), OwnBot())
    cb.register(stop_ask, BotCb.filter(F.action == "stop"), OwnBot())
    cb.register(stop, StopCb.filter(), OwnBot())
    router.message.register(stopall_ask, Command("stopall"))
    cb.register(stopall, StopAllCb.filter())
    cb.register(delete_ask, BotCb.filter(F.action == "delete"), OwnBot())
    cb.register(delete_yes, BotCb.filter(F.action == "delete_yes"), OwnBot())
    return router
