"""/backtest: the bot's settings over recent replayed history in a worker thread, one progress message edited in
place, then the chart as a photo with the main metrics in the caption."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.callbacks import BotCb
from bot.settings_editor import defaults
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource
from tests.fakes.telegram_fixtures import FakeEngine

A = 1001
NOW = 1_700_000_000_000  # inside the shared BTC candles


async def test_backtest_of_a_bot_sends_chart_and_metrics(telegram_factory, shared_data):
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    api = h.api
    user = await User.create(telegram_id=A, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=defaults(BotKind.HYPERRSI) | {"timeframe": "1h", "investment": 500.0})

    await api.send_command(A, "/backtest")
    pick = await api.next_call("sendMessage", chat_id=A)
    await api.click(A, pick, pick.button_data(f"#{bot.id} HYPERRSI"))
    progress = await api.next_call("sendMessage", chat_id=A)
    assert "loading candles" in progress.text
    running = await api.next_call("editMessageText", chat_id=A, timeout=10)
    assert running.message_id == progress.message_id and "simulating 1000 candles of 1h" in running.text
    done = await api.next_call("editMessageText", chat_id=A, timeout=60)
    assert done.message_id == progress.message_id and "done (3/3)" in done.text
    photo = await api.next_call("sendPhoto", chat_id=A, timeout=10)
    assert photo.files["photo"][:8] == b"\x89PNG\r\n\x1a\n" and len(photo.files["photo"]) > 10_000
    assert f"#{bot.id} HYPERRSI BTC/USDT:USDT · 1h · 1000 candles" in photo.text
    assert "Return " in photo.text and "max drawdown" in photo.text and "Equity 500 →" in photo.text


async def test_backtest_refuses_without_history_and_others_bots(telegram_factory, shared_data):
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(1_680_307_200_000))))
    api = h.api
    user = await User.create(telegram_id=A, language="en", risk_accepted_at=datetime.now(UTC))
    other = await User.create(telegram_id=A + 1, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings=defaults(BotKind.HYPERRSI))
    await api.click(other.telegram_id, api.bot_message(other.telegram_id), BotCb(action="backtest", bot_id=bot.id).pack())
    answer = await api.next_call("answerCallbackQuery")
    assert "does not belong to you" in answer.params["text"]
    await api.click(A, api.bot_message(A), BotCb(action="backtest", bot_id=bot.id).pack())
    await api.next_call("sendMessage", chat_id=A)
    refused = await api.next_call("editMessageText", chat_id=A)
    assert "Not enough history" in refused.text
    assert not api.calls("sendPhoto")
