"""Admin: /stats (users, bots, today's orders and volume), /user <telegram id>, /block and /unblock."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot import numbers
from bot.account_label import account_label
from bot.ids import telegram_id
from bot.notifier_split import split_message
from bot.services import accounts, bots, users
from bot.services.users import User
from bot.symbols import say


def day_start(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def _amount(d: Decimal) -> str:
    return numbers.money(d)


async def stats(message: Message) -> None:
    start = day_start()
    st = await users.stats(start)
    volume = ", ".join(f"{_amount(v)} {q}" for q, v in sorted(st.volume.items())) or _("admin.stats.no_volume")
    text = _("admin.stats").format(
        day=start.date().isoformat(), users=st.users, active=st.active, blocked=st.blocked, new=st.new,
        running=st.running, paused=st.paused, total_bots=st.total_bots, orders=st.orders, fills=st.fills,
        volume=volume,
    )
    await message.answer(text)


async def _target(message: Message, command: CommandObject) -> tuple[int | None, User | None]:
    tg = telegram_id(command.args or "")
    if tg is None:
        await message.answer(_("admin.user.usage").format(command=f"/{command.command}"))
        return None, None
    user = await users.find(tg)
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
    had = await accounts.history(user)
    lines.append(_("admin.user.accounts").format(count=len(had)))
    for a in had:
        line = _("admin.user.paper") if a.is_paper else _("admin.user.account")
        line = line.format(label=account_label(a), exchange=a.exchange, market=a.market_type.value,
                           hint=_hint(a.key_hint))
        lines.append(line + _("admin.user.deleted") if accounts.is_deleted(a) else line)
    if not had:
        lines.append(_("admin.user.none"))
    every = await bots.every(user)
    lines.append(_("admin.user.bots").format(count=len(every)))
    for b in every:
        lines.append(_("admin.user.bot").format(id=b.id, kind=b.kind.value.upper(), symbol=say(b.symbol),
                                                status=b.status.value))
    if not every:
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
    await users.set_blocked(user, blocked, message.from_user.id if message.from_user else None)
    await message.answer(done.format(tg=tg))


async def block(message: Message, command: CommandObject, admin_ids: Iterable[int] = ()) -> None:
    await _set_blocked(message, command, True, admin_ids)


async def unblock(message: Message, command: CommandObject, admin_ids: Iterable[int] = ()) -> None:
    await _set_blocked(message, command, False, admin_ids)


def make_router() -> Router:
    router = Router(name="admin_users")
    router.message.register(stats, Command("stats"))
    router.message.register(user_card, Command("user"))
    router.message.register(block, Command("block"))
    router.message.register(unblock, Command("unblock"))
    return router
