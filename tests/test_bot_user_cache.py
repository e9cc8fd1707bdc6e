"""The in-memory User cache stays coherent: every write to a user shows on that user's very next update."""

from __future__ import annotations

import asyncio

from bot.callbacks import LangCb, MenuCb
from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.pacing import Pacer
from bot.user_cache import UserCache, forget_users
from db.models import User
from engine.runtime.outbox import dedup, write

ADMIN = 999
I18N = make_i18n()


async def test_block_and_unblock_take_effect_on_the_next_update(telegram_factory):
    h = await telegram_factory(admin_ids=[ADMIN])
    await h.accept_user(111)
    await h.accept_user(ADMIN)
    help_text = await h.reply(111, "/help")
    assert await h.reply(111, "/help") == help_text  # the row is cached now
    await h.reply(ADMIN, "/block 111")
    assert await h.reply(111, "/help") == I18N.gettext("common.blocked", locale="en")
    await h.reply(ADMIN, "/unblock 111")
    assert await h.reply(111, "/help") == help_text


async def test_a_language_change_shows_on_the_next_reply(telegram):
    api = telegram.api
    await telegram.accept_user(111)
    await api.send_command(111, "/help")
    help_msg = await api.next_call("sendMessage", chat_id=111)
    assert help_msg.text == I18N.gettext("start.help", locale="en")
    await api.click(111, help_msg, MenuCb(item="language").pack())
    choose = await api.next_call("editMessageText", chat_id=111)
    await api.click(111, choose, LangCb(code="ko").pack())
    await api.next_call("editMessageText", chat_id=111)
    await asyncio.sleep(0.05)
    api.drain()
    assert await telegram.reply(111, "/help") == I18N.gettext("start.help", locale="ko")


async def test_a_user_marked_inactive_by_the_notifier_is_active_again_when_they_write(telegram):
    api = telegram.api
    await telegram.accept_user(111)
    await telegram.reply(111, "/help")  # cached while active
    user = await User.get(telegram_id=111)
    await write(user.id, "note", {"reason": "x"}, dedup("note", 1))
    api.block(111)
    await Notifier(telegram.bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
    assert (await User.get(telegram_id=111)).active is False
    api.unblock(111)
    await telegram.reply(111, "/help")
    assert (await User.get(telegram_id=111)).active is True


async def test_the_cache_is_bounded_expires_copies_and_never_stores_a_read_that_raced_a_write(db):
    a, b = await User.create(telegram_id=1), await User.create(telegram_id=2)
    cache = UserCache(size=1, ttl=60)
    epoch = cache.epoch
    forget_users(1)  # a write lands while the row was being read
    cache.put(a, epoch)
    assert cache.get(1) is None
    cache.put(a, cache.epoch)
    copy = cache.get(1)
    assert copy is not None and copy is not a and copy.id == a.id
    copy.language = "ko"  # a handler changing its own row changes nothing for the next update
    assert cache.get(1).language == "en"
    cache.put(b, cache.epoch)  # over the bound: the least recently used row goes
    assert cache.get(1) is None and cache.get(2).id == b.id
    b.blocked = True
    await b.save(update_fields=["blocked", "updated_at"])  # any save() forgets the row
    assert cache.get(2) is None
    expired = UserCache(ttl=-1)
    expired.put(a, expired.epoch)
    assert expired.get(1) is None
