"""A bot's settings through the generic editor (buttons for choices and switches, typed numbers), its presets, and
the risk card before Start. A running or paused bot changes its live-safe settings through the engine."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.bot_card import editable
from bot.callbacks import BotCb, SetCb
from bot.engine_port import EnginePort, LiveEditRefused, NotYours
from bot.filters import OwnBot, accepted, not_command
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader
from bot.replies import alert, answer_now, show, toast
from bot.risk_card import risk_view
from bot.routers import bot_history
from bot.services import bots
from bot.services.bots import EDITABLE, LIVE_EDIT, StrategyBot
from bot.services.users import User
from bot.settings_editor import PRESETS, BadValue, editor_view, labels, parse, prompt, refusal, spec_at
from db.enums import BotKind, BotStatus


class EditSetting(StatesGroup):
    value = State()


def can_edit(b: StrategyBot, callback_answer: CallbackAnswer) -> bool:
    """A stopped bot changes every setting, a running or paused one its live-safe ones; a stopping one waits."""
    if b.status in EDITABLE or b.status in LIVE_EDIT:
        return True
    alert(callback_answer, _("editor.stopping") if b.status == BotStatus.STOPPING else _("editor.stop_first"))
    return False


async def view(b: StrategyBot) -> tuple[str, InlineKeyboardMarkup]:
    return editor_view(b, await bots.live_allowed(b))


async def save(b: StrategyBot, user: User, engine: EnginePort, changes: dict[str, Any], action: str,
               extra: dict) -> str | None:
    """Store `changes`: a stopped bot's through the editor's service, a running one's through the engine's live
    rules. None when stored, else why not; `b` is read again either way."""
    try:
        if b.status in LIVE_EDIT:
            await engine.control.update_settings(user.id, b.id, changes, action=action, extra=extra)
        else:
            await bots.change_settings(b, user, changes, action, extra)
    except (LiveEditRefused, ValidationError, NotYours) as e:
        return refusal(BotKind(b.kind), e)
    finally:
        await bots.reload(b)
    return None


async def _save(b: StrategyBot, user: User, engine: EnginePort, name: str, value: Any) -> str | None:
    return await save(b, user, engine, {name: value}, "bot.setting", {"name": name})


async def open_editor(query: CallbackQuery, strategy_bot: StrategyBot, state: FSMContext,
                      callback_answer: CallbackAnswer) -> None:
    if not can_edit(strategy_bot, callback_answer):
        return
    await state.clear()
    await show(query, *await view(strategy_bot))


async def edit_setting(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                       db_user: User, engine: EnginePort, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not can_edit(b, callback_answer):
        return
    kind = BotKind(b.kind)
    spec = spec_at(kind, callback_data.idx)
    if spec is None:
        alert(callback_answer, _("common.stale"))
        return
    allowed = await bots.live_allowed(b)
    if allowed is not None and spec.name not in allowed:
        alert(callback_answer, _("editor.needs_stop").format(settings=labels(kind, [spec.name])))
        return
    current = b.settings.get(spec.name, spec.default)
    await state.clear()  # an earlier number prompt must not catch text meant for nothing
    if spec.kind == "bool":
        why = await _save(b, db_user, engine, spec.name, not current)
        if why:
            alert(callback_answer, why)
        await show(query, *await view(b))
        return
    kb = Keyboard()
    if spec.kind == "choice":
        for j, choice in enumerate(spec.choices or ()):
            mark = "• " if choice == current else ""
            kb.button(text=f"{mark}{choice}", callback_data=SetCb(action="choose", bot_id=b.id, idx=callback_data.idx,
                                                                 value=str(j)))
    else:
        await state.set_state(EditSetting.value)
        await state.update_data(bot_id=b.id, idx=callback_data.idx)
    kb.button(text=_("common.back"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.adjust(2)
    await show(query, prompt(spec, current), kb.as_markup())


async def choose_value(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, db_user: User,
                       engine: EnginePort, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not can_edit(b, callback_answer):
        return
    spec = spec_at(BotKind(b.kind), callback_data.idx)
    if spec is None or spec.choices is None or not callback_data.value.isdigit() or \
            int(callback_data.value) >= len(spec.choices):
        alert(callback_answer, _("common.stale"))
        return
    why = await _save(b, db_user, engine, spec.name, spec.choices[int(callback_data.value)])
    if why:
        alert(callback_answer, why)
    await show(query, *await view(b))


async def typed_value(message: Message, state: FSMContext, db_user: User, engine: EnginePort) -> None:
    data = await state.get_data()
    b = await bots.own(db_user, data.get("bot_id", 0))
    spec = spec_at(BotKind(b.kind), data.get("idx", -1)) if b else None
    if b is None or (b.status not in EDITABLE and b.status not in LIVE_EDIT) or spec is None:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    try:
        value = parse(spec, message.text or "")
    except BadValue as e:
        await message.answer(f"❌ {e}\n{_('editor.try_again')}")
        return
    why = await _save(b, db_user, engine, spec.name, value)
    if why:  # the value is fine on its own, not with the others (or not while the bot runs): another may be
        await message.answer(f"❌ {why}\n{_('editor.try_again')}")
        return
    await state.clear()
    text, markup = await view(b)
    await message.answer(_("editor.saved").format(label=_(spec.label_key)) + "\n\n" + text, reply_markup=markup)


async def presets(query: CallbackQuery, strategy_bot: StrategyBot, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    kind = BotKind(b.kind)
    kb = Keyboard()
    for i, name in enumerate(PRESETS[kind]):
        kb.button(text=_(f"preset.{kind.value}.{name}"), callback_data=SetCb(action="preset", bot_id=b.id, idx=i))
    kb.button(text=_("common.back"), callback_data=BotCb(action="settings", bot_id=b.id))
    kb.adjust(1)
    await show(query, _("editor.presets_intro"), kb.as_markup())


async def apply_preset(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, db_user: User,
                       engine: EnginePort, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    kind = BotKind(b.kind)
    names = list(PRESETS[kind])
    if not 0 <= callback_data.idx < len(names):
        alert(callback_answer, _("common.stale"))
        return
    name = names[callback_data.idx]
    why = await save(b, db_user, engine, PRESETS[kind][name], "bot.preset", {"preset": name})
    await show(query, *await view(b))
    if why:
        alert(callback_answer, why)
    else:
        toast(callback_answer, _("editor.preset_applied"))


async def risk_preview(query: CallbackQuery, strategy_bot: StrategyBot, exchanges: ExchangeReader,
                       callback_answer: CallbackAnswer) -> None:
    if not editable(strategy_bot, callback_answer):
        return
    await answer_now(query, callback_answer)
    await show(query, *await risk_view(strategy_bot, exchanges))


def make_router() -> Router:
    router = Router(name="bot_settings")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(open_editor, BotCb.filter(F.action == "settings"), OwnBot())
    cb.register(edit_setting, SetCb.filter(F.action == "edit"), OwnBot())
    cb.register(choose_value, SetCb.filter(F.action == "choose"), OwnBot())
    router.message.register(typed_value, StateFilter(EditSetting.value), not_command)
    cb.register(presets, SetCb.filter(F.action == "presets"), OwnBot())
    cb.register(apply_preset, SetCb.filter(F.action == "preset"), OwnBot())
    cb.register(risk_preview, BotCb.filter(F.action == "preview"), OwnBot())
    router.include_router(bot_history.make_router())  # the settings' history and rollback
    return router
