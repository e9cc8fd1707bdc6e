"""Safety of the chat: errors answered with an id that is in the log, per-user throttling, blocked users refused,
admin commands indistinguishable from unknown ones for everybody else, /stopall confirmation."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime

from bot.callbacks import BotCb
from db.enums import BotKind, BotStatus, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from tests.fakes.telegram_fixtures import FakeControl, FakeEngine, ManualSeconds, all_handled, updates_handled

A, B = 801, 802


async def _user(tg_id: int, **kw) -> User:
    return await User.create(telegram_id=tg_id, language=kw.pop("language", "en"), risk_accepted_at=datetime.now(UTC),
                             **kw)


async def _bot(user: User, status: BotStatus, symbol: str = "BTC/USDT:USDT") -> StrategyBot:
    from bot.settings_editor import defaults

    acc = await ExchangeAccount.get_or_none(user=user) or await ExchangeAccount.create(
        user=user, exchange="paper", market_type=MarketType.SWAP, label="paper-swap", is_paper=True,
        paper_balances={"USDT": "10000"})
    settings = defaults(BotKind.GRID) | {"lower_price": 40000.0, "upper_price": 60000.0}
    return await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol=symbol, settings=settings,
                                    status=status)


class ExplodingControl(FakeControl):
    async def start_bot(self, user_id: int, bot_id: int) -> None:
        raise RuntimeError("database exploded")


async def test_a_failing_handler_apologises_with_the_logged_error_id(telegram_factory, caplog):
    h = await telegram_factory(engine=FakeEngine(control=ExplodingControl()))
    user = await _user(A, language="ko")
    bot = await _bot(user, BotStatus.DRAFT)
    with caplog.at_level(logging.ERROR, logger="bot.errors"):
        await h.api.click(A, h.api.bot_message(A), BotCb(action="start", bot_id=bot.id).pack())
        apology = await h.api.next_call("sendMessage", chat_id=A)
    assert "죄송합니다" in apology.text
    error_id = re.search(r"([0-9A-F]{8})$", apology.text).group(1)
    record = next(r for r in caplog.records if error_id in r.getMessage())
    assert record.exc_info and "database exploded" in str(record.exc_info[1])
    assert "database exploded" not in apology.text


async def test_per_user_throttling_drops_a_flood_but_not_other_users(telegram_factory):
    clock = ManualSeconds()  # the throttle's seconds move when the test says so: exact counts on a loaded machine
    h = await telegram_factory(throttle_rate=2.0, throttle_burst=5, throttle_clock=clock)
    await _user(A)
    await _user(B)
    before = updates_handled()
    for i in range(20):
        await h.api.send_command(A, f"/pnl {i + 1}")
    await h.api.send_command(B, "/pnl")
    await h.api.next_call("sendMessage", chat_id=B)
    await all_handled(before, 21)
    texts = [c.text for c in h.api.calls("sendMessage", chat_id=A)]
    told = [t for t in texts if t.startswith("Slow down")]
    assert told == ["Slow down: I handle at most 2 messages a second from you; repeat what was dropped."]  # once
    assert len(texts) - 1 == 5, texts  # the burst; the other 15 dropped
    clock.now += 0.6
    await h.api.send_command(A, "/pnl")  # a token came back
    await h.api.next_call("sendMessage", chat_id=A, text_contains="last 7 day")


async def test_blocked_users_are_refused(telegram):
    await _user(A, blocked=True)
    await telegram.api.send_command(A, "/status")
    reply = await telegram.api.next_call("sendMessage", chat_id=A)
    assert "suspended" in reply.text
    await telegram.api.click(A, telegram.api.bot_message(A), "menu:status")
    answer = await telegram.api.next_call("answerCallbackQuery")
    assert "suspended" in answer.params["text"]


async def test_admin_commands_are_unknown_commands_for_others(telegram_factory):
    h = await telegram_factory(admin_ids=[999_999])
    await _user(A)
    await h.api.send_command(A, "/definitelynotacommand")
    unknown = (await h.api.next_call("sendMessage", chat_id=A)).text
    for cmd in ("/broadcast", "/stats", "/user 1", "/block 802", "/unblock 802"):
        await h.api.send_command(A, cmd)
        reply = await h.api.next_call("sendMessage", chat_id=A)
        assert reply.text == unknown, cmd
    assert not (await User.get(telegram_id=A)).blocked


async def test_stopall_asks_then_stops_only_the_callers_bots(telegram):
    api = telegram.api
    a = await _user(A)
    b = await _user(B)
    mine = [await _bot(a, BotStatus.RUNNING), await _bot(a, BotStatus.PAUSED, "ETH/USDT:USDT")]
    other = await _bot(b, BotStatus.RUNNING)
    await api.send_command(A, "/stopall")
    ask = await api.next_call("sendMessage", chat_id=A)
    assert "Stop all 2 running bot(s)?" in ask.text
    await api.click(A, ask, ask.button_data("No"))
    await api.next_call("editMessageText", chat_id=A)
    assert telegram.engine.control.calls == []
    await api.send_command(A, "/stopall")
    ask = await api.next_call("sendMessage", chat_id=A)
    await api.click(A, ask, ask.button_data("close positions"))
    done = await api.next_call("editMessageText", chat_id=A)
    assert "Stopped 2 bot(s)" in done.text
    assert telegram.engine.control.calls == [("stop_all", a.id, True)]
    for bot in mine:
        await bot.refresh_from_db()
        assert bot.status == BotStatus.STOPPED
    await other.refresh_from_db()
    assert other.status == BotStatus.RUNNING


async def test_pause_resume_and_stop_with_close(telegram):
    api = telegram.api
    user = await _user(A)
    bot = await _bot(user, BotStatus.RUNNING)
    msg = api.bot_message(A)
    await api.click(A, msg, BotCb(action="pause", bot_id=bot.id).pack())
    card = await api.next_call(chat_id=A)
    assert "State: paused" in card.text
    await api.click(A, card, card.button_data("Resume"))
    card = await api.next_call("editMessageText", chat_id=A)
    assert "State: running" in card.text
    await asyncio.sleep(0.05)
    api.drain()
    await api.click(A, card, BotCb(action="resume", bot_id=bot.id).pack())  # a stale button: already running
    answer = await api.next_call("answerCallbackQuery")
    assert "no longer valid" in answer.params["text"]
    await api.click(A, card, card.button_data("Stop"))
    ask = await api.next_call("editMessageText", chat_id=A)
    await api.click(A, ask, ask.button_data("close the position"))
    card = await api.next_call("editMessageText", chat_id=A)
    assert "State: stopped" in card.text
    assert [c[0] for c in telegram.engine.control.calls] == ["pause_bot", "resume_bot", "stop_bot"]
    assert telegram.engine.control.calls[-1][-1] is True
