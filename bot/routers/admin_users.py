"""Admin: /stats (users, bots, today's orders and volume), /user <telegram id>, /block and /unblock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import numbers
from bot.ids import telegram_id
from bot.notifier_split import split_message
from db.enums import BotStatus
from db.models import AuditLog, ExchangeAccount, Fill, Order, StrategyBot, User

router = Router(name="admin_users")


def day_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


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


def _amount(d: Decimal) -> str:
    return numbers.money(d)


@router.message(Command("stats"))
async def stats(message: Message) -> None:
    start = day_start()
    volume = await volume_since(start)
    text = _("admin.stats").format(
        day=start.date().isoformat(),
        users=await User.all().count(),
        active=await User.filter(active=True, blocked=False).count(),
        blocked=await User.filter(blocked=True).count(),
        new=await User.filter(created_at__gte=start).count(),
        running=await StrategyBot.filter(status=BotStatus.RUNNING).count(),
        paused=await StrategyBot.filter(status=BotStatus.PAUSED).count(),
        total_bots=await StrategyBot.all().count(),
        orders=await Order.filter(created_at__gte=start).count(),
        fills=await Fill.filter(ts__gte=int(start.timestamp() * 1000)).count(),
        volume=", ".join(f"{_amount(v)} {q}" for q, v in sorted(volume.items())) or _("admin.stats.no_volume"),
    )
    await message.answer(text)


async def _target(message: Message, command: CommandObject) -> tuple[int | None, User | None]:
    tg = telegram_id(command.args or "")
    if tg is None:
        await message.answer(_("admin.user.usage").format(command=f"/{command.command}"))
        return None, None
    user = await User.get_or_none(telegram_id=tg)
    if user is None:
        await message.answer(_("admin.user.not_found").format(tg=tg))
    return tg, user


def _yes(flag: bool) -> str:
    return _("admin.yes") if flag else _("admin.no")


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if dt else "—"


def _hint(hint: str) -> str:
    """The stored hint is already masked; anything longer than a mask is masked again, never shown whole."""
    if len(hint) <= 11:
        return hint or "—"
    return f"{hint[:4]}…{hint[-4:]}"


@router.message(Command("user"))
async def user_card(message: Message, command: CommandObject) -> None:
    _tg, user = await _target(message, command)
    if user is None:
        return
    lines = [_("admin.user.profile").format(
        tg=user.telegram_id, id=user.id, name=user.first_name or "—",
        username=f"@{user.username}" if user.username else "—", language=user.language, role=user.role.value,
        active=_yes(user.active), blocked=_yes(user.blocked), risk=_when(user.risk_accepted_at),
        joined=_when(user.created_at),
    )]
    accounts = await ExchangeAccount.filter(user=user).order_by("id")
    lines.append(_("admin.user.accounts").format(count=len(accounts)))
    for a in accounts:
        line = _("admin.user.paper") if a.is_paper else _("admin.user.account")
        lines.append(line.format(label=a.label, exchange=a.exchange, market=a.market_type.value,
                                   hint=_hint(a.key_hint)))
    if not accounts:
        lines.append(_("admin.user.none"))
    bots = await StrategyBot.filter(user=user).order_by("id")
    lines.append(_("admin.user.bots").format(count=len(bots)))
    for b in bots:
        lines.append(_("admin.user.bot").format(id=b.id, kind=b.kind.value.upper(), symbol=b.symbol,
                                                status=b.status.value))
    if not bots:
        lines.append(_("admin.user.none"))
    for part in split_message("\n".join(lines)):
        await message.answer(part)


async def _set_blocked(message: Message, command: CommandObject, blocked: bool, admin_ids: Iterable[int]) -> None:
    tg, user = await _target(message, command)
    if user is None:
        return
    if blocked:
        already, done = _("admin.block.already"), _("admin.block.done")
    else:
        already, done = _("admin.unblock.already"), _("admin.unblock.done")
    if blocked and tg in admin_ids:
        await message.answer(_("admin.block.admin"))
        return
    if user.blocked == blocked:
        await message.answer(already.format(tg=tg))
        return
    user.blocked = blocked
    await user.save(update_fields=["blocked", "updated_at"])
    await AuditLog.create(
        user=user, actor_telegram_id=message.from_user.id if message.from_user else None,
        action="admin_block" if blocked else "admin_unblock", object_type="user", object_id=str(user.id),
        details={"telegram_id": tg},
    )
    await message.answer(done.format(tg=tg))


@router.message(Command("block"))
async def block(message: Message, command: CommandObject, admin_ids: Iterable[int] = ()) -> None:
    await _set_blocked(message, command, True, admin_ids)


@router.message(Command("unblock"))
async def unblock(message: Message, command: CommandObject, admin_ids: Iterable[int] = ()) -> None:
    await _set_blocked(message, command, False, admin_ids)
