"""/status with positions and PnL (refresh edits in place), /positions, /balance and the /pnl daily table."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from db.enums import BotKind, BotStatus, MarketType, OrderRole, OrderSide, OrderType, PositionSide
from db.models import ExchangeAccount, Fill, Order, Position, StrategyBot, User
from tests.fakes.telegram_fixtures import FakeEngine

A, B = 901, 902
DAY = 86_400_000


async def _setup():
    user = await User.create(telegram_id=A, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper-swap",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                   settings={}, status=BotStatus.RUNNING)
    await Position.create(bot=bot, symbol=bot.symbol, side=PositionSide.LONG, size=Decimal("0.5"),
                          average_entry=Decimal("50000"), realized_pnl=Decimal("13.75"), fees=Decimal("1.25"))
    return user, acc, bot


async def _fill(acc, bot, n: int, ts: int, pnl: str, fee: str) -> None:
    order = await Order.create(bot=bot, account=acc, client_order_id=f"c{n}", symbol=bot.symbol,
                               role=OrderRole.TAKE_PROFIT, side=OrderSide.SELL, type=OrderType.LIMIT,
                               price=Decimal("51000"), amount=Decimal("0.1"))
    await Fill.create(order=order, account=acc, trade_id=f"t{n}", price=Decimal("51000"), amount=Decimal("0.1"),
                      fee=Decimal(fee), realized_pnl=Decimal(pnl), ts=ts)


async def test_status_positions_and_refresh(telegram_factory):
    h = await telegram_factory(engine=FakeEngine(prices={"BTC/USDT:USDT": 52_000.0}))
    _, _, bot = await _setup()
    await h.api.send_command(A, "/status")
    status = await h.api.next_call("sendMessage", chat_id=A)
    assert f"#{bot.id} HYPERRSI BTC/USDT perpetual · running" in status.text
    assert "long 0.5000 BTC @ 50,000.0 · unrealised 1,000.00 USDT · realised 12.50 USDT after 1.25 USDT fees" \
        in status.text
    assert "Total realised PnL after fees: 12.50 USDT (fees paid: 1.25 USDT)" in status.text
    h.engine.exchanges[next(iter(h.engine.exchanges))]._last["BTC/USDT:USDT"] = Decimal("49000")
    await h.api.click(A, status, status.button_data("Refresh"))
    edited = await h.api.next_call("editMessageText", chat_id=A)
    assert "unrealised -500.00 USDT" in edited.text

    await h.api.send_command(A, "/positions")
    positions = await h.api.next_call("sendMessage", chat_id=A)
    assert "long 0.5000 BTC @ 50,000.0, unrealised -500.00 USDT" in positions.text

    await h.api.send_command(A, "/balance")
    balance = await h.api.next_call("sendMessage", chat_id=A)
    assert "paper-swap (paper, swap)" in balance.text and "USDT: 10,000.00" in balance.text


async def test_pnl_daily_table_from_fills(telegram):
    _, acc, bot = await _setup()
    other = await User.create(telegram_id=B, risk_accepted_at=datetime.now(UTC))
    other_acc = await ExchangeAccount.create(user=other, exchange="paper", market_type=MarketType.SWAP,
                                             label="x", is_paper=True)
    other_bot = await StrategyBot.create(user=other, account=other_acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                         settings={})
    now = int(time.time() * 1000)
    today0 = now - now % DAY
    await _fill(acc, bot, 1, today0 + 1000, "10.5", "0.25")
    await _fill(acc, bot, 2, today0 + 2000, "-3", "0.25")
    await _fill(acc, bot, 3, today0 - DAY + 5, "7", "0.1")
    await _fill(acc, bot, 4, today0 - 10 * DAY, "1000", "1")  # outside the window
    await _fill(other_acc, other_bot, 5, today0 + 3000, "999", "9")  # someone else's
    await telegram.api.send_command(A, "/pnl 3")
    table = await telegram.api.next_call("sendMessage", chat_id=A)
    today = datetime.fromtimestamp(today0 / 1000, UTC).date()
    lines = table.text.splitlines()
    assert "last 3 day(s)" in lines[0]
    row = next(ln for ln in lines if ln.startswith(today.isoformat()))
    assert row.split() == [today.isoformat(), "7.50", "0.50", "2"]
    row = next(ln for ln in lines if ln.startswith((today - timedelta(days=1)).isoformat()))
    assert row.split() == [(today - timedelta(days=1)).isoformat(), "7.00", "0.10", "1"]
    assert lines[-1] == "Total: PnL 14.50 USDT, fees 0.60 USDT, 3 fill(s)"
    for bad in ("/pnl abc", "/pnl 0", "/pnl 1000"):
        await telegram.api.send_command(A, bad)
        reply = await telegram.api.next_call("sendMessage", chat_id=A)
        assert "Usage: /pnl [days]" in reply.text, bad


async def test_status_positions_card_and_balance_show_the_markets_precision(telegram_factory):
    """Issue 13 item 8: float noise from the books reached /status; the paper BTC swap has tick 0.1, lot 0.0001 BTC."""
    h = await telegram_factory(engine=FakeEngine(prices={"BTC/USDT:USDT": 61_700.123456}))
    user = await User.create(telegram_id=A, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="paper-swap",
                                       is_paper=True, paper_balances={"USDT": "10000.123456789"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="BTC/USDT:USDT",
                                   settings={}, status=BotStatus.RUNNING)
    await Position.create(bot=bot, symbol=bot.symbol, side=PositionSide.LONG, size=Decimal("0.0007000000000000001"),
                          average_entry=Decimal("61633.61234567"), realized_pnl=Decimal("0.24217204799999886"))
    await h.api.send_command(A, "/status")
    status = await h.api.next_call("sendMessage", chat_id=A)
    assert "long 0.0007 BTC @ 61,633.6 · unrealised 0.05 USDT · realised 0.24 USDT after" in status.text, status.text
    assert "Total realised PnL after fees: 0.24 USDT" in status.text
    await h.api.click(A, status, status.button_data(f"#{bot.id}"))
    card = await h.api.next_call("editMessageText", chat_id=A)
    assert "Position: long 0.0007 BTC @ 61,633.6 · realised PnL 0.24 USDT after" in card.text, card.text

    await h.api.send_command(A, "/positions")
    positions = await h.api.next_call("sendMessage", chat_id=A)
    assert "long 0.0007 BTC @ 61,633.6, unrealised 0.05 USDT" in positions.text, positions.text

    await h.api.send_command(A, "/balance")
    balance = await h.api.next_call("sendMessage", chat_id=A)
    assert "USDT: 10,000.12 (free 10,000.12)" in balance.text, balance.text


async def test_pnl_counts_replayed_fills_on_the_days_they_happened(telegram):
    """Issue 13 item 9: fills in replayed market time (2024-08) showed seven empty days and "0 fill(s)"."""
    _, acc, bot = await _setup()
    aug5 = int(datetime(2024, 8, 5, tzinfo=UTC).timestamp() * 1000)
    for n, (ts, pnl, fee) in enumerate([(aug5 + 3_600_000, "0.24217204799999886", "0.0246559998136"),
                                        (aug5 + 7_200_000, "-0.15", "0.0123"),
                                        (aug5 + DAY + 60_000, "1.005", "0.02"),
                                        (aug5 + DAY + 120_000, "0", "0.02")]):
        await _fill(acc, bot, n, ts, pnl, fee)
    await telegram.api.send_command(A, "/pnl")
    lines = (await telegram.api.next_call("sendMessage", chat_id=A)).text.splitlines()
    assert "UTC" in lines[0] and "2024-08-06" in lines[0], lines[0]
    assert next(ln for ln in lines if ln.startswith("2024-08-05")).split() == ["2024-08-05", "0.09", "0.04", "2"]
    assert next(ln for ln in lines if ln.startswith("2024-08-06")).split() == ["2024-08-06", "1.01", "0.04", "2"]
    assert next(ln[:10] for ln in lines if ln[:4] == "2024") == "2024-07-31"  # seven days up to the newest fill
    assert lines[-1] == "Total: PnL 1.10 USDT, fees 0.08 USDT, 4 fill(s)", lines[-1]


async def test_pnl_never_adds_two_currencies_together(telegram):
    """Fills of a USDT market and a KRW market: one table per quote currency, each total with its currency."""
    user, acc, bot = await _setup()
    upbit = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SPOT, label="krw",
                                         is_paper=True, paper_balances={"KRW": "1000000"})
    krw_bot = await StrategyBot.create(user=user, account=upbit, kind=BotKind.GRID, symbol="BTC/KRW", settings={},
                                       status=BotStatus.RUNNING)
    now = int(time.time() * 1000)
    await _fill(acc, bot, 1, now - 1000, "1.25", "0.1")
    await _fill(upbit, krw_bot, 2, now - 2000, "1500", "50")
    await telegram.api.send_command(A, "/pnl 2")
    text = (await telegram.api.next_call("sendMessage", chat_id=A)).text
    assert "Total: PnL 1.25 USDT, fees 0.10 USDT, 1 fill(s)" in text, text
    assert "Total: PnL 1,500.00 KRW, fees 50.00 KRW, 1 fill(s)" in text, text


async def test_status_totals_each_currency_apart(telegram):
    user, _, _ = await _setup()  # a USDT bot with 12.5 realised
    upbit = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SPOT, label="krw",
                                         is_paper=True, paper_balances={"KRW": "1000000"})
    krw_bot = await StrategyBot.create(user=user, account=upbit, kind=BotKind.GRID, symbol="BTC/KRW", settings={},
                                       status=BotStatus.RUNNING)
    await Position.create(bot=krw_bot, symbol=krw_bot.symbol, side=PositionSide.FLAT, size=Decimal(0),
                          realized_pnl=Decimal("1500"))
    await telegram.api.send_command(A, "/status")
    text = (await telegram.api.next_call("sendMessage", chat_id=A)).text
    assert "Total realised PnL after fees: 1,500.00 KRW, 12.50 USDT" in text, text


async def test_dust_below_half_a_lot_is_shown_as_flat_everywhere(telegram_factory):
    """Issue 13 item 3: after 'Stop and close' a 2.8e-19 BTC leftover showed as 'Position: long 0 @ 0' and was listed."""
    h = await telegram_factory(engine=FakeEngine(prices={"BTC/USDT:USDT": 52_000.0}))
    _, _, bot = await _setup()
    await Position.filter(bot=bot).update(size=Decimal("0.000000000000000280"), average_entry=Decimal(0))
    await h.api.send_command(A, "/status")
    status = await h.api.next_call("sendMessage", chat_id=A)
    assert "no position · realised 12.50 USDT after 1.25 USDT fees" in status.text, status.text
    await h.api.click(A, status, status.button_data(f"#{bot.id}"))
    card = await h.api.next_call("editMessageText", chat_id=A)
    assert "Position: none · realised PnL 12.50 USDT after 1.25 USDT fees" in card.text, card.text
    await h.api.send_command(A, "/positions")
    assert (await h.api.next_call("sendMessage", chat_id=A)).text == "No open positions."


async def test_pnl_days_are_the_users_days_when_they_have_a_time_zone(db):
    """A fill at 16:30 UTC is the next day in Seoul (UTC+9): with a time zone the table counts it there."""
    from bot.i18n import make_i18n
    from bot.routers.status import pnl_table

    user, acc, bot = await _setup()
    late = int(datetime(2024, 8, 5, 16, 30, tzinfo=UTC).timestamp() * 1000)
    await _fill(acc, bot, 1, late, "2", "0.1")
    i18n = make_i18n()
    with i18n.context(), i18n.use_locale("en"):
        utc = (await pnl_table(user, 2)).splitlines()
        user.timezone = "Asia/Seoul"  # no column yet: the table reads it when the user row has one
        seoul = (await pnl_table(user, 2)).splitlines()
    assert "(UTC)" in utc[0] and next(ln for ln in utc if ln.startswith("2024-08-05")).split()[-1] == "1"
    assert "(Asia/Seoul)" in seoul[0] and next(ln for ln in seoul if ln.startswith("2024-08-06")).split()[-1] == "1"
