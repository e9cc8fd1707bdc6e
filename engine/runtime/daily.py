"""The daily summary: after each UTC day, one notice to every user of the "daily" level with each bot's fills."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from db.enums import BotStatus, NotifyLevel, OrderSide
from db.models import Fill, StrategyBot, User
from engine.notices import DailySummary, DayOfBot
from engine.runtime.outbox import notify

DAY_MS = 86_400_000
LIVE = (BotStatus.RUNNING, BotStatus.PAUSED, BotStatus.STOPPING)


def quotes_of(symbol: str) -> set[str | None]:
    """The currencies a fee of `symbol` is counted in: its quote and settle ("BTC/USDT:USDT"), or none given."""
    rest = symbol.split("/", 1)[-1]
    return {None, "", *rest.split(":", 1)}


async def write_daily_summaries(now_ms: int) -> int:
    """The summaries of the UTC day before the one `now_ms` falls in; a user whose bots neither traded that day nor
    run gets none. Written once per user and day (a second run changes nothing); returns how many users."""
    end = now_ms - now_ms % DAY_MS
    start = end - DAY_MS
    day = datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%d")
    users = await User.filter(notify_level=NotifyLevel.DAILY, active=True).values_list("id", flat=True)
    if not users:
        return 0
    bots = {b["id"]: b for b in await StrategyBot.filter(user_id__in=users).values("id", "user_id", "symbol",
                                                                                   "status")}
    fills = await Fill.filter(order__bot_id__in=list(bots), ts__gte=start, ts__lt=end).values(
        "order__bot_id", "order__side", "amount", "fee", "fee_currency", "realized_pnl")
    days: dict[int, dict[str, Any]] = {}
    for f in fills:
        bot = bots[f["order__bot_id"]]
        d = days.setdefault(bot["id"], _empty(bot))
        d["fills"] += 1
        side = "buys" if f["order__side"] == OrderSide.BUY else "sells"
        d[side] += 1
        d["bought" if side == "buys" else "sold"] += f["amount"]
        d["realized_pnl"] += f["realized_pnl"]
        if f["fee_currency"] in quotes_of(bot["symbol"]):
            d["fees"] += f["fee"]
    for bot in bots.values():
        if bot["status"] in LIVE:
            days.setdefault(bot["id"], _empty(bot))
    per_user: dict[int, list[DayOfBot]] = defaultdict(list)
    for bot_id in sorted(days):
        per_user[bots[bot_id]["user_id"]].append(DayOfBot(**days[bot_id]))
    for user_id, of_bots in per_user.items():
        await notify(user_id, DailySummary(day=day, bots=of_bots, user_id=user_id))
    return len(per_user)


def _empty(bot: dict[str, Any]) -> dict[str, Any]:
    zero = Decimal(0)
    return {"bot_id": bot["id"], "symbol": bot["symbol"], "fills": 0, "buys": 0, "sells": 0, "bought": zero,
            "sold": zero, "realized_pnl": zero, "fees": zero}
