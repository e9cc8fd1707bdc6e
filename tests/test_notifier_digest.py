"""A chat that is behind gets digests: a burst of 50 fills reaches the chat within 5 s through the Bot API stand-in, with
the real notifier and its real pacing, in English and Korean; merged rows are all SENT, no fill lost or told twice;
a single fill is unchanged; a close fill and the stop keep their order; a failed digest is retried whole."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.notifier_digest import render_digest
from bot.notifier_render import i18n_translate, render
from bot.pacing import PER_CHAT_RATE, Pacer
from bot.sandbox.bot_api import RateLimit
from db.enums import NotificationStatus
from db.models import Notification, User
from engine.runtime.outbox import dedup, write
from tests.test_notifier_delivery import stand_in

I18N = make_i18n()
TR = i18n_translate(I18N)
SWAP = {"base": "BTC", "quote": "USDT", "price_step": "0.1", "amount_step": "0.0001", "contract_size": "0.001"}
DIGEST = {"en": re.compile(r"^📦 (\d+) fills in one message"), "ko": re.compile(r"^📦 체결 (\d+)건을 한 메시지로")}
SINGLE = {"en": "✅ Order filled", "ko": "✅ 주문 체결"}


def fill(i: int, bot_id: int = 7, **kw) -> dict:
    """The i-th fill of a grid bot as the runtime writes it: buys on even i, sells on odd i."""
    side, role = ("buy", "grid_entry") if i % 2 == 0 else ("sell", "grid_exit")
    return {"bot_id": bot_id, "symbol": "BTC/USDT:USDT", "side": side, "role": role, "level": i % 5,
            "price": str(60_000 + 10 * i), "amount": "0.0010", "fee": "0.024", "fee_currency": "USDT",
            "pnl": "0" if side == "buy" else "0.1", "kind_detail": role, "position": "0.001" if side == "buy" else "0",
            "realized_pnl": str(Decimal("0.1") * ((i + 1) // 2)), "_market": SWAP, **kw}


def told(texts: list[str], lang: str) -> int:
    """How many fills the messages stand for: a digest its count, a fill's own message one."""
    n = 0
    for t in texts:
        m = DIGEST[lang].match(t)
        n += int(m.group(1)) if m else int(t.startswith(SINGLE[lang]))
    return n


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_a_burst_of_50_fills_reaches_the_chat_as_digests_within_5_s(db, lang):
    user = await User.create(telegram_id=9100, language=lang)
    # Telegram's own limit as the stand-in enforces it: what the pacer sends must never be refused
    async with stand_in(RateLimit(overall=30, per_chat=3)) as (api, bot):
        notifier = Notifier(bot, i18n=I18N)  # the real pacing (bot/pacing.py) and the real poll
        assert notifier.pacer.chat_interval == pytest.approx(1 / (PER_CHAT_RATE * 0.98))
        task = asyncio.create_task(notifier.run_forever())
        try:
            start = time.monotonic()
            for i in range(50):  # the fills of a fast market, written as the runtime writes them
                await write(user.id, "fill", fill(i), dedup("fill", 1, f"t{i}"))
                await asyncio.sleep(0.02)
            written = time.monotonic() - start
            while await Notification.filter(status=NotificationStatus.SENT).count() < 50:
                assert time.monotonic() - start < 15, "the burst did not get through"
                await asyncio.sleep(0.02)
            elapsed = time.monotonic() - start
        finally:
            task.cancel()
        sends = api.calls("sendMessage", chat_id=9100)
    texts = [c.text for c in sends]
    print(f"\n[{lang}] 50 fills written in {written:.2f} s reached the chat in {elapsed:.2f} s as {len(texts)} "
          f"messages ({sum(bool(DIGEST[lang].match(t)) for t in texts)} digests)")
    assert elapsed <= 5.0
    assert not api.calls("sendMessage", ok=False)  # never faster than Telegram allows
    assert 1 < len(texts) <= 8 and any(DIGEST[lang].match(t) for t in texts)
    assert told(texts, lang) == 50  # every fill told, none twice
    rows = await Notification.all()
    assert all(r.status == NotificationStatus.SENT and r.attempts == 1 and r.delivery is None and r.parts_sent == 1
               and r.claimed_by is None and r.sent_at is not None for r in rows)
    # in order: the last message tells the last fill (49, a sell at 60,490.0 that leaves the bot flat): a digest
    # ending with its position, or its own message when the notifier found it alone after the digest before it
    if DIGEST[lang].match(texts[-1]):
        last = "Position after the last one: none (flat)" if lang == "en" else "마지막 체결 후 포지션: 없음"
        assert last in texts[-1]
    else:
        assert texts[-1].startswith(SINGLE[lang]) and "60,490.0" in texts[-1], texts[-1]


@pytest.mark.parametrize("lang, lines", [
    ("en", ["📦 4 fills in one message", "Bot #7 · BTC/USDT",
            "Bought: 0.0040 BTC in 2 fills, average 64,250.0",
            "Sold: 0.0015 BTC in 2 fills, average 66,000.0",
            "Orders: grid entry × 2, grid exit × 2",
            "Realised PnL of these fills (before fees): 3.75 USDT",
            "Fees of these fills: 0.21 USDT + 0.000001 BTC",
            "Position after the last one: 0.0025 BTC",
            "Bot's realised PnL in total (before fees): 13.75 USDT"]),
    ("ko", ["📦 체결 4건을 한 메시지로", "봇 #7 · BTC/USDT",
            "매수: 2건, 0.0040 BTC, 평균 64,250.0",
            "매도: 2건, 0.0015 BTC, 평균 66,000.0",
            "주문: 그리드 진입 × 2, 그리드 청산 × 2",
            "이 체결들의 실현 손익 (수수료 차감 전): 3.75 USDT",
            "이 체결들의 수수료: 0.21 USDT + 0.000001 BTC",
            "마지막 체결 후 포지션: 0.0025 BTC",
            "봇 누적 실현 손익 (수수료 차감 전): 13.75 USDT"]),
])
async def test_a_digest_adds_up_what_it_stands_for(db, lang, lines):
    user = await User.create(telegram_id=9200, language=lang)
    buy, sell = {"side": "buy", "role": "grid_entry"}, {"side": "sell", "role": "grid_exit"}
    four = [  # by hand: bought 0.004 for 65 + 192 = 257 → 64,250; sold 0.0015 for 66 + 33 = 99 → 66,000
        fill(0, **buy, price="65000", amount="0.001", fee="0.07", pnl="0"),
        fill(1, **sell, price="66000", amount="0.001", fee="0.066", pnl="1.25"),
        fill(2, **buy, price="64000", amount="0.003", fee="0.074", pnl="0"),
        fill(3, **sell, price="66000", amount="0.0005", fee="0.000001", fee_currency="BTC", pnl="2.5",
             position="0.0025", realized_pnl="13.75"),
    ]
    for i, p in enumerate(four):
        await write(user.id, "fill", p, dedup("fill", 1, f"d{i}"))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        texts = [c.text for c in api.calls("sendMessage", chat_id=9200)]
    assert len(texts) == 1
    got = texts[0].splitlines()
    assert got[1].startswith(lines[1])  # the symbol as the chat says it (bot/notifier_render.py)
    assert got[:1] + got[2:len(lines)] == lines[:1] + lines[2:]
    assert await Notification.filter(status=NotificationStatus.SENT).count() == 4


@pytest.mark.parametrize("lang, flat, single", [("en", "Position after the last one: none (flat)",
                                                   "Position after this: none (flat)"),
                                                  ("ko", "마지막 체결 후 포지션: 없음", None)])
def test_a_digest_that_ends_flat_says_so_as_a_single_fill_does(lang, flat, single):
    # the last fill closes the position: the digest says "none", as that fill's own message would, not "0.0000 BTC"
    text = render_digest([fill(0), fill(1)], lang, TR)
    assert flat in text.splitlines(), text
    assert "0.0000" not in text
    # one buy and one sell: each told as one fill at its price, not "in 1 fills, average"
    bought = "Bought: 0.0010 BTC in one fill at 60,000.0" if lang == "en" else "매수: 1건, 0.0010 BTC, 가격 60,000.0"
    assert bought in text.splitlines(), text
    alone = render("fill", fill(1), lang, TR)
    assert (single or flat.rsplit(": ", 1)[1]) in alone, alone


async def test_a_single_fill_gets_its_own_message_unchanged(db):
    user = await User.create(telegram_id=9300, language="ko")
    await write(user.id, "fill", fill(0), dedup("fill", 1, "s0"))
    await write(user.id, "fill", fill(1, bot_id=8), dedup("fill", 1, "s1"))  # another bot's: not merged
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        texts = [c.text for c in api.calls("sendMessage", chat_id=9300)]
    assert texts == [render("fill", fill(0), "ko", TR), render("fill", fill(1, bot_id=8), "ko", TR)]


async def test_a_close_fill_and_the_stop_keep_their_order(db):
    user = await User.create(telegram_id=9400, language="en")
    close = fill(4, role="close", kind_detail="close", side="sell")
    stopped = {"bot_id": 7, "symbol": "BTC/USDT:USDT", "kind": "grid", "close_position": True, "cancelled": 3,
               "closed": "0.001", "emergency": False}
    rows = [("fill", fill(0)), ("fill", fill(1)), ("fill", fill(2, bot_id=8)), ("fill", close),
            ("bot_stopped", stopped), ("fill", fill(3))]
    for i, (kind, payload) in enumerate(rows):
        await write(user.id, kind, payload, dedup("o", i))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        texts = [c.text for c in api.calls("sendMessage", chat_id=9400)]
    assert [t.splitlines()[0] for t in texts] == ["📦 2 fills in one message", "✅ Order filled", "✅ Order filled",
                                                 "⏹ Bot stopped", "✅ Order filled"]
    assert "Bot #8" in texts[1] and "Order: close" in texts[2] and "Grid level: 3" in texts[4]


async def test_a_digest_that_fails_is_retried_whole_and_loses_nothing(db):
    user = await User.create(telegram_id=9500, language="en")
    for i in range(3):
        await write(user.id, "fill", fill(i), dedup("fill", 1, f"r{i}"))
    nowhere = Bot("42:TEST", session=AiohttpSession(api=TelegramAPIServer.from_base("http://127.0.0.1:9")))
    try:
        await Notifier(nowhere, i18n=I18N, pacer=Pacer(200, 50), backoff=60).drain_once()
    finally:
        await nowhere.session.close()
    rows = await Notification.all().order_by("id")
    assert all(r.status == NotificationStatus.PENDING and r.attempts == 1 and r.delivery is None
               and r.last_error.startswith("TelegramNetworkError") and r.next_attempt_at is not None for r in rows)
    await Notification.all().update(next_attempt_at=None)
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        texts = [c.text for c in api.calls("sendMessage", chat_id=9500)]
    assert len(texts) == 1 and texts[0].startswith("📦 3 fills")
    rows = await Notification.all()
    assert all(r.status == NotificationStatus.SENT and r.attempts == 2 and r.last_error is None for r in rows)
