"""With REDIS_URL the dialogs live in Redis: a bot restart in the middle of a dialog keeps the user's place, and the
key dialog keeps only vault tokens there, never a plaintext secret."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import redis.asyncio as aioredis

from bot.callbacks import AccCb, SetCb
from bot.settings_editor import defaults, specs
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User

REDIS = "redis://127.0.0.1:6379/15"
_ids = itertools.count(1201)


async def test_dialog_survives_a_restart_in_redis(telegram_factory):
    u = next(_ids) * 1000 + 7
    user = await User.create(telegram_id=u, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                   settings=defaults(BotKind.GRID) | {"lower_price": 1.0, "upper_price": 2.0})
    r = aioredis.from_url(REDIS)
    try:
        first = await telegram_factory(redis_url=REDIS)
        idx = list(specs(BotKind.GRID)).index("levels")
        await first.api.click(u, first.api.bot_message(u), SetCb(action="edit", bot_id=bot.id, idx=idx).pack())
        await first.api.next_call("editMessageText", chat_id=u, ok=None)
        await first.stop()
        states = [await r.get(k) for k in await r.keys(f"fsm*:{u}:*state")]
        assert any(b"EditSetting" in (s or b"") for s in states), states

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
