"""A chat that is behind gets one digest for a bot's waiting fills; the user's notification level; the daily summary.

A digest stands for every fill notice of one bot that waits in a user's claimed queue, from the first up to the next
notice of that bot that is not such a fill (a close, a stop, a note…), so a bot's notices keep their order; notices
of other bots in between do not end it. Its text is short by construction (one part), so `parts_sent` never
concerns a digest. A close fill is never merged: it comes on its own, before the bot's stopped notice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

from bot import numbers
from bot.notifier_render import FLAT, Translate, shown
from bot.numbers import MarketNumbers
from db.enums import NotifyLevel
from engine import notices

FILLS = frozenset(notices.FILL_KINDS)
CLOSE = "close"  # the role (and a grid's kind_detail) of a closing fill
MAX_MERGED = 500  # rows one digest stands for: one UPDATE of their ids
# "trades" (entries and closes) leaves out a grid's rung fills (its entries and their counter orders, the grid's
# repeated trading) and HYPERRSI's add-on entries; "daily" leaves out every fill and every stop move.
SKIPPED_ROLES = {NotifyLevel.TRADES: frozenset({"grid_entry", "grid_exit", "pyramid"})}
DAILY_SKIPS = FILLS | {"trailing_moved"}
STABLE = ("USDT", "USDC", "USD", "KRW")  # a fee in one of these is money when the market's quote is unknown


class Row(Protocol):
    kind: str
    payload: Any
    parts_sent: int


def wanted(level: str, kind: str, payload: Any) -> bool:
    """Whether a notice reaches a user of notification `level`: warnings, errors, stops and summaries always do."""
    try:
        level = NotifyLevel(level)
    except ValueError:  # a level this version does not know: everything, as before levels existed
        return True
    if level is NotifyLevel.DAILY:
        return kind not in DAILY_SKIPS
    skipped = SKIPPED_ROLES.get(level)
    if not skipped or kind not in FILLS or not isinstance(payload, dict):
        return True
    return payload.get("role") not in skipped


def _bot(row: Row) -> Any:
    return row.payload.get("bot_id") if isinstance(row.payload, dict) else None


def mergeable(row: Row) -> bool:
    """A fill notice of a bot that may go into a digest: not a close, nothing of it shown yet."""
    p = row.payload
    return (row.kind in FILLS and isinstance(p, dict) and isinstance(p.get("bot_id"), int) and row.parts_sent == 0
            and p.get("role") != CLOSE and p.get("kind_detail") != CLOSE)


def group(queue: Iterable[Row]) -> list[Row]:
    """The rows one message stands for: the queue's head, plus — when the head is a mergeable fill — every later
    mergeable fill of its bot up to that bot's next other notice."""
    rows = iter(queue)
    head = next(rows)
    if not mergeable(head):
        return [head]
    bot, out = _bot(head), [head]
    for row in rows:
        if _bot(row) != bot:
            continue
        if not mergeable(row) or len(out) >= MAX_MERGED:
            break
        out.append(row)
    return out


# ---- rendering ----

def _d(v: Any) -> Decimal:
    return numbers.to_decimal(v) or Decimal(0)


def _in_quote(currency: Any, m: MarketNumbers) -> bool:
    if not currency:
        return True
    return currency == m.quote if m.quote else currency in STABLE


def market_numbers(info: Any, symbol: Any) -> MarketNumbers:
    """The payload's `_market`, else the currencies its symbol names ("BTC/USDT:USDT": BTC and USDT)."""
    if isinstance(info, dict) and info:
        return MarketNumbers.from_info(info)
    base, _, rest = str(symbol or "").partition("/")
    return MarketNumbers(base=base if rest else None, quote=rest.split(":", 1)[0] or None)


def _bot_line(bot_id: Any, symbol: Any, lang: str, tr: Translate, m: MarketNumbers) -> str:
    return tr("notify.bot", lang).format(bot_id=bot_id, symbol=shown("symbol", symbol, lang, tr, m))


def render_digest(payloads: Sequence[Mapping[str, Any]], lang: str, tr: Translate) -> str:
    """One message for several fills of one bot (oldest first): how many, what was bought and sold (total amount,
    average price), the orders by role, their realised PnL and fees, the position after the last and the bot's
    realised PnL after the last."""
    last = payloads[-1]
    m = market_numbers(next((p["_market"] for p in reversed(payloads) if p.get("_market")), None), last.get("symbol"))
    lines = [tr("notify.digest.title", lang).format(count=len(payloads)), _bot_line(last.get("bot_id"),
                                                                                     last.get("symbol"), lang, tr, m)]
    for side, key in (("buy", "notify.digest.buys"), ("sell", "notify.digest.sells")):
        mine = [p for p in payloads if p.get("side") == side]
        amount = sum((_d(p.get("amount")) for p in mine), Decimal(0))
        if mine and amount:
            average = sum((_d(p.get("price")) * _d(p.get("amount")) for p in mine), Decimal(0)) / amount
            one = "_one" if len(mine) == 1 else ""  # "in one fill at", not "in 1 fills, average"
            lines.append(tr(key + one, lang).format(count=len(mine), amount=m.amount(amount), price=m.price(average)))
    roles = Counter(str(p.get("role")) for p in payloads if p.get("role"))
    if roles:
        words = []
        for role, n in roles.items():
            word = tr(f"notify.role.{role}", lang)
            words.append(f"{role if word == f'notify.role.{role}' else word} × {n}")
        lines.append(tr("notify.digest.orders", lang).format(orders=", ".join(words)))
    lines.append(tr("notify.digest.pnl", lang).format(pnl=m.money(sum((_d(p.get("pnl")) for p in payloads),
                                                                      Decimal(0)))))
    fees = [m.money(sum((_d(p.get("fee")) for p in payloads if _in_quote(p.get("fee_currency"), m)), Decimal(0)))]
    other: dict[str, Decimal] = {}
    for p in payloads:
        if not _in_quote(p.get("fee_currency"), m):
            other[p["fee_currency"]] = other.get(p["fee_currency"], Decimal(0)) + _d(p.get("fee"))
    fees += [f"{numbers.plain(v, numbers.FALLBACK_DECIMALS)} {cur}" for cur, v in other.items()]
    lines.append(tr("notify.digest.fees", lang).format(fees=" + ".join(fees)))
    position = last.get("position") if last.get("position") is not None else last.get("size")
    if position is not None:  # a closed position is "none", as the last fill's own message says it
        shown_position = tr(FLAT, lang) if m.is_dust(position) else m.amount(position)
        lines.append(tr("notify.digest.position", lang).format(position=shown_position))
    if last.get("realized_pnl") is not None:
        lines.append(tr("notify.realized_pnl", lang).format(realized_pnl=m.money(last["realized_pnl"])))
    lines.append(tr("notify.digest.why", lang))
    return "\n".join(lines)


def render_daily(payload: Mapping[str, Any], lang: str, tr: Translate) -> str:
    """The daily summary: the day, then each bot's fills (buys, sells), realised PnL and fees."""
    lines = [tr("notify.daily_summary.title", lang), tr("notify.daily.day", lang).format(day=payload.get("day"))]
    for b in payload.get("bots") or ():
        m = market_numbers(None, b.get("symbol"))
        lines += ["", _bot_line(b.get("bot_id"), b.get("symbol"), lang, tr, m)]
        if not b.get("fills"):
            lines.append(tr("notify.daily.no_fills", lang))
            continue
        lines.append(tr("notify.daily.fills", lang).format(fills=b["fills"], buys=b.get("buys", 0),
                                                            sells=b.get("sells", 0)))
        if _d(b.get("bought")):
            lines.append(tr("notify.daily.bought", lang).format(amount=m.amount(b["bought"])))
        if _d(b.get("sold")):
            lines.append(tr("notify.daily.sold", lang).format(amount=m.amount(b["sold"])))
        lines.append(tr("notify.daily.pnl", lang).format(pnl=m.money(b.get("realized_pnl", 0))))
        lines.append(tr("notify.daily.fees", lang).format(fees=m.money(b.get("fees", 0))))
    lines += ["", tr("notify.daily.level", lang)]
    return "\n".join(lines)
