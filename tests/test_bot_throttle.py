"""A throttled user is told once per throttling episode, in their language: a message for messages, a popup for
buttons; never once per dropped update. A pause long enough to fill their bucket starts a new episode.

The throttle reads a clock the test moves, and the test waits for the bot to have handled every update: the counts
are exact whatever the machine's load. (On the wall clock they hung on when a loaded machine got to each update and
on fixed sleeps; one CI run saw no popup in the second episode.)"""

from __future__ import annotations

from datetime import UTC, datetime

from db.models import User
from tests.fakes.telegram_fixtures import ManualSeconds, all_handled, updates_handled

A = 811
KO = "천천히 보내 주세요: 초당 최대 2개의 메시지만 처리합니다. 무시된 메시지는 다시 보내 주세요."


async def test_a_flood_is_told_once_per_episode_in_the_users_language(telegram_factory):
    clock = ManualSeconds()
    h = await telegram_factory(throttle_rate=2.0, throttle_burst=3, throttle_clock=clock)
    api = h.api
    await User.create(telegram_id=A, language="ko", risk_accepted_at=datetime.now(UTC))
    before = updates_handled()
    for i in range(12):
        await api.send_command(A, f"/pnl {i + 1}")
    await all_handled(before, 12)
    texts = [c.text for c in api.calls("sendMessage", chat_id=A)]
    assert texts.count(KO) == 1 and len(texts) == 4, texts  # the burst answered, told once, the rest dropped

    clock.now += 1.0  # a pause shorter than burst / rate: two tokens back, the same episode
    before = updates_handled()
    for i in range(3):
        await api.send_command(A, f"/pnl {i + 1}")
    await all_handled(before, 3)
    texts = [c.text for c in api.calls("sendMessage", chat_id=A)]
    assert texts.count(KO) == 1 and len(texts) == 6, texts  # two answered, the third dropped silently

    clock.now += 1.5  # quiet for burst / rate seconds: the bucket is full, the episode is over
    before = updates_handled()
    for _ in range(12):
        await api.click(A, api.bot_message(A), "menu:status")
    await all_handled(before, 12)
    answers = api.calls("answerCallbackQuery")
    popups = [c for c in answers if c.params.get("text") == KO]
    assert len(popups) == 1 and popups[0].params.get("show_alert")
    assert len(answers) == 12  # every press answered (the dropped ones silently), none twice
    assert [c.text for c in api.calls("sendMessage", chat_id=A)].count(KO) == 1  # the popup, not another message
