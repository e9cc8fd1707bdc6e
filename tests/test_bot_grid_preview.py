"""The GRID preview in the chat: base-currency sizes (and contracts on a contract market), profit per grid to the
strategy's own take-profit with the market's maker fee, numbers to the market's tick and lot."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.callbacks import BotCb
from bot.settings_editor import defaults
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from tests.fakes.telegram_fixtures import FakeEngine

A = 1001
GRID = {"lower_price": 30_000.0, "upper_price": 40_000.0, "levels": 10, "investment": 1000.0, "leverage": 1}


async def _preview(telegram_factory, market_type: MarketType, symbol: str, language: str = "en") -> str:
    h = await telegram_factory(engine=FakeEngine(prices={symbol: 35_000.0}))
    user = await User.create(telegram_id=A, language=language, risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=market_type, label="p",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol=symbol,
                                   settings=defaults(BotKind.GRID) | GRID)
    await h.api.click(A, h.api.bot_message(A), BotCb(action="preview", bot_id=bot.id).pack())
    return (await h.api.next_call("editMessageText", chat_id=A)).text


async def test_preview_on_a_contract_market(telegram_factory):
    """Paper BTC swap: tick 0.1, a contract is 0.01 BTC, lot 0.01 contract = 0.0001 BTC, maker fee 0.02 %.
    100 USDT a level: 100 / 40,000 = 0.0025 BTC (0.25 contracts) .. 100 / 30,000 = 0.00333 → 0.0033 BTC (0.33).
    Profit per grid: the top level's take-profit is 40,000 × 1.004 = 40,160, (40,160 × 0.9998 − 40,000 × 1.0002) /
    40,000 = 0.35992 % (0.0025 × 143.968 = 0.36 USDT); the best is 30,000 → 31,111.1, (31,111.1 × 0.9998 −
    30,000 × 1.0002) / 30,000 = 3.66293 % (0.0033 × 1,098.8778 = 3.63 USDT)."""
    text = await _preview(telegram_factory, MarketType.SWAP, "BTC/USDT:USDT")
    assert "Levels: 10, from 30,000.0 to 40,000.0" in text, text
    assert "Size per level: 0.0025–0.0033 BTC (0.25–0.33 contracts)" in text, text
    assert "Profit per grid after fees (0.02% a leg): 0.36%–3.66% (0.36–3.63 USDT)" in text, text
    assert "Current price: 35,000.0 USDT" in text
    # each level's value: 0.0025 × 38,888.9 = 97.22 .. 0.0025 × 40,000 = 100.00; all of them 0.0286 BTC, 992.33 USDT
    assert "(0.25–0.33 contracts) ≈ 97.22–100.00 USDT" in text, text
    assert "Every buy level filled: 0.0286 BTC (992.33 USDT), average 34,697.0" in text, text
    assert "Liquidation" not in text  # 1× long: no price liquidates it
    assert "No 30-day backtest: the exchange has 0 of the 2,880 candles of 15m" in text, text  # no candle source
    assert not re.search(r"\d\.\d{5,}", text), text  # no raw floats


async def test_preview_on_spot_has_no_contracts(telegram_factory):
    text = await _preview(telegram_factory, MarketType.SPOT, "BTC/USDT")
    assert "Size per level: 0.00250–0.00333 BTC" in text and "contracts" not in text, text  # lot 0.00001 BTC


async def test_preview_in_korean(telegram_factory):
    text = await _preview(telegram_factory, MarketType.SWAP, "BTC/USDT:USDT", language="ko")
    assert "0.0025–0.0033 BTC (계약 0.25–0.33개)" in text and "0.36%–3.66%" in text, text
