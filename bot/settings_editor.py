"""The generic settings editor, driven by `describe(model)`: values, parsing, validation, the card and its keys."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from pydantic import BaseModel, ValidationError

from bot import numbers
from bot.bot_card import bot_title
from bot.callbacks import BotCb, SetCb
from bot.engine_port import LiveEditRefused
from bot.keyboards import Keyboard
from bot.services.bots import StrategyBot
from db.enums import BotKind
from engine.strategies import grid_settings, hyperrsi_settings
from engine.strategies.fields import PROBLEM, SettingSpec, describe

MODELS: dict[BotKind, type[BaseModel]] = {
    BotKind.HYPERRSI: hyperrsi_settings.HyperRsiSettings,
    BotKind.GRID: grid_settings.GridSettings,
}
PRESETS: dict[BotKind, dict[str, dict]] = {
    BotKind.HYPERRSI: hyperrsi_settings.PRESETS,
    BotKind.GRID: grid_settings.PRESETS,
}
_SPECS = {kind: {s.name: s for s in describe(model)} for kind, model in MODELS.items()}


def specs(kind: BotKind) -> dict[str, SettingSpec]:
    return _SPECS[kind]


def defaults(kind: BotKind) -> dict[str, Any]:
    return {name: s.default for name, s in _SPECS[kind].items()}


class BadValue(ValueError):
    """A value the user typed that the setting refuses; the message is already in the user's language."""


def fmt_number(v: float) -> str:
    """A setting's value as typed, to at most 8 decimals (prices, amounts and money shown elsewhere: bot/numbers.py)."""
    if isinstance(v, bool):
        return str(v)
    return numbers.plain(v)


def spec_at(kind: BotKind, idx: int) -> SettingSpec | None:
    """The setting behind button number `idx` of the editor, or None for a stale or forged index."""
    all_specs = list(specs(kind).values())
    return all_specs[idx] if 0 <= idx < len(all_specs) else None


def fmt_value(spec: SettingSpec, value: Any) -> str:
    if spec.kind == "bool":
        return _("editor.on") if value else _("editor.off")
    if spec.kind == "choice":
        return str(value)
    text = fmt_number(value)
    return f"{text} {_(f'unit.{spec.unit}')}" if spec.unit else text


def range_text(spec: SettingSpec) -> str:
    lo = "—" if spec.minimum is None else fmt_number(spec.minimum)
    hi = "—" if spec.maximum is None else fmt_number(spec.maximum)
    key = "editor.range_gt" if spec.exclusive_minimum else "editor.range"
    return _(key).format(min=lo, max=hi)


def parse(spec: SettingSpec, text: str) -> Any:
    """The typed value for `spec`, or BadValue with a message saying what is allowed."""
    raw = text.strip()
    if spec.kind == "choice":
        for c in spec.choices or ():
            if raw.lower() == c.lower():
                return c
        raise BadValue(_("editor.bad_choice").format(choices=", ".join(spec.choices or ())))
    if spec.kind == "bool":
        low = raw.lower()
        if low in {"on", "yes", "true", "1", "켜기", "예"}:
            return True
        if low in {"off", "no", "false", "0", "끄기", "아니요"}:
            return False
        raise BadValue(_("editor.bad_bool"))
    cleaned = raw.replace(",", "").replace("_", "").replace(" ", "").rstrip("%")
    if spec.unit and spec.unit != "%":
        cleaned = cleaned.removesuffix(spec.unit).removesuffix(spec.unit.lower())
    try:
        number = float(cleaned)
    except ValueError:
        raise BadValue(_("editor.not_number").format(text=raw[:40])) from None
    if not math.isfinite(number):
        raise BadValue(_("editor.not_number").format(text=raw[:40]))
    if spec.kind == "int":
        if not number.is_integer():
            raise BadValue(_("editor.not_integer"))
        number = int(number)
    lo, hi = spec.minimum, spec.maximum
    if (lo is not None and (number < lo or (spec.exclusive_minimum and number == lo))) or \
            (hi is not None and (number > hi or (spec.exclusive_maximum and number == hi))):
        raise BadValue(_("editor.out_of_range").format(range=range_text(spec)))
    return number


def problems(kind: BotKind, values: dict[str, Any]) -> list[str]:
    """Whole-model problems (e.g. lower ≥ upper) in the user's language, each known by its code; any other error
    (a stored value of the wrong type) as pydantic words it."""
    try:
        MODELS[kind](**values)
    except ValidationError as e:
        return [problem_text(err) for err in e.errors()]
    return []


def problem_text(err: Any) -> str:
    if err.get("type") == PROBLEM:
        return _(f"problem.{err['ctx']['code']}")
    return err.get("msg", "")


def applicable(kind: BotKind, values: dict[str, Any]) -> set[str]:
    """The settings that matter given the others (the models' `applicable`): the only ones the editor lists."""
    return set(MODELS[kind].applicable(values))  # type: ignore[attr-defined]


def card(kind: BotKind, values: dict[str, Any], title: str) -> str:
    """Every setting that applies and its value, grouped, then what keeps the settings from being valid."""
    lines = [title]
    group = None
    shown = applicable(kind, values)
    for name, spec in _SPECS[kind].items():
        if name not in shown:
            continue
        if spec.group != group:
            group = spec.group
            lines.append("")
            lines.append(f"[{_(f'group.{kind.value}.{group}')}]")
        lines.append(f"• {_(spec.label_key)}: {fmt_value(spec, values.get(name, spec.default))}")
    issues = problems(kind, values)
    if issues:
        lines.append("")
        lines += [f"⚠️ {p}" for p in issues]
    return "\n".join(lines)


def prompt(spec: SettingSpec, current: Any) -> str:
    lines = [f"{_(spec.label_key)}", _(spec.help_key), "", _("editor.current").format(value=fmt_value(spec, current))]
    if spec.kind in ("int", "float"):
        lines.append(range_text(spec) + (f" ({_(f'unit.{spec.unit}')})" if spec.unit else ""))
        lines.append(_("editor.send_number"))
    return "\n".join(lines)


def labels(kind: BotKind, names: Iterable[str]) -> str:
    """Settings by their labels in the user's language, comma-separated."""
    return ", ".join(_(_SPECS[kind][n].label_key) if n in _SPECS[kind] else n for n in names)


def refusal(kind: BotKind, e: Exception) -> str:
    """Why the engine did not take a change (LiveEditRefused, ValidationError or NotYours), in the user's language."""
    if isinstance(e, LiveEditRefused) and e.reason == "needs_stop":
        return _("editor.needs_stop").format(settings=labels(kind, e.fields))
    if isinstance(e, LiveEditRefused):
        return _("editor.stopping")
    if isinstance(e, ValidationError):
        return _("editor.live_invalid").format(problem=problem_text(e.errors()[0]))
    return _("common.not_found")


def editor_view(b: StrategyBot, allowed: frozenset[str] | None = None) -> tuple[str, InlineKeyboardMarkup]:
    """The settings card with a button per setting, the presets and "done". A running bot (`allowed`: what it may
    change now) offers only those, says when a change applies and lists the settings that need a stop."""
    kind = BotKind(b.kind)
    text = card(kind, b.settings, _("editor.title").format(title=bot_title(b)))
    kb = Keyboard()
    shown = applicable(kind, b.settings)
    if allowed is not None:
        text += "\n\n" + _("editor.live_note")
        waiting = [n for n in specs(kind) if n in shown and n not in allowed]
        if waiting:
            text += "\n" + _("editor.needs_stop_list").format(settings=labels(kind, waiting))
    for i, spec in enumerate(specs(kind).values()):
        if spec.name in shown and (allowed is None or spec.name in allowed):  # the index: its place among all
            kb.button(text=_(spec.label_key), callback_data=SetCb(action="edit", bot_id=b.id, idx=i))
    if allowed is None:  # presets change the sizing too: a stopped bot's
        kb.button(text=_("editor.presets"), callback_data=SetCb(action="presets", bot_id=b.id))
    kb.button(text=_("editor.done"), callback_data=BotCb(action="card", bot_id=b.id))
    kb.adjust(2)
    return text, kb.as_markup()
