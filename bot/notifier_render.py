"""Renders one outbox notification as chat text in the user's language; an unknown kind is shown generically."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from aiogram.utils.i18n import I18n

Translate = Callable[[str, str], str]  # (message key, language) -> text; the key itself when missing

# Each kind has a title; the body lines are shared: a line shows when every field it names is in the payload and
# at least one of them is not shown yet. Payload fields no line names are listed after them by name, so nothing
# the engine reports is ever hidden.
KINDS: dict[str, str] = {
    kind: f"notify.{kind}.title"
    for kind in (
        "fill", "order_rejected", "entry", "take_profit", "stop_loss", "trailing_moved", "bot_error",
        "recovery_summary", "bot_stopped", "grid_stopped", "note",
    )
}
UNKNOWN_TITLE = "notify.unknown.title"  # "{kind}"
LINES = (
    "notify.bot", "notify.trade", "notify.trade_amount", "notify.price", "notify.role", "notify.level",
    "notify.stage", "notify.fee", "notify.stop", "notify.best", "notify.pnl", "notify.reason", "notify.error",
)
# Fields whose value is a code, translated through these prefixes (the raw code shows when there is no entry).
WORD_PREFIXES = {"side": "notify.side.", "role": "notify.role.", "reason": "notify.reason_code."}
FIELD_PREFIX = "notify.field."

_FORMATTER = string.Formatter()


def i18n_translate(i18n: I18n) -> Translate:
    """Adapts aiogram's I18n (the merged catalogues) to the renderer."""
    return lambda key, lang: i18n.gettext(key, locale=lang)


def render(kind: str, payload: Mapping[str, Any], lang: str, tr: Translate) -> str:
    """The message for one notification. Missing fields drop their line; extra fields are listed by name."""
    values = {k: _display(k, v, lang, tr) for k, v in payload.items() if v is not None and not k.startswith("_")}
    used: set[str] = set()
    title = KINDS.get(kind)
    lines = [tr(title, lang) if title else tr(UNKNOWN_TITLE, lang).format(kind=kind)]
    for key in LINES:
        line = _fill(tr(key, lang), values, used)
        if line is not None:
            lines.append(line)
    for name, value in values.items():
        if name not in used:
            label = tr(FIELD_PREFIX + name, lang)
            lines.append(f"{name if label == FIELD_PREFIX + name else label}: {value}")
    return "\n".join(lines)


def _fill(template: str, values: Mapping[str, str], used: set[str]) -> str | None:
    names = {name for _, name, _, _ in _FORMATTER.parse(template) if name}
    if not names <= values.keys() or names <= used:
        return None
    used.update(names)
    return template.format_map({n: values[n] for n in names})


def _display(name: str, value: Any, lang: str, tr: Translate) -> str:
    prefix = WORD_PREFIXES.get(name)
    if prefix is not None and isinstance(value, str):
        word = tr(prefix + value, lang)
        return value if word == prefix + value else word
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | str):
        return _number(value)
    if isinstance(value, list | tuple):
        return ", ".join(_number(v) if isinstance(v, int | float | str) else str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)


def _number(value: int | float | str) -> str:
    """Decimal strings without trailing zeros ("0.500000" -> "0.5"); anything else unchanged."""
    if isinstance(value, int):
        return str(value)
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not d.is_finite():
        return str(value)
    return format(d.normalize(), "f")
