"""A bot's settings through the generic editor (buttons for choices and switches, typed numbers), its presets, and
the GRID preview before Start."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.bot_card import editable
from bot.callbacks import BotCb, SetCb
from bot.filters import OwnBot, accepted, not_command
from bot.grid_preview import preview_view
from bot.keyboards import Keyboard
from bot.markets import ExchangeReader
from bot.replies import alert, answer_now, show, toast
from bot.services import bots
from bot.services.bots import EDITABLE, StrategyBot
from bot.services.users import User
from bot.settings_editor import PRESETS, BadValue, editor_view, parse, prompt, spec_at
from db.enums import BotKind


class EditSetting(StatesGroup):
    value = State()


async def _save(b: StrategyBot, user: User, name: str, value: Any) -> None:
    await bots.change_settings(b, user, {name: value}, "bot.setting", {"name": name, "value": value})


async def open_editor(query: CallbackQuery, strategy_bot: StrategyBot, state: FSMContext,
                      callback_answer: CallbackAnswer) -> None:
    if not editable(strategy_bot, callback_answer):
        return
    await state.clear()
    await show(query, *editor_view(strategy_bot))


async def edit_setting(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                       db_user: User, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    spec = spec_at(BotKind(b.kind), callback_data.idx)
    if spec is None:
        alert(callback_answer, _("common.stale"))
        return
    current = b.settings.get(spec.name, spec.default)
    await state.clear()  # an earlier number prompt must not catch text meant for nothing
    if spec.kind == "bool":
        await _save(b, db_user, spec.name, not current)
        await show(query, *editor_view(b))
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
                       callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    spec = spec_at(BotKind(b.kind), callback_data.idx)
    if spec is None or spec.choices is None or not callback_data.value.isdigit() or \
            int(callback_data.value) >= len(spec.choices):
        alert(callback_answer, _("common.stale"))
        return
    await _save(b, db_user, spec.name, spec.choices[int(callback_data.value)])
    await show(query, *editor_view(b))


async def typed_value(message: Message, state: FSMContext, db_user: User) -> None:
    data = await state.get_data()
    b = await bots.own(db_user, data.get("bot_id", 0))
    spec = spec_at(BotKind(b.kind), data.get("idx", -1)) if b else None
    if b is None or b.status not in EDITABLE or spec is None:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    try:
        value = parse(spec, message.text or "")
    except BadValue as e:
        await message.answer(f"❌ {e}\n{_('editor.try_again')}")
        return
    await state.clear()
    await _save(b, db_user, spec.name, value)
    text, markup = editor_view(b)
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
                       callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    kind = BotKind(b.kind)
    names = list(PRESETS[kind])
    if not 0 <= callback_data.idx < len(names):
        alert(callback_answer, _("common.stale"))
        return
    name = names[callback_data.idx]
    await bots.change_settings(b, db_user, PRESETS[kind][name], "bot.preset", {"preset": name})
    await show(query, *editor_view(b))
    toast(callback_answer, _("editor.preset_applied"))


async def grid_preview(query: CallbackQuery, strategy_bot: StrategyBot, exchanges: ExchangeReader,
                       callback_answer: CallbackAnswer) -> None:
    if not editable(strategy_bot, callback_answer):
        return
    await answer_now(query, callback_answer)
    await show(query, *await preview_view(strategy_bot, exchanges))


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
    cb.register(grid_preview, BotCb.filter(F.action == "preview"), OwnBot())
    return router
