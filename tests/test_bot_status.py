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
                          average_entry=Decimal("50000"), realized_pnl=Decimal("12.5"))
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
    assert f"#{bot.id} HYPERRSI BTC/USDT:USDT · running" in status.text
    assert "long 0.5 @ 50,000 · unrealised 1,000 · realised 12.5" in status.text
    assert "Total realised PnL: 12.5" in status.text
    h.engine.exchanges[next(iter(h.engine.exchanges))]._last["BTC/USDT:USDT"] = Decimal("49000")
    await h.api.click(A, status, status.button_data("Refresh"))
    edited = await h.api.next_call("editMessageText", chat_id=A)
    assert "unrealised -500" in edited.text

    await h.api.send_command(A, "/positions")
    positions = await h.api.next_call("sendMessage", chat_id=A)
    assert "long 0.5 @ 50,000, unrealised -500" in positions.text

    await h.api.send_command(A, "/balance")
    balance = await h.api.next_call("sendMessage", chat_id=A)
    assert "paper-swap (paper, swap)" in balance.text and "USDT: 10,000" in balance.text


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
    assert row.split() == [today.isoformat(), "7.5", "0.5", "2"]
    row = next(ln for ln in lines if ln.startswith((today - timedelta(days=1)).isoformat()))
    assert row.split() == [(today - timedelta(days=1)).isoformat(), "7", "0.1", "1"]
    assert lines[-1] == "Total: PnL 14.5, fees 0.6, 3 fill(s)"
    for bad in ("/pnl abc", "/pnl 0", "/pnl 1000"):
        await telegram.api.send_command(A, bad)
        reply = await telegram.api.next_call("sendMessage", chat_id=A)
        assert "Usage: /pnl [days]" in reply.text, bad
