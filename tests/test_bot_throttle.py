"""A throttled user is told once per throttling episode, in their language: a message for messages, a popup for
buttons; never once per dropped update. A pause long enough to fill their bucket starts a new episode."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from db.models import User

A = 811
KO = "천천히 보내 주세요: 초당 최대 2개의 메시지만 처리합니다. 무시된 메시지는 다시 보내 주세요."


async def test_a_flood_is_told_once_per_episode_in_the_users_language(telegram_factory):
    h = await telegram_factory(throttle_rate=2.0, throttle_burst=3)
    api = h.api
    await User.create(telegram_id=A, language="ko", risk_accepted_at=datetime.now(UTC))
    for i in range(12):
        await api.send_command(A, f"/pnl {i + 1}")
    await asyncio.sleep(0.8)
    texts = [c.text for c in api.calls("sendMessage", chat_id=A)]
    assert texts.count(KO) == 1 and 3 <= len(texts) - 1 <= 5, texts  # told once; the burst and a refill answered

    await asyncio.sleep(1.6)  # quiet for burst / rate seconds: the episode is over
    for _ in range(12):
        await api.click(A, api.bot_message(A), "menu:status")
    await asyncio.sleep(0.8)
    answers = api.calls("answerCallbackQuery")
    popups = [c for c in answers if c.params.get("text") == KO]
    assert len(popups) == 1 and popups[0].params.get("show_alert")
    assert len(answers) == 12  # every press answered (the dropped ones silently), none twice
    assert [c.text for c in api.calls("sendMessage", chat_id=A)].count(KO) == 1  # the popup, not another message
