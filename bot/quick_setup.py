"""The quick setup a new bot opens with: only what matters (GRID: range, levels, investment, leverage; HYPERRSI:
investment, leverage, direction, risk preset), each a button, then "Preview & start" or "Advanced" (every setting).

GRID's range is suggested from the last 7 days' lowest and highest price (1-hour candles, 168 of them: one request
on every venue, Upbit's 200 included): a fixed grid earns while the price swings inside its range, and the past
week's swings are the best plain guess at the next ones. Without candles it is ±10 % around the price."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.bot_card import bot_title
from bot.callbacks import BotCb, SetCb
from bot.keyboards import Keyboard
from bot.markets import last_price
from bot.services.bots import StrategyBot
from bot.settings_editor import PRESETS, BadValue, defaults, fmt_number, fmt_value, problems, specs
from db.enums import BotKind
from engine.strategies.fields import SettingSpec

log = logging.getLogger(__name__)

RANGE_TIMEFRAME, RANGE_CANDLES = "1h", 168  # the last 7 days
FETCH_TIMEOUT = 10.0
AROUND = (5, 10, 20)  # the ±% ranges offered beside the week's
FIELDS = {BotKind.GRID: ("levels", "investment", "leverage"),
          BotKind.HYPERRSI: ("investment", "leverage", "direction")}
OFFERS: dict[tuple[BotKind, str], tuple[int, ...]] = {  # values offered as buttons; any other can be typed
    (BotKind.GRID, "levels"): (10, 20, 30, 50),
    (BotKind.GRID, "investment"): (500, 1000, 2500, 5000),
    (BotKind.GRID, "leverage"): (1, 2, 3, 5),
    (BotKind.HYPERRSI, "investment"): (50, 100, 250, 500),
    (BotKind.HYPERRSI, "leverage"): (1, 3, 5, 10, 20),
}
ICONS = {"levels": "🪜", "investment": "💵", "leverage": "⚖️", "direction": "🧭"}  # as on the quick setup's lines
START_PRESET = {BotKind.HYPERRSI: "conservative"}  # a new bot starts from it: 3x with a stop, not 10x without


@dataclass(frozen=True, slots=True)
class Range:
    lower: float
    upper: float
    how: str  # "week": the last 7 days' low and high; "around": ±10 % around the price


def is_swap(b: StrategyBot) -> bool:
    return ":" in b.symbol  # ccxt's notation: a settle currency names a derivative


def quote_of(b: StrategyBot) -> str:
    return b.symbol.split("/", 1)[-1].split(":", 1)[0]


def fields(b: StrategyBot) -> tuple[str, ...]:
    """The quick setup's settings for this bot (leverage only where it exists: not on spot)."""
    return tuple(f for f in FIELDS[BotKind(b.kind)] if f != "leverage" or is_swap(b))


def index_of(kind: BotKind, name: str) -> int:
    return list(specs(kind)).index(name)


def preset_values(kind: BotKind, name: str) -> dict[str, Any]:
    """A risk preset as a whole: every setting any preset changes back to its default, then this preset's, so
    picking one after another gives that one (investment, direction and the range stay the user's)."""
    touched = {k for p in PRESETS[kind].values() for k in p}
    base = defaults(kind)
    return {k: base[k] for k in touched} | PRESETS[kind][name]


def current_preset(kind: BotKind, values: dict[str, Any]) -> str | None:
    full = defaults(kind) | values
    for name in PRESETS[kind]:
        if all(full.get(k) == v for k, v in preset_values(kind, name).items()):
            return name
    return None


def initial_values(kind: BotKind, suggested: Range | None) -> dict[str, Any]:
    values = defaults(kind)
    if kind in START_PRESET:
        values |= preset_values(kind, START_PRESET[kind])
    if suggested is not None:
        values |= {"lower_price": suggested.lower, "upper_price": suggested.upper}
    return values


def sig(x: float, digits: int = 5) -> float:
    """`x` to 5 significant digits: a price people can read, finer than any grid step."""
    if x <= 0 or not math.isfinite(x):
        return x
    return round(x, max(0, digits - 1 - math.floor(math.log10(x))))


async def _week(ex: Any, symbol: str) -> tuple[float, float] | None:
    with contextlib.suppress(Exception):
        rows = await asyncio.wait_for(ex.fetch_ohlcv(symbol, RANGE_TIMEFRAME, limit=RANGE_CANDLES), FETCH_TIMEOUT)
        if rows:
            return min(float(r[3]) for r in rows), max(float(r[2]) for r in rows)
    return None


async def suggest_range(ex: Any, symbol: str) -> tuple[Range | None, float | None]:
    """(the suggested range, the price): the week's low and high (widened to hold the price), or ±10 % around the
    price when there are no candles or they barely moved (under 2 %); (None, None) without a price."""
    price = await last_price(ex, symbol)
    if not price:
        return None, None
    week = await _week(ex, symbol)
    if week is not None:
        lo, hi = min(week[0], price), max(week[1], price)
        if hi >= lo * 1.02:
            return Range(sig(lo), sig(hi), "week"), price
    return Range(sig(price * 0.9), sig(price * 1.1), "around"), price


def around(price: float, pct: int) -> tuple[float, float]:
    return sig(price * (1 - pct / 100)), sig(price * (1 + pct / 100))


def parse_range(text: str) -> tuple[float, float]:
    """Two prices as typed ("45000 55000", "45,000 – 55,000", "45000-55000"), lower first whatever the order."""
    found = [float(x) for x in re.findall(r"\d+(?:\.\d*)?|\.\d+", text.replace(",", "").replace("_", ""))]
    if len(found) != 2 or not all(math.isfinite(x) and 0 < x <= 1e9 for x in found) or found[0] == found[1]:
        raise BadValue(_("quick.range_bad"))
    return min(found), max(found)


def _step_pct(s: dict[str, Any]) -> float | None:
    lo, hi, n = s["lower_price"], s["upper_price"], s["levels"]
    if not 0 < lo < hi or n < 2:
        return None
    if s["spacing"] == "geometric":
        return ((hi / lo) ** (1 / (n - 1)) - 1) * 100
    return (hi - lo) / (n - 1) / ((hi + lo) / 2) * 100


def _value(kind: BotKind, name: str, values: dict[str, Any]) -> str:
    spec = specs(kind)[name]
    return fmt_value(spec, values[name])


def direction_word(value: str) -> str:
    return {"long": _("quick.direction.long"), "short": _("quick.direction.short"),
            "both": _("quick.direction.both")}.get(value, value)


def preset_word(kind: BotKind, name: str | None) -> str:
    return _(f"preset.{kind.value}.{name}") if name else _("quick.risk_custom")


def quick_view(b: StrategyBot, head: str = "", note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    """The quick setup: `head` above it (e.g. "created"), `note` under the values (e.g. why this range)."""
    kind = BotKind(b.kind)
    s = defaults(kind) | b.settings
    lines = [head, ""] if head else []
    lines += [_("quick.title").format(title=bot_title(b)), ""]
    kb = Keyboard()
    if kind == BotKind.GRID:
        lines.append(_("quick.range").format(low=fmt_number(s["lower_price"]), high=fmt_number(s["upper_price"]),
                                             quote=quote_of(b)))
        step = _step_pct(s)
        lines.append(_("quick.levels_step").format(n=s["levels"], step=f"{step:.2f}") if step is not None
                     else _("quick.levels").format(n=s["levels"]))
        kb.button(text=_("quick.range_button"), callback_data=SetCb(action="qrange", bot_id=b.id))
    else:
        lines.append(_("quick.investment_first").format(amount=_value(kind, "investment", s)))
    for name in fields(b):
        if kind == BotKind.GRID and name == "investment":
            lines.append(_("quick.investment").format(amount=_value(kind, name, s)))
        elif name == "leverage":
            lines.append(_("quick.leverage").format(x=s["leverage"]))
        elif name == "direction":
            lines.append(_("quick.direction").format(direction=direction_word(s["direction"])))
        kb.button(text=f"{ICONS[name]} {_(specs(kind)[name].label_key)}",
                  callback_data=SetCb(action="qedit", bot_id=b.id, idx=index_of(kind, name)))
    if kind == BotKind.HYPERRSI:
        now = current_preset(kind, s)
        lines.append(_("quick.risk").format(preset=preset_word(kind, now)))
        for i, name in enumerate(PRESETS[kind]):
            mark = "• " if name == now else ""
            kb.button(text=mark + _(f"preset.{kind.value}.{name}"),
                      callback_data=SetCb(action="qpreset", bot_id=b.id, idx=i))
    issues = problems(kind, b.settings)
    if issues:
        lines += ["", *[f"⚠️ {p}" for p in issues]]
    if note:
        lines += ["", note]
    lines += ["", _("quick.hint")]
    kb.button(text=_("card.preview"), callback_data=BotCb(action="preview", bot_id=b.id))
    kb.button(text=_("quick.advanced"), callback_data=BotCb(action="settings", bot_id=b.id))
    k = len(fields(b))  # GRID: the range and its fields two a row; HYPERRSI: its three, then the presets two a row
    kb.adjust(*([2] * ((k + 1) // 2) + [1] * ((k + 1) % 2) if kind == BotKind.GRID else [k, 2, 2]), 1)
    return "\n".join(lines), kb.as_markup()


def range_note(r: Range) -> str:
    return _("quick.range_week") if r.how == "week" else _("quick.range_around")


def field_view(b: StrategyBot, spec: SettingSpec) -> tuple[str, InlineKeyboardMarkup]:
    """One quick setting: its explanation and current value, the usual values as buttons (numbers can be typed)."""
    kind = BotKind(b.kind)
    current = (defaults(kind) | b.settings)[spec.name]
    idx = index_of(kind, spec.name)
    kb = Keyboard()
    lines = [_(spec.label_key), _(spec.help_key), "", _("editor.current").format(value=fmt_value(spec, current))]
    if spec.kind == "choice":
        for j, choice in enumerate(spec.choices or ()):
            mark = "• " if choice == current else ""
            word = direction_word(choice) if spec.name == "direction" else choice
            kb.button(text=mark + word, callback_data=SetCb(action="qset", bot_id=b.id, idx=idx, value=str(j)))
    else:
        for v in OFFERS.get((kind, spec.name), ()):
            mark = "• " if v == current else ""
            text = f"{v}×" if spec.name == "leverage" else fmt_value(spec, v)
            kb.button(text=mark + text, callback_data=SetCb(action="qset", bot_id=b.id, idx=idx, value=str(v)))
        lines.append(_("quick.or_type"))
    kb.adjust(4)
    back = Keyboard()
    back.button(text=_("common.back"), callback_data=SetCb(action="quick", bot_id=b.id))
    kb.attach(back)
    return "\n".join(lines), kb.as_markup()


def range_view(b: StrategyBot, suggested: Range | None, price: float | None) -> tuple[str, InlineKeyboardMarkup]:
    """The range: the week's and some ±% ranges as buttons; two prices can be typed."""
    s = defaults(BotKind.GRID) | b.settings
    quote = quote_of(b)
    lines = [_("quick.range_prompt").format(low=fmt_number(s["lower_price"]), high=fmt_number(s["upper_price"]),
                                            quote=quote)]
    if price:
        lines.append(_("quick.price_now").format(price=fmt_number(sig(price, 6)), quote=quote))
    lines += ["", _("quick.range_type").format(example=f"{sig(price * 0.9, 3):g} {sig(price * 1.1, 3):g}"
                                                if price else "45000 55000")]
    kb = Keyboard()
    options: list[tuple[str, float, float]] = []
    if suggested is not None and suggested.how == "week":
        options.append((_("quick.range_week_button"), suggested.lower, suggested.upper))
    if price:
        options += [(f"±{pct} %", *around(price, pct)) for pct in AROUND]
    for label, lo, hi in options:
        kb.button(text=f"{label}: {fmt_number(lo)} – {fmt_number(hi)}",
                  callback_data=SetCb(action="qrange", bot_id=b.id, value=f"{lo:.10g}_{hi:.10g}"))
    kb.button(text=_("common.back"), callback_data=SetCb(action="quick", bot_id=b.id))
    kb.adjust(1)
    return "\n".join(lines), kb.as_markup()
