"""A bot's settings history (who, when in UTC, what changed, in people's words and units), newest first, and "roll
back to this version" after a confirmation: through the engine's update_settings, so a running bot's live rules
apply, and recorded as a change itself."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.bot_card import bot_title
from bot.callbacks import BotCb
from bot.engine_port import EnginePort, LiveEditRefused, NotYours
from bot.filters import OwnBot, accepted
from bot.ids import RowId
from bot.keyboards import Keyboard
from bot.replies import alert, show, toast
from bot.services import audit, bots
from bot.services.audit import Change
from bot.services.bots import StrategyBot
from bot.services.users import User
from bot.settings_editor import fmt_value, labels, refusal, specs
from db.enums import BotKind

SHOWN = 8  # changes listed at once
LINES = 6  # settings listed per change; the rest are counted


class HistCb(CallbackData, prefix="hist"):
    action: str  # ask (the rollback's confirmation), do (roll back)
    bot_id: RowId
    change: RowId = 0  # the AuditLog id of the version rolled back to


def when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def value_text(kind: BotKind, name: str, value: Any) -> str:
    spec = specs(kind).get(name)
    if value is None:
        return "—"
    return fmt_value(spec, value) if spec is not None else str(value)


def diff_lines(kind: BotKind, changes: dict[str, list]) -> list[str]:
    """"• TP1 distance: 2 → 2.5", one per setting, at most LINES of them and then how many more."""
    items = list(changes.items())
    lines = [_("history.diff").format(setting=labels(kind, [name]), old=value_text(kind, name, old),
                                      new=value_text(kind, name, new)) for name, (old, new) in items[:LINES]]
    if len(items) > LINES:
        lines.append(_("history.diff_more").format(count=len(items) - LINES))
    return lines


def how(kind: BotKind, c: Change) -> str:
    """Who made the change and how, in words."""
    if c.action == "bot.preset":
        key = f"preset.{kind.value}.{c.extra.get('preset', '')}"
        name = _(key)
        text = _("history.how_preset").format(preset=name if name != key else c.extra.get("preset", ""))
    elif c.action == "bot.rollback":
        text = _("history.how_rollback").format(when=c.extra.get("to_at", "—"))
    else:
        text = _("history.how_edit")
    return text + (_("history.while_running") if c.extra.get("live") else "")


def who(c: Change, user: User) -> str:
    return _("history.by_you") if c.actor == user.telegram_id else _("history.by_other").format(id=c.actor or "—")


async def history_view(b: StrategyBot, user: User) -> tuple[str, InlineKeyboardMarkup]:
    kind = BotKind(b.kind)
    changes, total = await audit.settings_history(b.id, SHOWN)
    lines = [_("history.title").format(title=bot_title(b))]
    kb = Keyboard()
    if not changes:
        lines += ["", _("history.empty")]
    for n, c in enumerate(changes, 1):
        lines += ["", _("history.entry").format(n=n, when=when(c.at), who=who(c, user), how=how(kind, c))]
        lines += diff_lines(kind, c.changes)
        if rollback_changes(b, c):  # the version in use now has nothing to roll back to
            kb.button(text=_("history.rollback").format(n=n), callback_data=HistCb(action="ask", bot_id=b.id,
                                                                                  change=c.id))
    if total > len(changes):
        lines += ["", _("history.older").format(count=total - len(changes))]
    kb.button(text=_("common.back"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(2)
    return "\n".join(lines), kb.as_markup()


def rollback_changes(b: StrategyBot, c: Change) -> dict[str, Any]:
    """The settings that differ from the version after change `c`: what a rollback to it changes."""
    return {k: v for k, v in c.after.items() if b.settings.get(k) != v}


async def show_history(query: CallbackQuery, strategy_bot: StrategyBot, db_user: User) -> None:
    await show(query, *await history_view(strategy_bot, db_user))


async def ask(query: CallbackQuery, callback_data: HistCb, strategy_bot: StrategyBot,
              callback_answer: CallbackAnswer) -> None:
    b, kind = strategy_bot, BotKind(strategy_bot.kind)
    c = await audit.settings_change(b.id, callback_data.change)
    if c is None:
        alert(callback_answer, _("common.stale"))
        return
    changes = rollback_changes(b, c)
    if not changes:
        alert(callback_answer, _("history.same"))
        return
    lines = [_("history.confirm").format(title=bot_title(b), when=when(c.at)), ""]
    lines += diff_lines(kind, {k: [b.settings.get(k), v] for k, v in changes.items()})
    kb = Keyboard()
    allowed = await bots.live_allowed(b)
    waiting = [k for k in changes if allowed is not None and k not in allowed]
    if waiting:  # the engine would refuse it: say so now, with no button that cannot work
        lines += ["", _("editor.needs_stop").format(settings=labels(kind, waiting))]
    else:
        if allowed is not None:
            lines += ["", _("editor.live_note")]
        kb.button(text=_("history.confirm_yes"), callback_data=HistCb(action="do", bot_id=b.id, change=c.id))
    kb.button(text=_("common.back"), callback_data=BotCb(action="history", bot_id=b.id))
    kb.adjust(1)
    await show(query, "\n".join(lines), kb.as_markup())


async def roll_back(query: CallbackQuery, callback_data: HistCb, strategy_bot: StrategyBot, db_user: User,
                    engine: EnginePort, callback_answer: CallbackAnswer) -> None:
    b = strategy_bot
    c = await audit.settings_change(b.id, callback_data.change)
    if c is None:
        alert(callback_answer, _("common.stale"))
        return
    changes = rollback_changes(b, c)
    if changes:
        try:
            await engine.control.update_settings(db_user.id, b.id, changes, action="bot.rollback",
                                                 extra={"to": c.id, "to_at": when(c.at)})
        except (LiveEditRefused, ValidationError, NotYours) as e:
            alert(callback_answer, refusal(BotKind(b.kind), e))
            return
        await bots.reload(b)
    await show(query, *await history_view(b, db_user))
    toast(callback_answer, _("history.rolled_back"))


def make_router() -> Router:
    router = Router(name="bot_history")
    router.callback_query.filter(accepted)
    cb = router.callback_query
    cb.register(show_history, BotCb.filter(F.action == "history"), OwnBot())
    cb.register(ask, HistCb.filter(F.action == "ask"), OwnBot())
    cb.register(roll_back, HistCb.filter(F.action == "do"), OwnBot())
    return router
