"""/why in words: a bot's situation now and its last decisions (signals, the rule that fired or blocked, the orders).

The records are the engine's (engine/strategies/decisions.py), kept in the bot's state by the runtime. Prices are
shown to the market's tick, amounts to its lot with the coin, money with the quote currency, RSI to one decimal;
times in UTC. A rule code reads `why.rule.<code>`, else the note's words `notify.reason_code.<code>`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from bot.notifier_split import utf16_len
from bot.numbers import MarketNumbers, fixed, plain
from db.enums import BotKind

BUDGET = 3800  # UTF-16 units of one message (Telegram takes 4,096): older decisions are left out past it
ORDERS_SHOWN = 3  # orders per decision; the rest are counted
TREND = {-2: "strong_down", -1: "down", 0: "none", 1: "up", 2: "strong_up"}
PRICES = frozenset({"stop", "previous", "add_at", "price", "lo", "hi", "centre", "low", "high", "lowest",
                    "highest", "lower", "upper"})
AMOUNTS = frozenset({"amount", "min_amount"})
MONEY = frozenset({"cost", "min_cost"})


class _Values(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _word(key: str, fallback: str) -> str:
    text = _(key)
    return fallback if text == key else text


def _trend(v: Any) -> str:
    return _word(f"why.trend.{TREND.get(v, 'none')}", str(v)) if isinstance(v, int) else "?"


def _value(key: str, v: Any, nums: MarketNumbers) -> str:
    if v is None:
        return "—"
    if key in PRICES:
        return nums.price(v)
    if key in AMOUNTS:
        return nums.amount(v)
    if key in MONEY:
        return nums.money(v)
    if key in ("trend", "adx"):
        return _trend(v)
    if key == "side":
        return _word(f"why.side.{v}", str(v))
    if key == "role":
        return _word(f"notify.role.{v}", str(v))
    if key == "reason":
        return _word(f"notify.reason_code.{v}", str(v))
    return plain(v) if isinstance(v, int | float) else str(v)


def rule_text(code: str, details: dict[str, Any], nums: MarketNumbers) -> str:
    values = _Values({k: _value(k, v, nums) for k, v in details.items()})
    if code == "no_signal":
        values["wants"] = _wants(details, nums)
    template = _(f"why.rule.{code}")
    if template == f"why.rule.{code}":  # a note of the strategy's: its notice's words
        return "⚠️ " + _word(f"notify.reason_code.{code}", code)
    return template.format_map(values)


def _wants(d: dict[str, Any], nums: MarketNumbers) -> str:
    mode, direction = d.get("mode", "threshold"), d.get("direction", "both")
    sides = [s for s in ("long", "short") if direction in (s, "both")]
    return _("why.wants.join").join(
        _word(f"why.wants.{s}.{mode}", s).format(lo=plain(d.get("oversold")), hi=plain(d.get("overbought")))
        for s in sides)


def order_text(order: list, nums: MarketNumbers) -> str:
    kind, role, side, amount, price = (list(order) + [None] * 5)[:5]
    values = _Values(side=_word(f"why.side.{side}", str(side)), amount=nums.amount(amount, down=True),
                     price=nums.price(price), role=_word(f"notify.role.{role}", str(role)))
    if kind in ("open", "add", "close"):
        return _("why.order.market").format_map(values)
    if kind == "move_stop":
        return _("why.order.move").format_map(values)
    if kind == "cancel":
        return _("why.order.cancel").format_map(values)
    return _("why.order.place").format_map(values)


def _time(ts: Any) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%m-%d %H:%M") if isinstance(ts, int) else "?"


def _rsi(v: Any) -> str:
    return fixed(v, 1) if isinstance(v, int | float) and math.isfinite(v) else "—"


def signals_text(kind: BotKind, rec: dict[str, Any], nums: MarketNumbers) -> str:
    sig = rec.get("sig") or {}
    close = nums.price(rec.get("close"))
    close = f"{close} {nums.quote}" if nums.quote else close
    if kind == BotKind.HYPERRSI:
        return _("why.sig.hyperrsi").format(time=_time(rec.get("ts")), close=close, rsi=_rsi(sig.get("rsi")),
                                            prev=_rsi(sig.get("rsi_prev")), trend=_trend(sig.get("trend")))
    parts = [_("why.sig.grid").format(time=_time(rec.get("ts")), close=close, lo=_value("lo", sig.get("lo"), nums),
                                      hi=_value("hi", sig.get("hi"), nums))]
    if sig.get("gate"):
        parts.append(_("why.sig.adx").format(adx=_trend(sig.get("adx"))))
    if sig.get("centre") is not None:
        parts.append(_("why.sig.centre").format(centre=nums.price(sig["centre"])))
    return " · ".join(parts)


def record_lines(kind: BotKind, rec: dict[str, Any], nums: MarketNumbers) -> list[str]:
    lines = [signals_text(kind, rec, nums)]
    for code, details in rec.get("rules") or []:
        lines.append("  " + rule_text(code, details or {}, nums))
    orders = rec.get("orders") or []
    for o in orders[:ORDERS_SHOWN]:
        lines.append("    " + order_text(o, nums))
    more = len(orders) - ORDERS_SHOWN + int(rec.get("more") or 0)
    if more > 0:
        lines.append("    " + _("why.order.more").format(n=more))
    return lines


def situation(b: Any, nums: MarketNumbers) -> list[str]:
    """The bot now, from its strategy's `why` (nothing when its settings or state cannot be read)."""
    from engine.runtime.codec import grid_from_json, hyperrsi_from_json
    from engine.strategies import grid_why, hyperrsi
    from engine.strategies.grid_settings import GridSettings
    from engine.strategies.hyperrsi_settings import HyperRsiSettings

    raw = (b.state or {}).get("strategy")
    try:
        if b.kind == BotKind.HYPERRSI:
            s = HyperRsiSettings(**(b.settings or {}))
            return _hyperrsi_now(hyperrsi.why(s, hyperrsi_from_json(raw)), s, nums)
        s = GridSettings(**(b.settings or {}))
        return _grid_now(grid_why.why(s, grid_from_json(raw)), nums)
    except (ValidationError, TypeError, ValueError):
        return []


def _hyperrsi_now(info: dict[str, Any], s: Any, nums: MarketNumbers) -> list[str]:
    if info["pending"]:
        return [_("why.now.pending")]
    if info["side"] == "flat":
        return [_("why.now.flat")]
    lines = [_("why.now.position").format(side=_value("side", info["side"], nums), size=nums.amount(info["size"]),
                                          average=nums.price(info["average"]))]
    if s.pyramiding_enabled:
        key = "why.now.adds_next" if "next_add_at" in info else "why.now.adds"
        lines.append(_(key).format(n=info["pyramids"], limit=s.pyramiding_limit,
                                   price=nums.price(info.get("next_add_at"))))
    tps = [f"{nums.price(p)} ({nums.amount(a)})" for reason, p, a in info["resting"] if reason.startswith("tp")]
    if tps:
        lines.append(_("why.now.tps").format(orders=", ".join(tps)))
    if info["stop"] is not None:
        lines.append(_("why.now.stop").format(stop=nums.price(info["stop"]),
                                              reason=_value("reason", info["stop_reason"], nums)))
    return lines


def _grid_now(info: dict[str, Any], nums: MarketNumbers) -> list[str]:
    if not info["planned"]:
        return [_("why.now.grid_unplanned")]
    if info["stopped"]:
        return [_("why.now.grid_stopped").format(reason=_value("reason", info["stopped"], nums))]
    states = info["states"]
    lines = [_("why.now.grid").format(levels=info["levels"], lo=nums.price(info["lo"]), hi=nums.price(info["hi"]),
                                      entries=states.get("entry_placed", 0),
                                      holding=states.get("exit_placed", 0) + states.get("entry_filled", 0))]
    if info["position"]:
        side = "long" if info["position"] > 0 else "short"
        lines.append(_("why.now.position").format(side=_value("side", side, nums),
                                                  size=nums.amount(abs(info["position"])),
                                                  average=nums.price(info["average"])))
    lines.append(_("why.now.gate_on").format(threshold=plain(info["adx_threshold"])) if info["adx_gate"]
                 else _("why.now.gate_off"))
    if info["trailing"]:
        lines.append(_("why.now.trailing").format(
            directions=", ".join(_word(f"why.trailing.{d}", d) for d in info["trailing"])))
    if "centre" in info:
        lines.append(_("why.now.centre").format(centre=nums.price(info["centre"]), n=info["recentre_every"]))
    return lines


def why_text(b: Any, nums: MarketNumbers, title: str) -> str:
    """The whole /why message of bot row `b` (its kind, settings, state and decisions), within one message's
    length."""
    kind = BotKind(b.kind)
    timeframe = (b.settings or {}).get("timeframe") or "?"
    head = [_("why.title").format(title=title), *situation(b, nums), ""]
    records = [r for r in reversed(b.decisions or []) if isinstance(r, dict)]
    if not records:
        return "\n".join([*head, _("why.none").format(timeframe=timeframe)])
    head.append(_("why.candles").format(n=len(records), timeframe=timeframe))
    lines, used = head, utf16_len("\n".join(head))
    for i, rec in enumerate(records):
        block = record_lines(kind, rec, nums)
        size = utf16_len("\n".join(block)) + 2
        if used + size > BUDGET and i:
            lines.append(_("why.cut").format(n=len(records) - i))
            break
        lines += ["", *block]
        used += size
    return "\n".join(lines)
