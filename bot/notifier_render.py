"""Renders one outbox notification as chat text in the user's language; an unknown kind is shown generically."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiogram.utils.i18n import I18n

from bot.notifier_fields import number
from bot.numbers import MarketNumbers
from bot.symbols import say
from engine import notices

Translate = Callable[[str, str], str]  # (message key, language) -> text; the key itself when missing

# One formatter per kind: its title and its lines, in order. A line shows when every field it names is in the payload
# and at least one of them is not shown yet; payload fields no line names are listed after them by name, so nothing
# the engine reports is ever hidden. The fields of each kind are its model in engine/notices.py.
BOT = ("notify.bot",)
FILL_LINES = (*BOT, "notify.trade", "notify.trade_amount", "notify.price", "notify.role", "notify.level",
              "notify.stage", "notify.fee", "notify.stop_reason", "notify.position_entry",
              "notify.position_side_average", "notify.position", "notify.size", "notify.pyramid_count", "notify.pnl",
              "notify.realized_pnl")
FORMATS: dict[str, tuple[str, ...]] = {
    "fill": FILL_LINES, "entry": FILL_LINES, "take_profit": FILL_LINES, "stop_loss": FILL_LINES,
    "trailing_moved": (*BOT, "notify.stop_move", "notify.stop", "notify.reason", "notify.candle"),
    "note": (*BOT, "notify.reason", "notify.candle"),
    "bot_error": (*BOT, "notify.error", "notify.where"),
    "grid_stopped": (*BOT, "notify.position", "notify.realized_pnl", "notify.reason"),
    "bot_stopped": ("notify.bot_with_kind", *BOT, "notify.cancelled", "notify.closed", "notify.close_price",
                    "notify.close_position", "notify.emergency", "notify.held_for", "notify.run_summary"),
    "recovery_summary": (),
    "order_rejected": (*BOT, "notify.trade", "notify.trade_amount", "notify.price", "notify.role", "notify.reason"),
    "admin_alert": (*BOT, "notify.error", "notify.where"),
    "daily_summary": (),  # its own renderer: bot/notifier_digest.render_daily
}
KINDS: dict[str, str] = {kind: f"notify.{kind}.title" for kind in FORMATS}
UNKNOWN_TITLE = "notify.unknown.title"  # "{kind}"
# A payload its kind's model refuses (an older row, a hand-written one) is shown with every line that fits.
LINES = (
    "notify.bot_with_kind", "notify.bot", "notify.trade", "notify.trade_amount", "notify.price", "notify.role",
    "notify.level", "notify.stage", "notify.fee", "notify.stop_move", "notify.stop", "notify.best",
    "notify.stop_reason", "notify.position_entry", "notify.position_side_average", "notify.position", "notify.size",
    "notify.pyramid_count",
    "notify.pnl", "notify.realized_pnl", "notify.cancelled", "notify.closed", "notify.close_price",
    "notify.close_position", "notify.emergency", "notify.held_for", "notify.run_summary", "notify.reason",
    "notify.error", "notify.where", "notify.candle",
)
# Fields whose value is a code, translated through these prefixes (the raw code shows when there is no entry).
WORD_PREFIXES = {
    "side": "notify.side.", "position_side": "notify.position_side.", "role": "notify.role.",
    "reason": "notify.reason_code.", "stop_reason": "notify.reason_code.", "where": "notify.where_code.",
    "kind": "notify.kind.", "what": "notify.reason_code.",
}
FIELD_PREFIX = "notify.field."
HIDDEN = frozenset({"kind_detail"})  # repeats `role` in other words
YES, NO = "notify.yes", "notify.no"
FLAT = "notify.position_none"

_FORMATTER = string.Formatter()


def i18n_translate(i18n: I18n) -> Translate:
    """Adapts aiogram's I18n (the merged catalogues) to the renderer."""
    return lambda key, lang: i18n.gettext(key, locale=lang)


def render(kind: str, payload: Mapping[str, Any], lang: str, tr: Translate) -> str:
    """The message for one notification. Missing fields drop their line; extra fields are listed by name.
    Numbers are shown to the precision of the payload's `_market` (bot/notifier_fields.py)."""
    m = MarketNumbers.from_info(payload.get("_market"))
    hidden = HIDDEN if _is_grid_order(payload) else HIDDEN | {"level"}
    values = {
        k: _display(k, v, lang, tr, m, payload) for k, v in payload.items()
        if v is not None and not k.startswith("_") and k not in hidden and not (k == "closed" and m.is_dust(v))
    }
    used: set[str] = set()
    title = KINDS.get(kind)
    lines = [tr(title, lang) if title else tr(UNKNOWN_TITLE, lang).format(kind=kind)]
    for key in FORMATS[kind] if notices.parse(kind, dict(payload)) is not None else LINES:
        line = _fill(tr(key, lang), values, used)
        if line is not None:
            lines.append(line)
    for name, value in values.items():
        if name not in used:
            sep = "" if value.startswith("\n") else " "  # a dict's entries follow on their own lines
            lines.append(f"{_label(name, lang, tr)}:{sep}{value}")
    return "\n".join(lines)


def _is_grid_order(payload: Mapping[str, Any]) -> bool:
    """A grid order's `level` is its rung; other orders' (a HYPERRSI stage, 0 for a stop) repeat other fields."""
    role = payload.get("role")
    return not isinstance(role, str) or role.startswith("grid")


def _label(name: str, lang: str, tr: Translate) -> str:
    label = tr(FIELD_PREFIX + name, lang)
    return name if label == FIELD_PREFIX + name else label


def _fill(template: str, values: Mapping[str, str], used: set[str]) -> str | None:
    names = {name for _, name, _, _ in _FORMATTER.parse(template) if name}
    if not names <= values.keys() or names <= used:
        return None
    used.update(names)
    return template.format_map({n: values[n] for n in names})


def _display(name: str, value: Any, lang: str, tr: Translate, m: MarketNumbers, siblings: Mapping[str, Any]) -> str:
    if value is None:
        return "—"
    if name == "symbol" and isinstance(value, str):  # "BTC/USDT perpetual", as the rest of the chat says it
        return say(value, gettext=lambda key: tr(key, lang))
    prefix = WORD_PREFIXES.get(name)
    if prefix is not None and isinstance(value, str):
        word = tr(prefix + value, lang)
        return value if word == prefix + value else word
    if isinstance(value, bool):
        word = tr(YES if value else NO, lang)
        return str(value).lower() if word in (YES, NO) else word
    if name == "position" and m.is_dust(value):  # a closed position is "none", not "0.0000 BTC"
        return tr(FLAT, lang)
    if name == "held_for" and isinstance(value, int):  # seconds
        return duration(value, lang, tr)
    if name.endswith("_ts") and isinstance(value, int) and value > 10**11:  # epoch milliseconds
        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, int | float | str):
        return number(name, value, m, siblings)
    if isinstance(value, list | tuple):
        return ", ".join(number(name, v, m, siblings) if isinstance(v, int | float | str) else str(v) for v in value)
    if isinstance(value, dict):  # e.g. a note's details: one "label: value" per entry, on their own lines
        return "".join(f"\n  {_label(str(k), lang, tr)}: {_display(str(k), v, lang, tr, m, value)}"
                       for k, v in value.items() if not str(k).startswith("_"))
    return str(value)


def shown(name: str, value: Any, lang: str, tr: Translate, m: MarketNumbers) -> str:
    """One payload field's value as the notices show it (for texts built outside `render`: digests, summaries)."""
    return _display(name, value, lang, tr, m, {})


def duration(seconds: int, lang: str, tr: Translate) -> str:
    """"2 d 5 h", "3 h 12 min" or "7 min": two units at most, as people say how long something ran."""
    d, rest = divmod(seconds, 86_400)
    h, m = rest // 3600, rest % 3600 // 60
    if d:
        return tr("notify.duration.days", lang).format(d=d, h=h)
    if h:
        return tr("notify.duration.hours", lang).format(h=h, m=m)
    return tr("notify.duration.minutes", lang).format(m=m)
