"""With REDIS_URL the dialogs live in Redis: a bot restart in the middle of a dialog keeps the user's place, the key
dialog keeps only vault tokens there, never a plaintext secret, a forgotten dialog expires after a week, and one
user's updates are handled one at a time even by two dispatchers (replicas) at once."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from datetime import UTC, datetime

import redis.asyncio as aioredis
from cryptography.fernet import Fernet

from bot.app import make_bot
from bot.callbacks import AccCb, SetCb
from bot.dispatcher import FSM_TTL, build_dispatcher
from bot.sandbox.bot_api import BotAPIStandIn
from bot.settings_editor import defaults, specs
from db.config import AppConfig
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from db.vault import Vault
from tests.fakes.telegram_fixtures import FakeEngine

REDIS = "redis://127.0.0.1:6379/15"
_ids = itertools.count(1201)


async def _paper_grid_bot() -> tuple[int, StrategyBot]:
    """A new user's stopped paper GRID bot: (the user's Telegram id, the bot)."""
    u = next(_ids) * 1000 + 7
    user = await User.create(telegram_id=u, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                   settings=defaults(BotKind.GRID) | {"lower_price": 1.0, "upper_price": 2.0})
    return u, bot


async def _editing_levels(telegram_factory, u: int, bot: StrategyBot):
    """A replica on Redis on which user `u` has asked to edit the bot's levels (the dialog waits for a number)."""
    h = await telegram_factory(redis_url=REDIS)
    idx = list(specs(BotKind.GRID)).index("levels")
    await h.api.click(u, h.api.bot_message(u), SetCb(action="edit", bot_id=bot.id, idx=idx).pack())
    await h.api.next_call("editMessageText", chat_id=u, ok=None)
    return h


async def test_dialog_survives_a_restart_in_redis(telegram_factory):
    u, bot = await _paper_grid_bot()
    r = aioredis.from_url(REDIS)
    try:
        first = await _editing_levels(telegram_factory, u, bot)
        await first.stop()
        keys = await r.keys(f"fsm*:{u}:*state")
        states = [await r.get(k) for k in keys]
        assert any(b"EditSetting" in (s or b"") for s in states), states
        assert keys == [f"fsm:42:{u}:{u}:default:state".encode()]  # bot id and destiny in the key
        assert FSM_TTL.total_seconds() - 60 < await r.ttl(keys[0]) <= FSM_TTL.total_seconds()

        second = await telegram_factory(redis_url=REDIS)
        await second.api.send_message(u, "33")
        saved = await second.api.next_call("sendMessage", chat_id=u)
        assert "Levels saved" in saved.text
        await bot.refresh_from_db()
        assert bot.settings["levels"] == 33

        # the key dialog in Redis holds vault tokens only
        await second.api.click(u, second.api.bot_message(u), AccCb(action="market", value="okx.swap").pack())
        await second.api.next_call(chat_id=u)
        await second.api.send_message(u, "redisKEY-abcdefgh-12345678")
        await second.api.next_call("sendMessage", chat_id=u)
        stored = b"".join([await r.get(k) or b"" for k in await r.keys(f"fsm*:{u}:*data")])
        assert b"api_key" in stored and b"redisKEY-abcdefgh-12345678" not in stored
    finally:
        for k in await r.keys(f"fsm*:{u}:*"):
            await r.delete(k)
        await r.aclose()


async def test_one_users_updates_wait_for_each_other_across_two_dispatchers(db):
    prefix = f"fsm-iso-{uuid.uuid4().hex[:8]}"
    api = await BotAPIStandIn().start()
    bot = make_bot(AppConfig(BOT_TOKEN=api.token, TELEGRAM_API_URL=api.base_url))
    spans: list[tuple[int, float, float]] = []

    async def slow(handler, event, data):  # inside the dispatcher's per-user lock
        start = time.monotonic()
        await asyncio.sleep(0.3)
        result = await handler(event, data)
        spans.append((event.message.from_user.id, start, time.monotonic()))
        return result

    vault = Vault([Fernet.generate_key().decode()])
    dps = [build_dispatcher(vault=vault, engine=FakeEngine(), redis_url=REDIS, fsm_prefix=prefix) for _ in "ab"]
    for dp in dps:
        dp.update.outer_middleware(slow)
    ids = itertools.count(1)

    def update(user: int) -> dict:
        n = next(ids)
        return {"update_id": n, "message": {"message_id": n, "date": int(time.time()), "text": "/help",
                                            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                                            "chat": {"id": user, "type": "private", "first_name": "U"},
                                            "from": {"id": user, "is_bot": False, "first_name": "U"}}}

    u, v, w = (next(_ids) * 1000 + 7 for _ in range(3))
    try:
        # one user on both replicas at once: one after the other
        await asyncio.gather(*(dp.feed_raw_update(bot, update(u)) for dp in dps))
        (_, s1, e1), (_, s2, e2) = sorted(s for s in spans if s[0] == u)[:2]
        first, second = sorted([(s1, e1), (s2, e2)])
        assert first[1] <= second[0], spans
        # two users on the two replicas: side by side
        await asyncio.gather(dps[0].feed_raw_update(bot, update(v)), dps[1].feed_raw_update(bot, update(w)))
        (_, sv, ev), (_, sw, ew) = [s for s in spans if s[0] in (v, w)]
        assert sv < ew and sw < ev, spans
        assert len(api.calls("sendMessage")) == 4
    finally:
        r = aioredis.from_url(REDIS)
        for k in await r.keys(f"{prefix}*"):
            await r.delete(k)
        await r.aclose()
        for dp in dps:
            await dp.storage.close()
        await bot.session.close()
        await api.stop()


async def test_a_stopping_replica_finishes_the_update_in_hand(telegram_factory):
    """Polling stopped while an update is being handled (SIGTERM, a replica replaced): the update finishes, answers
    and frees the user's lock before the Redis storage and the bot's session close. Closing them under it cut a
    command in flight (seen in CI: the lock's release cut, so the user's next message on the other replica waited
    for the lock's timeout)."""
    u, bot = await _paper_grid_bot()
    r = aioredis.from_url(REDIS)
    try:
        first = await _editing_levels(telegram_factory, u, bot)
        entered, gate = asyncio.Event(), asyncio.Event()

        async def held(handler, event, data):  # inside the user's lock
            if event.message is not None and event.message.text == "33":
                entered.set()
                await gate.wait()
            return await handler(event, data)

        first.dp.update.outer_middleware(held)
        await first.api.send_message(u, "33")
        await asyncio.wait_for(entered.wait(), 10)
        stopping = asyncio.create_task(first.dp.stop_polling())  # returns once the dispatcher has stopped
        await asyncio.sleep(0.5)
        assert not stopping.done()  # polling has stopped; shutting down waits for the update in hand
        gate.set()
        await asyncio.wait_for(stopping, 5)
        assert "Levels saved" in (await first.api.next_call("sendMessage", chat_id=u, timeout=1)).text
        assert await r.keys(f"fsm*:{u}:*lock") == []

        second = await telegram_factory(redis_url=REDIS)
        await second.api.send_message(u, "/help")
        await second.api.next_call("sendMessage", chat_id=u, timeout=5)
    finally:
        for k in await r.keys(f"fsm*:{u}:*"):
            await r.delete(k)
        await r.aclose()
