"""/broadcast end to end through real polling, and the paced sender against a stand-in answering 429 above 30/s."""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.pacing import Pacer
from bot.routers.admin_broadcast import send_broadcast
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from db.models import AuditLog, User

ADMIN = 999


@contextlib.asynccontextmanager
async def stand_in(rate_limit: RateLimit | None):
    api = await BotAPIStandIn(rate_limit=rate_limit).start()
    bot = Bot(api.token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        yield api, bot
    finally:
        await bot.session.close()
        await api.stop()


async def test_broadcast_compose_preview_confirm_progress_receipt(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN], rate_limit=RateLimit(overall=30, per_chat=5))
    api = h.api
    await h.accept_user(ADMIN)
    now = datetime.now(UTC)
    for i in range(40):
        await User.create(telegram_id=10_000 + i, risk_accepted_at=now)
    await User.create(telegram_id=20_001, active=False)  # blocked the bot earlier: not even tried
    await User.create(telegram_id=20_002, blocked=True)  # blocked by an admin: not a recipient
    api.block(10_005)  # blocks the bot now: counted, then marked unreachable

    await api.send_command(ADMIN, "/broadcast")
    assert "📣" in (await api.next_call("sendMessage", chat_id=ADMIN)).text
    text = "Maintenance tonight 02:00 UTC. Your bots keep running."
    await api.send_message(ADMIN, text)
    preview = await api.next_call("sendMessage", chat_id=ADMIN)
    assert preview.text == text
    confirm = await api.next_call("sendMessage", chat_id=ADMIN)
    assert "41 users" in confirm.text  # 40 + the admin; not the inactive nor the admin-blocked one
    assert api.calls("sendMessage", chat_id=10_000) == []  # nothing sent before the confirmation

    await api.click(ADMIN, confirm, confirm.button_data("Send"))
    first = await api.next_call("editMessageText", chat_id=ADMIN)
    assert first.message_id == confirm.message_id and "Sending" in first.text
    done = await api.next_call("editMessageText", chat_id=ADMIN, text_contains="finished", timeout=30)
    assert done.message_id == confirm.message_id  # progress and receipt edited in place, one message
    assert re.search(r"Delivered: 40\b", done.text) and "Blocked the bot: 1" in done.text
    assert "Failed: 0" in done.text

    sent = Counter(c.chat_id for c in api.calls("sendMessage", ok=True) if c.text == text)
    assert sent == Counter({**{10_000 + i: 1 for i in range(40) if i != 5}, ADMIN: 2})  # the admin: preview too
    assert not api.calls("sendMessage", chat_id=20_001) and not api.calls("sendMessage", chat_id=20_002)
    assert not (await User.get(telegram_id=10_005)).active
    audit = await AuditLog.get(action="admin_broadcast")
    assert audit.actor_telegram_id == ADMIN
    assert audit.details == {"recipients": 41, "delivered": 40, "blocked": 1, "failed": 0, "chars": len(text)}

    # a second press of the stale confirm button sends nothing again
    api.drain()
    await api.click(ADMIN, confirm, confirm.button_data("Send"))
    await api.next_call("answerCallbackQuery", chat_id=None)
    await api.no_call("sendMessage", wait=0.5)


async def test_broadcast_can_be_cancelled_and_takes_only_text(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    api = h.api
    await h.accept_user(ADMIN, "ko")
    await User.create(telegram_id=10_000)
    await api.send_command(ADMIN, "/broadcast")
    await api.next_call("sendMessage", chat_id=ADMIN)
    await api.inject({"message": {"message_id": 500, "date": 0, "chat": {"id": ADMIN, "type": "private"},
                                  "from": {"id": ADMIN, "is_bot": False, "first_name": "A"},
                                  "sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular",
                                              "width": 1, "height": 1, "is_animated": False, "is_video": False}}})
    assert "텍스트만" in (await api.next_call("sendMessage", chat_id=ADMIN)).text  # the dialog stays
    await api.send_message(ADMIN, "공지 테스트")
    await api.next_call("sendMessage", chat_id=ADMIN)
    confirm = await api.next_call("sendMessage", chat_id=ADMIN)
    await api.click(ADMIN, confirm, confirm.button_data("취소"))
    assert "취소" in (await api.next_call("editMessageText", chat_id=ADMIN)).text
    await api.no_call("sendMessage", chat_id=10_000, wait=0.5)


async def test_broadcast_to_2000_users_at_the_limit_all_delivered_none_twice():
    chats = list(range(1_000_000, 1_002_000))
    async with stand_in(RateLimit(overall=30, per_chat=1)) as (api, bot):
        api.block(chats[7])
        receipt = await send_broadcast(bot, Pacer(), chats, "Hello from TradingBoost")
        ok = api.calls("sendMessage", ok=True)
        refused = api.calls("sendMessage", ok=False)
    per_chat = Counter(c.chat_id for c in ok)
    assert receipt.delivered == 1999 and receipt.blocked == 1 and receipt.failed == 0
    assert receipt.blocked_chats == [chats[7]]
    assert set(per_chat) == set(chats) - {chats[7]} and set(per_chat.values()) == {1}
    assert [(c.chat_id, c.error_code) for c in refused] == [(chats[7], 403)]  # paced: never a 429
    rate = len(ok) / (ok[-1].ts - ok[0].ts)
    assert 30 * 0.9 <= rate <= 30  # close to the limit, never above it


async def test_broadcast_survives_429s_from_a_too_fast_pacer_without_duplicates():
    chats = list(range(2_000_000, 2_000_150))
    async with stand_in(RateLimit(overall=30, per_chat=1, retry_after=1)) as (api, bot):
        pacer = Pacer(rate=60, headroom=1.0)  # deliberately twice the limit: the stand-in must push back
        seen: list[tuple[int, int]] = []

        async def progress(r):
            seen.append((r.done, r.delivered))

        receipt = await send_broadcast(bot, pacer, chats, "ping", on_progress=progress, progress_every=0.5)
        refused = api.calls("sendMessage", ok=False)
        ok = api.calls("sendMessage", ok=True)
    assert refused and {c.error_code for c in refused} == {429}
    assert pacer.pauses >= 1
    assert receipt.delivered == 150 and receipt.failed == 0
    assert Counter(c.chat_id for c in ok) == Counter(chats)  # every chat exactly once
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1][0] < 150  # progress while sending, growing


async def test_a_failing_progress_display_never_stops_the_sending():
    chats = list(range(3_000_000, 3_000_040))
    async with stand_in(None) as (api, bot):
        shown = []

        async def broken(r):
            shown.append(r.done)
            raise ConnectionError("progress edit failed")

        receipt = await send_broadcast(bot, Pacer(rate=100, headroom=1.0), chats, "x", on_progress=broken,
                                       progress_every=0.05)
        assert len(api.calls("sendMessage", ok=True)) == 40
    assert shown and receipt.delivered == 40 and receipt.failed == 0
