"""The notification level: what each level lets through the notifier, the daily summary the engine's daily job
writes (and how it reads in English and Korean), and /notifications through the Bot API stand-in."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from bot.i18n import make_i18n
from bot.notifier import Notifier
from bot.pacing import Pacer
from db.enums import BotKind, BotStatus, MarketType, NotificationStatus, NotifyLevel, OrderRole, OrderSide, OrderType
from db.models import ExchangeAccount, Fill, Notification, Order, StrategyBot, User
from engine.market.clock import ManualClock
from engine.runtime.daily import DAY_MS
from engine.runtime.outbox import dedup, write
from engine.runtime.schedule import Jobs
from tests.test_notifier_delivery import stand_in

I18N = make_i18n()
BASE = {"symbol": "BTC/USDT:USDT", "price": "60000", "amount": "0.001", "fee": "0.02", "fee_currency": "USDT",
        "pnl": "0"}
# (kind, payload, what it is): every bot its own, so that no digest merges them
NOTICES = [
    ("fill", {**BASE, "side": "buy", "role": "grid_entry", "level": 2}, "grid rung entry"),
    ("fill", {**BASE, "side": "sell", "role": "grid_exit", "level": 2}, "grid counter fill"),
    ("entry", {**BASE, "side": "buy", "role": "pyramid"}, "add-on entry"),
    ("entry", {**BASE, "side": "buy", "role": "entry"}, "entry"),
    ("take_profit", {**BASE, "side": "sell", "role": "tp", "stage": 1}, "take-profit"),
    ("stop_loss", {**BASE, "side": "sell", "role": "sl", "stop_reason": "sl"}, "stop-loss"),
    ("fill", {**BASE, "side": "sell", "role": "close", "kind_detail": "close"}, "close"),
    ("trailing_moved", {"symbol": "S", "stop": 59000.0, "candle_ts": 1}, "stop moved"),
    ("note", {"symbol": "S", "reason": "below_minimum", "details": {}, "candle_ts": 1}, "warning"),
    ("bot_error", {"symbol": "S", "error": "boom", "where": "candle"}, "error"),
    ("order_rejected", {"symbol": "S", "reason": "insufficient_funds", "role": "entry", "side": "buy",
                        "amount": "1", "attempts": 1, "retry_in_s": 5}, "refusal"),
    ("grid_stopped", {"symbol": "S", "reason": "grid_stop_loss", "position": "0", "realized_pnl": "1",
                      "fees": "0.1"}, "grid stop"),
    ("bot_stopped", {"symbol": "S", "kind": "grid", "close_position": True, "cancelled": 1, "closed": "0",
                     "emergency": False}, "stop"),
]
SKIPPED = {
    NotifyLevel.ALL: set(),
    NotifyLevel.TRADES: {"grid rung entry", "grid counter fill", "add-on entry"},
    NotifyLevel.DAILY: {"grid rung entry", "grid counter fill", "add-on entry", "entry", "take-profit", "stop-loss",
                        "close", "stop moved"},
}


@pytest.mark.parametrize("level", list(NotifyLevel))
async def test_each_level_lets_through_what_it_promises(db, level):
    user = await User.create(telegram_id=9600, language="en", notify_level=level)
    for i, (kind, payload, _) in enumerate(NOTICES):
        await write(user.id, kind, {"bot_id": 100 + i, **payload}, dedup("lvl", i))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        sent_bots = [int(re.search(r"[Bb]ot #(\d+)", c.text).group(1)) for c in api.calls("sendMessage", chat_id=9600)]
    told = {NOTICES[b - 100][2] for b in sent_bots}
    assert told == {what for _, _, what in NOTICES} - SKIPPED[level]
    assert len(sent_bots) == len(told)
    dropped = await Notification.filter(status=NotificationStatus.DROPPED)
    assert len(dropped) == len(SKIPPED[level])
    assert all(r.last_error == f"below the notification level {level.value}" and r.attempts == 0 for r in dropped)
    assert await Notification.filter(status=NotificationStatus.PENDING).count() == 0


# ---- the daily summary ----

DAY = int(datetime(2026, 12, 3, tzinfo=UTC).timestamp() * 1000)


async def _bot_with_fills(user: User, fills: list[tuple[int, str, str, str, str, str | None, str]],
                          status: BotStatus = BotStatus.RUNNING) -> StrategyBot:
    """fills: (ts, side, price, amount, fee, fee currency, realised pnl)."""
    acc = await ExchangeAccount.get_or_none(user=user) or await ExchangeAccount.create(
        user=user, exchange="paper", market_type=MarketType.SWAP, label="paper", is_paper=True)
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT", settings={},
                                   status=status)
    for i, (ts, side, price, amount, fee, currency, pnl) in enumerate(fills):
        order = await Order.create(bot=bot, account=acc, client_order_id=f"c{bot.id}-{i}", symbol=bot.symbol,
                                   role=OrderRole.GRID_ENTRY if side == "buy" else OrderRole.GRID_EXIT,
                                   side=OrderSide(side), type=OrderType.LIMIT, price=Decimal(price),
                                   amount=Decimal(amount))
        await Fill.create(order=order, account=acc, trade_id=f"t{bot.id}-{i}", price=Decimal(price),
                          amount=Decimal(amount), fee=Decimal(fee), fee_currency=currency,
                          realized_pnl=Decimal(pnl), ts=ts)
    return bot


@pytest.mark.parametrize("lang, expected", [
    ("en", ["🗓 Daily summary", "Day: 2026-12-03 (UTC)", "", "Bot #{a}", "Fills: 3 (buys 1, sells 2)",
            "Bought: 0.002 BTC", "Sold: 0.002 BTC", "Realised PnL (before fees): 3.00 USDT", "Fees: 0.08 USDT", "",
            "Bot #{b}", "No fills.", "",
            "You get one summary a day instead of every fill; /notifications changes that."]),
    ("ko", ["🗓 일일 요약", "날짜: 2026-12-03 (UTC)", "", "봇 #{a}", "체결: 3건 (매수 1, 매도 2)",
            "매수량: 0.002 BTC", "매도량: 0.002 BTC", "실현 손익 (수수료 차감 전): 3.00 USDT", "수수료: 0.08 USDT", "",
            "봇 #{b}", "체결 없음.", "",
            "체결마다 알리는 대신 하루 한 번 요약을 보냅니다. /notifications 에서 바꿀 수 있습니다."]),
])
async def test_the_daily_job_sums_each_bots_day_for_daily_users_only(db, lang, expected):
    daily = await User.create(telegram_id=9700, language=lang, notify_level=NotifyLevel.DAILY)
    every = await User.create(telegram_id=9701, language=lang)
    traded = await _bot_with_fills(daily, [
        (DAY - 1, "buy", "59000", "0.5", "9", "USDT", "0"),  # the day before: not in it
        (DAY + 1_000, "buy", "60000", "0.002", "0.05", "USDT", "0"),
        (DAY + 3_600_000, "sell", "61000", "0.001", "0.03", "USDT", "1"),
        (DAY + DAY_MS - 1, "sell", "62000", "0.001", "0.00001", "BTC", "2"),  # a fee in the coin: not money
        (DAY + DAY_MS, "sell", "63000", "0.001", "5", "USDT", "7"),  # the next day: not in it
    ])
    quiet = await _bot_with_fills(daily, [])  # running, no fills: listed as such
    await _bot_with_fills(daily, [], BotStatus.STOPPED)  # stopped, no fills that day: not listed
    await _bot_with_fills(every, [(DAY + 1_000, "buy", "60000", "0.002", "0.05", "USDT", "0")])
    await _bot_with_fills(every, [(DAY + 1_000, "buy", "60000", "0.002", "0.05", "USDT", "0")])
    jobs = Jobs(SimpleNamespace(), None, None, None, None, ManualClock(DAY + DAY_MS + 300_000))
    await jobs.daily_summaries()
    await jobs.daily_summaries()  # a second run (a restart, a late misfire) writes nothing more
    rows = await Notification.all()
    assert [(r.user_id, r.kind, r.dedup_key) for r in rows] == [(daily.id, "daily_summary",  # type: ignore[attr-defined]
                                                                  f"daily:{daily.id}:2026-12-03")]
    day = rows[0].payload["bots"][0]
    assert (day["fills"], day["buys"], day["sells"]) == (3, 1, 2)
    assert (Decimal(day["bought"]), Decimal(day["sold"])) == (Decimal("0.002"), Decimal("0.002"))
    assert (Decimal(day["realized_pnl"]), Decimal(day["fees"])) == (Decimal(3), Decimal("0.08"))
    async with stand_in() as (api, bot):
        await Notifier(bot, i18n=I18N, pacer=Pacer(200, 50)).drain_once()
        text = api.calls("sendMessage", chat_id=9700)[0].text
    lines = text.splitlines()
    want = [w.format(a=traded.id, b=quiet.id) for w in expected]
    assert len(lines) == len(want)
    for got, line in zip(lines, want, strict=True):
        assert got.startswith(line) if line.startswith(("Bot #", "봇 #")) else got == line, (got, line)


async def test_the_daily_job_runs_at_five_past_midnight_utc_on_a_live_clock(db):
    async def nothing() -> None:
        return None

    registry = SimpleNamespace(timeframes=set)
    jobs = Jobs(registry, None, SimpleNamespace(supervise=nothing), None, SimpleNamespace(reconcile_all=nothing),
                ManualClock(0), grid_interval_s=3600)
    jobs.start()
    try:
        job = jobs.scheduler.get_job("daily_summary")
        assert job is not None and job.coalesce and job.max_instances == 1
        fire = job.trigger.get_next_fire_time(None, datetime(2026, 12, 3, 13, 0, tzinfo=UTC))
        assert fire == datetime(2026, 12, 4, 0, 5, tzinfo=UTC)
    finally:
        await jobs.shutdown()


# ---- /notifications ----

WORDS = {
    "en": {"now": "Now: {}", "all": "Every fill", "trades": "Entries and closes", "daily": "Daily summary only",
           "saved": "Notifications: {}", "always": "Warnings, errors and stops always come."},
    "ko": {"now": "현재: {}", "all": "모든 체결", "trades": "진입과 청산", "daily": "일일 요약만",
           "saved": "알림: {}", "always": "경고, 오류, 중지는 항상 알려 드립니다."},
}


@pytest.mark.parametrize("lang", ["en", "ko"])
async def test_the_user_picks_the_level_in_the_chat(telegram, lang):
    api, w = telegram.api, WORDS[lang]
    await telegram.accept_user(9800, lang)
    await api.send_command(9800, "/notifications")
    menu = await api.next_call("sendMessage", chat_id=9800)
    assert w["always"] in menu.text and menu.text.endswith(w["now"].format(w["all"]))
    assert [t for t, _ in menu.buttons()] == ["✅ " + w["all"], w["trades"], w["daily"]]
    for level in ("trades", "daily", "all"):
        await api.click(9800, menu, menu.button_data(w[level]))
        menu = await api.next_call("editMessageText", chat_id=9800)
        answer = await api.next_call("answerCallbackQuery")
        assert answer.params["text"] == w["saved"].format(w[level])
        assert menu.text.endswith(w["now"].format(w[level]))
        assert [t for t, _ in menu.buttons() if t.startswith("✅ ")] == ["✅ " + w[level]]
        assert (await User.get(telegram_id=9800)).notify_level == NotifyLevel(level)
    await api.send_command(9800, "/notifications")  # read back from the database
    again = await api.next_call("sendMessage", chat_id=9800)
    assert again.text.endswith(w["now"].format(w["all"]))


async def test_a_forged_level_changes_nothing(telegram):
    await telegram.accept_user(9801)
    await telegram.api.click(9801, telegram.api.bot_message(9801), "nlvl:everything")
    answer = await telegram.api.next_call("answerCallbackQuery")
    assert answer.params.get("show_alert") and (await User.get(telegram_id=9801)).notify_level == NotifyLevel.ALL
    await asyncio.sleep(0)
