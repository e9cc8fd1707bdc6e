"""/backtest: the bot's settings over recent replayed history in a worker thread, one progress message edited in
place, then the chart as a photo with the main metrics in the caption."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.callbacks import BotCb
from bot.settings_editor import defaults
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource
from tests.fakes.telegram_fixtures import FakeEngine
from tests.number_scan import Rules, too_precise

A = 1001
NOW = 1_700_000_000_000  # inside the shared BTC candles


async def test_backtest_of_a_bot_sends_chart_and_metrics(telegram_factory, shared_data):
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    api = h.api
    bot = await _paper_bot(BotKind.HYPERRSI, {"investment": 500.0})

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
    assert f"#{bot.id} HYPERRSI BTC/USDT perpetual · 1h · 1000 candles" in photo.text
    assert "Return " in photo.text and "max drawdown" in photo.text
    assert "Starting equity 10,000.00 USDT (the account's balance)" in photo.text, photo.text


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


async def _paper_bot(kind: BotKind, settings: dict, language: str = "en", balance: str = "10000"):
    user = await User.create(telegram_id=A, language=language, risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": balance})
    return await StrategyBot.create(user=user, account=acc, kind=kind, symbol="BTC/USDT:USDT",
                                    settings=defaults(kind) | {"timeframe": "1h"} | settings)


async def _caption(api, bot, command: str = "/backtest") -> str:
    await api.send_command(A, command)
    pick = await api.next_call("sendMessage", chat_id=A)
    await api.click(A, pick, pick.button_data(f"#{bot.id} "))
    photo = await api.next_call("sendPhoto", chat_id=A, timeout=60)
    assert not too_precise(photo.text, [Rules("BTC", "USDT", 1, 4)]), photo.text  # tick 0.1, lot 0.0001 BTC
    return photo.text


def _trades(caption: str) -> int:
    return int(re.search(r"(?:Trades|거래) (\d+)", caption).group(1))


async def test_default_hyperrsi_starts_from_the_account_balance(telegram_factory, shared_data):
    """The seen case: a default HYPERRSI bot (100 USDT per entry) started from equity = its investment and could
    never pay an entry's margin plus fees: 0 trades. From the account's 10,000 USDT it trades."""
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.HYPERRSI, {})
    caption = await _caption(h.api, bot)
    assert "Starting equity 10,000.00 USDT (the account's balance)" in caption, caption
    assert _trades(caption) > 0 and "No trades" not in caption


async def test_a_stated_starting_equity_and_why_no_trades(telegram_factory, shared_data):
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.HYPERRSI, {})
    await h.api.send_command(A, "/backtest 100")
    pick = await h.api.next_call("sendMessage", chat_id=A)
    assert "Starting equity: 100.00 (in the bot's quote currency)" in pick.text, pick.text
    await h.api.click(A, pick, pick.button_data(f"#{bot.id} "))
    caption = (await h.api.next_call("sendPhoto", chat_id=A, timeout=60)).text
    assert "Starting equity 100.00 USDT (as you asked)" in caption and _trades(caption) == 0, caption
    assert re.search(r"No trades: \d+ entry signals, but the account could not pay the margin \(100\.00 USDT "
                     r"per entry plus fees; starting equity 100\.00 USDT\)", caption), caption
    h.api.drain()
    await h.api.send_command(A, "/backtest lots")
    bad = await h.api.next_call("sendMessage", chat_id=A)
    assert "/backtest 5000" in bad.text and not bad.buttons()


async def test_a_refused_grid_says_why(telegram_factory, shared_data):
    """20 USDT over 20 levels is 1 USDT a level, under the paper market's 5 USDT minimum order."""
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.GRID, {"lower_price": 30_000.0, "upper_price": 40_000.0, "levels": 20,
                                          "investment": 20.0})
    caption = await _caption(h.api, bot)
    assert _trades(caption) == 0
    assert "No trades: the grid cannot be placed: the size per level is below the exchange's minimum order" \
        in caption, caption


async def test_a_position_held_at_the_end_is_told_apart(telegram_factory, shared_data):
    """A long grid still holding at the end: its unrealised PnL is shown apart from the realised, and the equity
    adds up: start + realised + unrealised = final."""
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.GRID, {"lower_price": 33_000.0, "upper_price": 38_000.0, "levels": 10,
                                          "investment": 1000.0})
    caption = await _caption(h.api, bot)
    m = re.search(r"Open at the end: long ([\d.]+) BTC @ ([\d,.]+), last ([\d,.]+): unrealised "
                  r"(-?[\d,.]+) USDT", caption)
    assert m, caption
    real = re.search(r"Realised (-?[\d,.]+) USDT", caption)
    eq = re.search(r"Equity ([\d,.]+) USDT → ([\d,.]+) USDT", caption)
    num = [float(x.replace(",", "")) for x in (*eq.groups(), real.group(1), m.group(4))]
    assert num[0] + num[2] + num[3] == pytest.approx(num[1], abs=0.02)


async def test_backtest_caption_in_korean(telegram_factory, shared_data):
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.HYPERRSI, {}, language="ko")
    caption = await _caption(h.api, bot, "/backtest 100")
    assert "시작 자산 100.00 USDT (요청한 금액)" in caption and "거래 없음" in caption, caption


async def test_starting_equity_paper_total_live_free(db):
    """Paper: the account's quote balance (total); live: fetch_balance's free quote. A resting buy of 0.01 BTC at
    30,000 on paper spot reserves 300 USDT (plus its fee): total 10,000, free about 9,700."""
    from decimal import Decimal

    from bot.backtest_run import account_equity
    from engine.exchange.paper import PaperExchange
    from engine.exchange.protocol import OrderRequest, OrderType, Side

    ex = PaperExchange(MarketType.SPOT, {"USDT": Decimal("10000")})
    ex._last["BTC/USDT"] = Decimal("35000")
    await ex.create_order(OrderRequest("BTC/USDT", Side.BUY, OrderType.LIMIT, Decimal("0.01"), "c1",
                                       price=Decimal("30000")))
    free = float((await ex.fetch_balance())["USDT"].free)
    assert 9_600 < free < 9_700.01
    assert await account_equity(ex, ExchangeAccount(id=1, is_paper=True), "USDT") == 10_000.0
    assert await account_equity(ex, ExchangeAccount(id=2, is_paper=False), "USDT") == free
    assert await account_equity(ex, ExchangeAccount(id=3, is_paper=True), "USDC") is None  # none held: stated


async def test_a_grid_the_account_cannot_fund(telegram_factory, shared_data):
    """50,000 USDT over 10 levels on 100 USDT of equity: the simulated account refuses every entry for funds, as
    the paper exchange would; the caption says so (not 'cannot be placed': the plan itself is fine)."""
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.GRID, {"lower_price": 25_000.0, "upper_price": 30_000.0, "levels": 10,
                                          "investment": 50_000.0})
    caption = await _caption(h.api, bot, "/backtest 100")
    assert _trades(caption) == 0
    assert "No trades: the account could not pay the margin of the grid's entries (5,000.00 USDT per level plus " \
           "fees; starting equity 100.00 USDT)" in caption, caption


async def test_refusals_and_a_liquidation_are_told(telegram_factory, shared_data):
    """A 10× short grid from 1,000 USDT while BTC rises from 27,500 to 35,600: entries the margin cannot carry are
    refused, and the position is liquidated; the caption says both."""
    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    bot = await _paper_bot(BotKind.GRID, {"lower_price": 27_000.0, "upper_price": 30_000.0, "levels": 10,
                                          "investment": 1000.0, "leverage": 10, "direction": "short"})
    caption = await _caption(h.api, bot, "/backtest 1000")
    assert re.search(r"Orders the simulated exchange refused: \d+ \(not enough balance on the account\)", caption), \
        caption
    assert re.search(r"Liquidated \d+ time\(s\)", caption), caption


async def test_the_press_is_handled_before_the_backtest_ends(telegram_factory, shared_data):
    # behind a webhook the answer to an update waits for its handler, and Telegram holds the chat's next update
    # until then (60 s at most): the run must go on after the handler returns (issue 18)
    import asyncio

    h = await telegram_factory(engine=FakeEngine(replay=ReplaySource(shared_data, ManualClock(NOW))))
    api = h.api
    bot = await _paper_bot(BotKind.HYPERRSI, {"investment": 500.0})
    msg = api.bot_message(A, "card")
    api._queries["q1"] = A  # a query the stand-in knows, so it can be answered (click() would queue it for polling)
    press = {"update_id": 10**9, "callback_query": {
        "id": "q1", "from": {"id": A, "is_bot": False, "first_name": "A"}, "chat_instance": "c", "message": msg,
        "data": BotCb(action="backtest", bot_id=bot.id).pack()}}
    await asyncio.wait_for(h.dp.feed_raw_update(h.bot, press), 10)  # what a webhook request awaits
    assert not api.calls("sendPhoto"), "the handler waited for the whole run"
    photo = await api.next_call("sendPhoto", chat_id=A, timeout=60)
    assert f"#{bot.id} HYPERRSI" in photo.text
