"""The quick setup's presses and typed values: a setting by button or typed, GRID's range, HYPERRSI's risk preset."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot import quick_setup as qs
from bot.bot_card import editable
from bot.callbacks import SetCb
from bot.filters import OwnBot, accepted, not_command
from bot.markets import ExchangeReader
from bot.replies import alert, answer_now, show
from bot.services import accounts, bots
from bot.services.bots import EDITABLE, StrategyBot
from bot.services.users import User
from bot.settings_editor import PRESETS, BadValue, parse, spec_at, specs
from db.enums import BotKind
from engine.strategies.fields import SettingSpec

RANGE = "range"


class QuickSetup(StatesGroup):
    value = State()  # data: bot_id, field (a setting's name, or RANGE)


def _quick_spec(b: StrategyBot, idx: int) -> SettingSpec | None:
    spec = spec_at(BotKind(b.kind), idx)
    return spec if spec is not None and spec.name in qs.fields(b) else None


async def _save(b: StrategyBot, user: User, changes: dict[str, Any], details: dict) -> None:
    await bots.change_settings(b, user, changes, "bot.setting", details)


async def show_quick(query: CallbackQuery, strategy_bot: StrategyBot, state: FSMContext,
                     callback_answer: CallbackAnswer) -> None:
    if not editable(strategy_bot, callback_answer):
        return
    await state.clear()
    await show(query, *qs.quick_view(strategy_bot))


async def edit_field(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                     callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    spec = _quick_spec(b, callback_data.idx)
    if spec is None:
        alert(callback_answer, _("common.stale"))
        return
    await state.clear()
    if spec.kind != "choice":
        await state.set_state(QuickSetup.value)
        await state.update_data(bot_id=b.id, field=spec.name)
    await show(query, *qs.field_view(b, spec))


async def set_field(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                    db_user: User, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    spec = _quick_spec(b, callback_data.idx)
    try:
        if spec is None:
            raise BadValue(_("common.stale"))
        if spec.kind == "choice":
            j = int(callback_data.value) if callback_data.value.isdigit() else -1
            if not 0 <= j < len(spec.choices or ()):
                raise BadValue(_("common.stale"))
            value: Any = (spec.choices or ())[j]
        else:
            value = parse(spec, callback_data.value)
    except BadValue as e:
        alert(callback_answer, str(e))
        return
    await state.clear()
    await _save(b, db_user, {spec.name: value}, {"name": spec.name, "value": value})
    await show(query, *qs.quick_view(b))


async def edit_range(query: CallbackQuery, strategy_bot: StrategyBot, state: FSMContext, exchanges: ExchangeReader,
                     callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    if b.kind != BotKind.GRID:
        alert(callback_answer, _("common.stale"))
        return
    await answer_now(query, callback_answer)  # the week's candles are fetched
    account = await accounts.by_id(b.account_id)  # type: ignore[attr-defined]
    async with exchanges.reading(account) as ex:
        suggested, price = await qs.suggest_range(ex, b.symbol)
    await state.set_state(QuickSetup.value)
    await state.update_data(bot_id=b.id, field=RANGE)
    await show(query, *qs.range_view(b, suggested, price))


async def set_range(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                    db_user: User, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    try:
        if b.kind != BotKind.GRID:
            raise BadValue(_("common.stale"))
        lo, hi = qs.parse_range(callback_data.value.replace("_", " "))
    except BadValue:
        alert(callback_answer, _("common.stale"))
        return
    await state.clear()
    await _save(b, db_user, {"lower_price": lo, "upper_price": hi}, {"name": RANGE, "lower_price": lo,
                                                                      "upper_price": hi})
    await show(query, *qs.quick_view(b))


async def set_preset(query: CallbackQuery, callback_data: SetCb, strategy_bot: StrategyBot, state: FSMContext,
                     db_user: User, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    if not editable(b, callback_answer):
        return
    kind = BotKind(b.kind)
    names = list(PRESETS[kind])
    if kind != BotKind.HYPERRSI or not 0 <= callback_data.idx < len(names):
        alert(callback_answer, _("common.stale"))
        return
    name = names[callback_data.idx]
    await state.clear()
    await bots.change_settings(b, db_user, qs.preset_values(kind, name), "bot.preset", {"preset": name})
    await show(query, *qs.quick_view(b))


async def typed_value(message: Message, state: FSMContext, db_user: User) -> None:
    data = await state.get_data()
    b = await bots.own(db_user, data.get("bot_id", 0))
    field = data.get("field", "")
    if b is None or b.status not in EDITABLE:
        await state.clear()
        await message.answer(_("common.not_found"))
        return
    kind = BotKind(b.kind)
    try:
        if field == RANGE and kind == BotKind.GRID:
            lo, hi = qs.parse_range(message.text or "")
            changes, details = {"lower_price": lo, "upper_price": hi}, {"name": RANGE, "lower_price": lo,
                                                                         "upper_price": hi}
            label = _("quick.range_button")
        elif field in qs.fields(b):
            spec = specs(kind)[field]
            value = parse(spec, message.text or "")
            changes, details, label = {field: value}, {"name": field, "value": value}, _(spec.label_key)
        else:
            await state.clear()
            await message.answer(_("common.not_found"))
            return
    except BadValue as e:
        await message.answer(f"❌ {e}\n{_('editor.try_again')}")
        return
    await state.clear()
    await _save(b, db_user, changes, details)
    text, markup = qs.quick_view(b, head=_("editor.saved").format(label=label))
    await message.answer(text, reply_markup=markup)


def make_router() -> Router:
    router = Router(name="quick_setup")
    router.message.filter(accepted)
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(show_quick, SetCb.filter(F.action == "quick"), OwnBot())
    cb.register(edit_field, SetCb.filter(F.action == "qedit"), OwnBot())
    cb.register(set_field, SetCb.filter(F.action == "qset"), OwnBot())
    cb.register(edit_range, SetCb.filter((F.action == "qrange") & (F.value == "")), OwnBot())
    cb.register(set_range, SetCb.filter((F.action == "qrange") & (F.value != "")), OwnBot())
    cb.register(set_preset, SetCb.filter(F.action == "qpreset"), OwnBot())
    router.message.register(typed_value, StateFilter(QuickSetup.value), not_command)
    return router
