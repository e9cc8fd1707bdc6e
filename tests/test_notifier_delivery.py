"""The notifier delivering the outbox over real HTTP to the Bot API stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.i18n import make_i18n
from bot.notifier import RECOVERED, Notifier
from bot.pacing import Pacer
from bot.sandbox.bot_api import BotAPIStandIn, RateLimit
from db.enums import Delivery, NotificationStatus
from db.models import Notification, User
from engine.runtime.outbox import dedup, write

I18N = make_i18n()

FILL = {"bot_id": 3, "symbol": "BTC/USDT", "side": "buy", "role": "grid_entry", "level": 4, "price": "65000.50",
        "amount": "0.0010", "fee": "0.05", "fee_currency": "USDT", "pnl": "0"}


@contextlib.asynccontextmanager
async def stand_in(rate_limit: RateLimit | None = None, token: str = "42:TEST"):
    api = await BotAPIStandIn(rate_limit=rate_limit, token=token).start()
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.base_url)))
    try:
        yield api, bot
    finally:
        await bot.session.close()
        await api.stop()


def fast_pacer(**kw) -> Pacer:
    return Pacer(kw.pop("rate", 200), kw.pop("per_chat", 50), **kw)


async def user(tg: int, lang: str = "en", **kw) -> User:
    return await User.create(telegram_id=tg, language=lang, **kw)


async def test_each_pending_notification_is_delivered_once_in_the_users_language(db):
    en, ko = await user(1001, "en"), await user(1002, "ko")
    await write(en.id, "fill", FILL, dedup("fill", 1, "t1"))
    await write(ko.id, "fill", FILL, dedup("fill", 1, "t2"))
    await write(ko.id, "order_rejected", {"bot_id": 3, "symbol": "BTC/USDT", "reason": "insufficient_funds",
                                           "role": "entry", "side": "sell", "amount": "1", "price": None},
                 dedup("rejected", "c1"))
    await write(en.id, "brand_new_kind", {"symbol": "ETH/USDT", "detail": "something new"}, dedup("new", 1))
    later = await Notification.create(user=en, kind="note", payload={"reason": "x"}, dedup_key="later",
                                      next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
    async with stand_in() as (api, bot):
        notifier = Notifier(bot, i18n=I18N, pacer=fast_pacer(), batch=3)  # two claims in one drain
        assert await notifier.drain_once() == 4
        assert await notifier.drain_once() == 0  # nothing twice
        sends = api.calls("sendMessage")
        assert Counter(c.chat_id for c in sends) == {1001: 2, 1002: 2}
        en_texts = [c.text for c in sends if c.chat_id == 1001]
        ko_texts = [c.text for c in sends if c.chat_id == 1002]
        assert en_texts[0].startswith("✅ Order filled") and "Buy 0.001 @ 65,000.5" in en_texts[0]
        assert "Event: brand_new_kind" in en_texts[1] and "something new" in en_texts[1]
        assert ko_texts[0].startswith("✅ 주문 체결") and "매수 0.001 @ 65,000.5" in ko_texts[0]
        assert "잔고 부족" in ko_texts[1] and "매도 1" in ko_texts[1]
    rows = await Notification.exclude(id=later.id)
    assert all(r.status == NotificationStatus.SENT and r.sent_at and r.attempts == 1 and r.last_error is None
               and r.delivery is None and r.claimed_by is None and r.parts_sent == 1 for r in rows)
    await later.refresh_from_db()
    assert later.status == NotificationStatus.PENDING and later.attempts == 0


async def test_a_long_message_is_split_at_line_boundaries_in_order(db):
    u = await user(2001)
    details = "\n".join(f"order {i:04d} adopted at 65000.{i:04d}" for i in range(400))
    await write(u.id, "recovery_summary", {"details": details}, dedup("rec", 1))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=fast_pacer()).drain_once()
        parts = [c.text for c in api.calls("sendMessage", chat_id=2001)]
    assert len(parts) >= 4
    assert all(len(p) <= 4096 for p in parts)
    joined = "\n".join(parts)
    assert joined.startswith("🔄 Recovered after restart")
    assert details in joined  # every line, whole and in order
    row = await Notification.get(user=u)
    assert row.status == NotificationStatus.SENT


async def test_a_user_who_blocked_the_bot_becomes_inactive_and_their_notifications_are_dropped(db):
    gone, stays = await user(3001), await user(3002)
    for i in range(3):  # fills of three bots: each its own message (one bot's would merge into a digest)
        await write(gone.id, "fill", {**FILL, "bot_id": i}, dedup("fill", "g", i))
        await write(stays.id, "fill", {**FILL, "bot_id": i}, dedup("fill", "s", i))
    async with stand_in() as (api, bot):
        api.block(3001)
        await Notifier(bot, i18n=I18N, pacer=fast_pacer()).drain_once()
        assert len(api.calls("sendMessage", chat_id=3001, ok=False)) == 1  # tried once, then stopped writing
        assert len(api.calls("sendMessage", chat_id=3002, ok=True)) == 3
    await gone.refresh_from_db()
    assert gone.active is False
    assert set(await Notification.filter(user=gone).values_list("status", flat=True)) == {NotificationStatus.DROPPED}
    assert set(await Notification.filter(user=stays).values_list("status", flat=True)) == {NotificationStatus.SENT}
    # later notifications of the inactive user are dropped without a call
    await write(gone.id, "note", {"reason": "later"}, dedup("note", 9))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=fast_pacer()).drain_once()
        assert api.calls("sendMessage") == []
    assert (await Notification.get(dedup_key="note:9")).status == NotificationStatus.DROPPED


async def test_retry_after_pauses_everything_and_loses_nothing(db):
    users = [await user(4000 + i) for i in range(4)]
    for u in users:
        for i in range(3):
            await write(u.id, "note", {"reason": f"r{i}"}, dedup("note", u.id, i))
    # the pacer allows a burst of 3 per chat; the stand-in allows 1 per second per chat: it must answer 429
    async with stand_in(RateLimit(overall=30, per_chat=1, retry_after=1)) as (api, bot):
        pacer = Pacer(30, 1, chat_burst=3)
        await Notifier(bot, i18n=I18N, pacer=pacer).drain_once()
        refused = api.calls("sendMessage", ok=False)
        ok = api.calls("sendMessage", ok=True)
    assert refused and all(c.error_code == 429 for c in refused)
    assert pacer.pauses >= 1
    for r in refused:  # after a 429 nobody was sent anything before retry_after passed
        assert not [c for c in ok if r.ts < c.ts < r.ts + 0.95]
    texts = Counter((c.chat_id, c.text) for c in ok)
    assert len(texts) == 12 and set(texts.values()) == {1}  # every one, once
    assert await Notification.filter(status=NotificationStatus.SENT).count() == 12


async def test_transient_errors_back_off_then_fail_and_never_store_the_token(db):
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    u = await user(5001)
    await write(u.id, "fill", FILL, dedup("fill", "x", 1))
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))  # nothing there
    try:
        notifier = Notifier(bot, i18n=I18N, pacer=fast_pacer(), max_attempts=3, backoff=60)
        await notifier.drain_once()
        row = await Notification.get(user=u)
        assert row.status == NotificationStatus.PENDING and row.attempts == 1
        assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=50)
        assert row.last_error.startswith("TelegramNetworkError") and token not in row.last_error
        assert row.delivery is None and row.claimed_by is None  # handed back: no notifier holds it
        assert await notifier.drain_once() == 0  # not due yet
        notifier.backoff = 0
        await Notification.filter(id=row.id).update(next_attempt_at=None)
        await notifier.drain_once()
        await notifier.drain_once()
        await row.refresh_from_db()
        assert row.status == NotificationStatus.FAILED and row.attempts == 3
        assert "123456789" not in row.last_error
    finally:
        await bot.session.close()


async def test_a_crash_mid_drain_loses_nothing_after_a_restart(db):
    users = [await user(6000 + i, "ko" if i % 2 else "en") for i in range(10)]
    for u in users:
        for i in range(4):
            await write(u.id, "note", {"reason": f"n{i}", "user": u.id}, dedup("note", u.id, i))
    async with stand_in() as (api, bot):
        first = Notifier(bot, i18n=I18N, pacer=Pacer(40, 4, chat_burst=1), poll=0.05, stop_grace=0)  # a crash
        task = asyncio.create_task(first.run_forever())
        for _ in range(200):  # until some are sent (some claimed, some being sent): a loaded machine is slower
            await asyncio.sleep(0.05)
            if len(api.calls("sendMessage")) >= 3:
                break
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        before = len(api.calls("sendMessage"))
        pending = Notification.filter(status=NotificationStatus.PENDING)
        in_flight = await pending.filter(delivery=Delivery.SENDING).count()
        held = await pending.filter(delivery__isnull=False).count()
        assert 0 < before < 40
        assert await pending.filter(delivery__isnull=False, claimed_by__isnull=True).count() == 0  # whose they are
        second = Notifier(bot, i18n=I18N, pacer=fast_pacer())
        assert await second.recover() == held > 0
        assert await Notification.filter(last_error=RECOVERED).count() == in_flight
        assert await Notification.filter(delivery__isnull=False).count() == 0  # nobody holds a row now
        await second.drain_once()
        sends = api.calls("sendMessage")
    counts = Counter((c.chat_id, c.text) for c in sends)
    assert len(counts) == 40  # every notification arrived
    assert sum(counts.values()) - 40 <= in_flight  # only those caught mid-send may arrive twice
    assert await Notification.filter(status=NotificationStatus.SENT).count() == 40


async def test_run_forever_delivers_rows_written_while_it_runs(db):
    u = await user(7001, "ko")
    async with stand_in() as (api, bot):
        task = asyncio.create_task(Notifier(bot, i18n=I18N, pacer=fast_pacer(), poll=0.05).run_forever())
        try:
            await write(u.id, "bot_stopped", {"bot_id": 9, "symbol": "ETH/USDT", "reason": "user"},
                         dedup("stopped", 9))
            call = await api.next_call("sendMessage", chat_id=7001, timeout=5)
            assert call.text.startswith("⏹ 봇 중지") and "사용자가 중지함" in call.text
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.mark.parametrize("kind", ["entry", "take_profit", "stop_loss", "trailing_moved", "bot_error",
                                  "recovery_summary", "bot_stopped", "grid_stopped", "note"])
def test_every_runtime_kind_has_its_own_title_in_both_languages(kind):
    from bot.notifier_render import i18n_translate, render

    tr = i18n_translate(I18N)
    payload = {"bot_id": 1, "symbol": "BTC/USDT", "price": "1.50", "stop": "1.2", "reason": "why"}
    en, ko = render(kind, payload, "en", tr), render(kind, payload, "ko", tr)
    assert not en.startswith("notify.") and not ko.startswith("notify.")
    assert en.splitlines()[0] != ko.splitlines()[0]
    assert "Event:" not in en


async def test_an_expired_lease_under_a_long_queue_never_queues_a_row_twice(db):
    u = await user(8001)
    for i in range(5):
        await write(u.id, "note", {"reason": f"n{i}"}, dedup("note", "lease", i))
    async with stand_in() as (api, bot):
        # lease 0: every claimed row is due again at once while it waits for its chat's 1 s spacing
        notifier = Notifier(bot, i18n=I18N, pacer=Pacer(100, 8, chat_burst=1), lease=0, poll=0.02)
        task = asyncio.create_task(notifier.run_forever())
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if await Notification.filter(status=NotificationStatus.SENT).count() == 5:
                    break
            await asyncio.sleep(0.6)  # time enough for any second copy to go out
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        texts = [c.text for c in api.calls("sendMessage", chat_id=8001)]
    assert len(texts) == 5 and len(set(texts)) == 5


async def test_a_payload_the_renderer_chokes_on_still_reaches_the_user(db):
    u = await user(8101)
    await write(u.id, "fill", FILL, dedup("fill", "choke", 1))

    def broken(key: str, lang: str) -> str:
        raise KeyError(key)

    async with stand_in() as (api, bot):
        await Notifier(bot, translate=broken, pacer=fast_pacer()).drain_once()
        (call,) = api.calls("sendMessage", chat_id=8101)
    assert call.text.startswith("fill: ") and "65000.50" in call.text
    assert (await Notification.get(user=u)).status == NotificationStatus.SENT


async def test_a_split_message_interrupted_mid_way_resumes_without_repeating_parts(db):
    from aiogram.exceptions import TelegramNetworkError
    from aiogram.methods import SendMessage

    u = await user(8201)
    details = "\n".join(f"line {i:04d} " + "x" * 60 for i in range(200))  # about four parts
    await write(u.id, "recovery_summary", {"details": details}, dedup("rec", "resume"))
    async with stand_in() as (api, bot):
        notifier = Notifier(bot, i18n=I18N, pacer=fast_pacer(), backoff=0)
        real_send, calls = notifier._send, []

        async def flaky(chat_id: int, text: str) -> None:
            calls.append(text)
            if len(calls) == 2:  # the second part times out once
                raise TelegramNetworkError(SendMessage(chat_id=chat_id, text=text), "timeout")
            await real_send(chat_id, text)

        notifier._send = flaky
        await notifier.drain_once()
        parts = [c.text for c in api.calls("sendMessage", chat_id=8201)]
    row = await Notification.get(user=u)
    assert row.status == NotificationStatus.SENT and row.attempts == 2
    assert row.parts_sent == len(parts) and row.delivery is None and row.claimed_by is None
    assert len(parts) == len(set(parts)) >= 3  # each part once: the retry started at the failed part
    assert details in "\n".join(parts)


async def test_fills_are_never_queued_behind_a_pile_of_warnings(db):
    """Seen: 22 fill notices waited behind 22,615 rejection notices. Fills are claimed and sent first."""
    u = await user(1301)
    for i in range(300):
        await write(u.id, "order_rejected", {"bot_id": 3, "reason": "insufficient_funds"}, dedup("rj", i))
    await write(u.id, "fill", FILL, dedup("fill", 1, "late"))
    async with stand_in() as (api, bot):
        n = Notifier(bot, i18n=I18N, pacer=fast_pacer(), batch=50)
        await n.drain_once()
        first = await api.next_call("sendMessage", chat_id=1301, timeout=10)
    assert first.text.startswith("✅"), first.text  # the fill, although 300 warnings are older


async def test_a_stop_lets_the_message_being_sent_finish_and_books_it_once(db):
    """SIGTERM while Telegram is answering a send: the stop waits for that answer and marks the row SENT, so the
    next notifier does not send it again; rows still queued go back to the outbox unsent."""
    u = await user(8301)
    for i in range(3):
        await write(u.id, "note", {"reason": f"n{i}"}, dedup("note", "stop", i))
    async with stand_in() as (api, bot):
        notifier = Notifier(bot, i18n=I18N, pacer=Pacer(50, 0.5, chat_burst=1), poll=0.05)
        task = asyncio.create_task(notifier.run_forever())
        api.listeners.append(lambda call: call.method == "sendMessage" and task.cancel())  # stop while it is sent
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        api.listeners.clear()
        assert len(api.calls("sendMessage")) == 1
        first = await Notification.filter(user=u).order_by("id").first()
        assert first.status == NotificationStatus.SENT and first.delivery is None
        assert await Notification.filter(status=NotificationStatus.PENDING, delivery=Delivery.SENDING).count() == 0
        second = Notifier(bot, i18n=I18N, pacer=fast_pacer())
        await second.recover()
        await second.drain_once()
        texts = [c.text for c in api.calls("sendMessage", chat_id=8301)]
    assert len(texts) == len(set(texts)) == 3
    assert await Notification.filter(last_error=RECOVERED).count() == 0
