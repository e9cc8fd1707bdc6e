"""Admin /broadcast: compose → preview → confirm → paced sending with progress edited in place → receipt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, MessageEntity
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.keyboards import Keyboard
from bot.pacing import Pacer, pacer_for
from bot.pacing_errors import Outcome, classify
from bot.services import users
from bot.services.users import User

log = logging.getLogger(__name__)

PROGRESS_EVERY = 3.0  # seconds between progress edits (the admin's chat has its own 1/s limit)
_running: set[asyncio.Task] = set()  # keeps background broadcasts referenced until they finish


class Broadcast(StatesGroup):
    compose = State()
    confirm = State()


class BroadcastCb(CallbackData, prefix="bcast"):
    action: str  # send, cancel


@dataclass
class Receipt:
    total: int
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    blocked_chats: list[int] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.delivered + self.blocked + self.failed

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


async def send_broadcast(
    bot: Bot,
    pacer: Pacer,
    chat_ids: Iterable[int],
    text: str,
    entities: list[MessageEntity] | None = None,
    *,
    on_progress: Callable[[Receipt], Awaitable[None]] | None = None,
    progress_every: float = PROGRESS_EVERY,
    concurrency: int = 64,
    attempts: int = 3,
) -> Receipt:
    """Send `text` once to every chat at the pacer's limit. Flood errors pause and retry the same message
    (inside the pacer); a blocked chat is counted, not retried; transient errors are retried `attempts` times."""
    queue = deque(dict.fromkeys(chat_ids))  # each chat once, in order
    receipt = Receipt(total=len(queue))

    async def one(chat: int) -> None:
        for attempt in range(attempts):
            try:
                await pacer.send(chat, lambda: bot.send_message(chat, text, entities=entities, parse_mode=None))
                receipt.delivered += 1
                return
            except Exception as e:
                failure = classify(e, bot.token)
                if failure.outcome is Outcome.BLOCKED:
                    receipt.blocked += 1
                    receipt.blocked_chats.append(chat)
                    return
                log.warning("broadcast to %s: %s", chat, failure.error)
                if failure.outcome is Outcome.FAILED:
                    break
                await asyncio.sleep(min(2.0**attempt, 10.0))
        receipt.failed += 1

    async def worker() -> None:
        while queue:
            await one(queue.popleft())

    workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, len(queue)))]
    try:
        pending = set(workers)
        while pending:
            _done, pending = await asyncio.wait(pending, timeout=progress_every)
            if pending and on_progress is not None:
                try:
                    await on_progress(receipt)
                except Exception as e:  # progress is best effort: it must never stop the sending
                    log.warning("broadcast progress not shown: %s", classify(e, bot.token).error)
        for w in workers:
            w.result()  # a bug in a worker surfaces here instead of vanishing
    finally:
        for w in workers:
            w.cancel()
    return receipt


def _keyboard() -> Any:
    kb = Keyboard()
    kb.button(text=_("admin.broadcast.send"), callback_data=BroadcastCb(action="send"))
    kb.button(text=_("admin.broadcast.cancel"), callback_data=BroadcastCb(action="cancel"))
    return kb.as_markup()


async def start(message: Message, state: FSMContext) -> None:
    await state.set_state(Broadcast.compose)
    await message.answer(_("admin.broadcast.prompt"))


async def composed(message: Message, state: FSMContext) -> None:
    entities = [e.model_dump(exclude_none=True) for e in message.entities or []]
    await state.update_data(text=message.text, entities=entities)
    await state.set_state(Broadcast.confirm)
    await message.answer(message.text or "", entities=message.entities, parse_mode=None)  # exactly as users see it
    count = len(await users.recipients())
    await message.answer(_("admin.broadcast.preview").format(count=count), reply_markup=_keyboard())


async def not_text(message: Message) -> None:
    await message.answer(_("admin.broadcast.text_only"))


async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.edit_text(_("admin.broadcast.cancelled"))


async def confirm(
    query: CallbackQuery, state: FSMContext, bot: Bot, i18n: I18n, db_user: User | None = None,
    pacer: Pacer | None = None,
) -> None:
    data = await state.get_data()
    await state.clear()  # a second press finds no confirm state: it cannot send twice
    if not isinstance(query.message, Message) or not data.get("text"):
        return
    recipients = await users.recipients()
    if not recipients:
        await query.message.edit_text(_("admin.broadcast.nobody"))
        return
    entities = [MessageEntity(**e) for e in data.get("entities") or []]
    status = query.message
    lang = db_user.language if db_user is not None else i18n.default_locale
    task = asyncio.create_task(_run(
        bot, pacer or pacer_for(bot), i18n, lang, status.chat.id, status.message_id, recipients, data["text"],
        entities, query.from_user.id,
    ))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _run(
    bot: Bot, pacer: Pacer, i18n: I18n, lang: str, chat_id: int, message_id: int, recipients: list[int], text: str,
    entities: list[MessageEntity], admin_tg: int,
) -> None:
    async def show(key: str, r: Receipt) -> None:
        body = i18n.gettext(key, locale=lang).format(
            done=r.done, total=r.total, delivered=r.delivered, blocked=r.blocked, failed=r.failed,
            seconds=f"{r.seconds:.0f}",
        )
        try:
            await pacer.send(chat_id, lambda: bot.edit_message_text(body, chat_id=chat_id, message_id=message_id))
        except Exception as e:  # "not modified", the message is gone, the network: progress is best effort
            log.info("broadcast progress not shown: %s", classify(e, bot.token).error)

    await show("admin.broadcast.progress", Receipt(total=len(recipients)))
    try:
        receipt = await send_broadcast(bot, pacer, recipients, text, entities or None,
                                       on_progress=lambda r: show("admin.broadcast.progress", r))
    except Exception:
        log.exception("broadcast failed")
        raise
    await users.broadcast_sent(admin_tg, receipt.blocked_chats,
                               {"recipients": receipt.total, "delivered": receipt.delivered, "blocked": receipt.blocked,
                                "failed": receipt.failed, "chars": len(text)})
    await show("admin.broadcast.done", receipt)  # the receipt is also in the audit log


def make_router() -> Router:
    router = Router(name="admin_broadcast")
    router.message.register(start, Command("broadcast"))
    router.message.register(composed, StateFilter(Broadcast.compose), F.text, ~F.text.startswith("/"))
    router.message.register(not_text, StateFilter(Broadcast.compose), ~F.text.startswith("/"))
    router.callback_query.register(cancel, StateFilter(Broadcast.confirm), BroadcastCb.filter(F.action == "cancel"))
    router.callback_query.register(confirm, StateFilter(Broadcast.confirm), BroadcastCb.filter(F.action == "send"))
    return router
