"""People: language, risk, notification level; what admins do (statistics, finding, blocking, broadcast recipients)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tortoise.transactions import in_transaction

from bot.services import audit
from bot.user_cache import forget_users
from db.enums import BotStatus, NotifyLevel
from db.models import Fill, Order, StrategyBot, User

__all__ = ["NotifyLevel", "Stats", "User", "accept_risk", "broadcast_sent", "find", "recipients", "set_blocked",
           "set_language", "set_notify_level", "stats"]


async def set_language(user: User, code: str) -> None:
    user.language = code
    await user.save(update_fields=["language", "updated_at"])


async def set_notify_level(user: User, level: NotifyLevel) -> None:
    """How much of their bots' trading the user is told from now on (bot/notifier_digest.py applies it)."""
    if user.notify_level == level:
        return
    async with in_transaction():
        user.notify_level = level
        await user.save(update_fields=["notify_level", "updated_at"])
        await audit.record(user, "notify_level", "user", user.id, {"level": level.value})
    forget_users(user.telegram_id)  # again after the commit: a cache may have read the row while it was open


async def accept_risk(user: User) -> None:
    """The risk notice accepted, once (a second press changes nothing)."""
    if user.risk_accepted_at is not None:
        return
    async with in_transaction():
        user.risk_accepted_at = datetime.now(UTC)
        await user.save(update_fields=["risk_accepted_at", "updated_at"])
        await audit.record(user, "risk_accepted", "user", user.id)
    forget_users(user.telegram_id)  # again after the commit: a cache may have read the row while it was open


async def find(telegram_id: int) -> User | None:
    return await User.get_or_none(telegram_id=telegram_id)


async def set_blocked(user: User, blocked: bool, actor_telegram_id: int | None) -> None:
    """An admin blocks or unblocks `user`."""
    async with in_transaction():
        user.blocked = blocked
        await user.save(update_fields=["blocked", "updated_at"])
        await audit.record(user, "admin_block" if blocked else "admin_unblock", "user", user.id,
                           {"telegram_id": user.telegram_id}, actor_telegram_id=actor_telegram_id)
    forget_users(user.telegram_id)  # again after the commit: a cache may have read the row while it was open


async def recipients() -> list[int]:
    """The Telegram ids of everyone a broadcast reaches: active, not blocked, oldest first."""
    return list(await User.filter(active=True, blocked=False).order_by("id").values_list("telegram_id", flat=True))


async def broadcast_sent(admin_telegram_id: int, blocked: list[int], receipt: dict) -> None:
    """A broadcast's receipt in the audit trail, and the people who blocked the bot marked inactive (no further
    broadcasts until they write again), in one transaction."""
    async with in_transaction():
        if blocked:
            await User.filter(telegram_id__in=blocked).update(active=False)
        await audit.record(None, "admin_broadcast", "broadcast", None, receipt, actor_telegram_id=admin_telegram_id)
    if blocked:
        forget_users(*blocked)


@dataclass(frozen=True)
class Stats:
    users: int
    active: int
    blocked: int
    new: int
    running: int
    paused: int
    total_bots: int
    orders: int
    fills: int
    volume: dict[str, Decimal]  # traded notional per quote currency


def quote_of(symbol: str) -> str:
    """"BTC/USDT:USDT" -> "USDT" (the currency a fill's price is in)."""
    return symbol.split("/", 1)[-1].split(":", 1)[0] if "/" in symbol else symbol


async def volume_since(start: datetime) -> dict[str, Decimal]:
    """Traded notional (price × amount) per quote currency of the fills executed since `start`."""
    since_ms = int(start.timestamp() * 1000)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    rows = await Fill.filter(ts__gte=since_ms).values_list("price", "amount", "order__symbol")
    for price, amount, symbol in rows:
        totals[quote_of(symbol)] += Decimal(price) * Decimal(amount)
    return dict(totals)


async def stats(start: datetime) -> Stats:
    """People, bots, and the orders and fills since `start`."""
    return Stats(
        users=await User.all().count(),
        active=await User.filter(active=True, blocked=False).count(),
        blocked=await User.filter(blocked=True).count(),
        new=await User.filter(created_at__gte=start).count(),
        running=await StrategyBot.filter(status=BotStatus.RUNNING).count(),
        paused=await StrategyBot.filter(status=BotStatus.PAUSED).count(),
        total_bots=await StrategyBot.all().count(),
        orders=await Order.filter(created_at__gte=start).count(),
        fills=await Fill.filter(ts__gte=int(start.timestamp() * 1000)).count(),
        volume=await volume_since(start),
    )
