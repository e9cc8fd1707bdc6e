"""The risk card before Start, through the Bot API stand-in, in English and Korean: on a paper account replaying the
shared BTC candles (the last 30 days of 1h candles closed at NOW), its figures equal hand computations and its
30-day backtest equals a direct run_backtest of the bot's settings on those candles. Without candles the card still
shows the risk; HYPERRSI's card offers the risk card, not an immediate Start."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from bot import numbers as nb
from bot.callbacks import BotCb
from bot.settings_editor import defaults
from db.enums import BotKind, MarketType
from db.models import ExchangeAccount, StrategyBot, User
from engine.backtest.runner import run_backtest
from engine.candles import load_csv
from engine.exchange.paper_markets import DEFAULT_MARKETS, MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.market.clock import ManualClock
from engine.market.replay import ReplaySource
from engine.market.rules import market_rules
from tests.fakes.telegram_fixtures import FakeEngine

A = 1501
NOW = 1_700_000_000_000  # 2023-11-14 22:13 UTC, inside the shared 1h candles
HOUR = 3_600_000
SYMBOL = "BTC/USDT:USDT"  # paper: tick 0.1, lot 0.0001 BTC (0.01 contracts of 0.01 BTC), 5 USDT minimum order
TAKER, MAKER = float(TAKER_FEE), float(MAKER_FEE)
HYPERRSI = {"timeframe": "1h", "direction": "long", "entry_option": "rsi_only", "investment": 100.0, "leverage": 10,
            "pyramiding_enabled": True, "pyramiding_limit": 3, "entry_multiplier": 1.6, "pyramiding_entry_type":
            "percent", "pyramiding_value": 3.0, "entry_criterion": "average", "use_sl": True, "sl_option":
            "percentage", "sl_value": 5.0}
GRID = {"timeframe": "1h", "mode": "fixed", "direction": "long", "lower_price": 26_000.0, "upper_price": 38_000.0,
        "levels": 12, "investment": 1000.0, "leverage": 10, "stop_loss_price": 24_000.0, "adx_gate": False}
WORDS = {
    "en": {"entry": "First entry: {q} ({v}), margin {m}", "add": "Add {n} (if the price reaches {p}): {q} ({v})",
           "all": "Every add filled: {q} ({v}), average {a}, margin {m} + fees {f}",
           "liq": "Liquidation at 10× ≈ {p} with every add filled", "stop": "Stop-loss at {p} (after add 3): you lose "
           "{loss} with fees", "mini": "({n} candles of 1h, from 10,000.00 USDT, the account's balance): return {ret} "
           "({pnl}), max drawdown {dd}, trades {trades}", "grid_liq": "Liquidation at 10× ≈ {p} with every level "
           "filled", "beyond": "⚠️ The stop-loss at {stop} lies beyond the liquidation price ≈ {liq}",
           "filled": "Every buy level filled: {q} ({v}), average {a}", "start": "Start",
           "no_candles": "No 30-day backtest: the exchange has 0 of the 720 candles of 1h it needs"},
    "ko": {"entry": "첫 진입: {q} ({v}), 증거금 {m}", "add": "{n}차 추가 (가격이 {p}에 닿으면): {q} ({v})",
           "all": "모든 추가 체결 시: {q} ({v}), 평균 {a}, 증거금 {m} + 수수료 {f}",
           "liq": "모든 추가 체결 시 10배 청산가 ≈ {p}", "stop": "손절가 {p} (3차 추가 후): 수수료 포함 손실 {loss}",
           "mini": "(1h 캔들 {n}개, 시작 10,000.00 USDT, 계정 잔고): 수익률 {ret} ({pnl}), 최대 낙폭 {dd}, 거래 {trades}회",
           "grid_liq": "모든 단계 체결 시 10배 청산가 ≈ {p}", "beyond": "⚠️ 손절가 {stop}가 청산가 ≈ {liq}보다 멀리 있습니다",
           "filled": "모든 매수 단계 체결 시: {q} ({v}), 평균 {a}", "start": "시작",
           "no_candles": "30일 백테스트 불가: 거래소에 필요한 1h 캔들 720개 중 0개만 있습니다"},
}


def price(v: float) -> str:
    return nb.price(v, "0.1")


def coins(v: float) -> str:
    return nb.amount(v, "0.0001", "BTC")


def usdt(v: float) -> str:
    return nb.money(v, "USDT")


def lot(x: float) -> float:
    return math.floor(x / 0.0001 + 1e-9) * 0.0001


def last_30_days(data):
    c = load_csv(data / "BTC_USDT-1h.csv")
    end = int(np.searchsorted(c.ts, NOW - HOUR, side="right"))  # candles closed by NOW
    return c[end - 720:end]


def direct_backtest(kind: str, settings: dict, candles) -> dict:
    """run_backtest itself on the same candles, with the paper market's rules and costs, from the account's
    10,000 USDT: the figures the card must show."""
    r = run_backtest(kind, settings, candles, symbol=SYMBOL, timeframe="1h", initial_equity=10_000.0, market="swap",
                     market_rules=market_rules(DEFAULT_MARKETS[SYMBOL]), maker_fee=MAKER, taker_fee=TAKER,
                     slippage=float(SLIPPAGE))
    m = r.metrics
    assert m.trades > 0  # a comparison worth making
    pnl = m.final_equity - m.initial_equity
    sign = "+" if round(pnl, 2) > 0 else ""
    return {"n": len(candles), "ret": sign + nb.pct(m.total_return_pct), "pnl": sign + usdt(pnl),
            "dd": nb.pct(m.max_drawdown_pct), "trades": m.trades}


async def _card(telegram_factory, engine, kind: BotKind, settings: dict, language: str):
    h = await telegram_factory(engine=engine)
    user = await User.create(telegram_id=A, language=language, risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=kind, symbol=SYMBOL,
                                   settings=defaults(kind) | settings)
    await h.api.click(A, h.api.bot_message(A), BotCb(action="preview", bot_id=bot.id).pack())
    card = await h.api.next_call("editMessageText", chat_id=A, timeout=30)
    print(f"\n[{language}]\n{card.text}")
    return bot, card


def _replay(data) -> FakeEngine:
    return FakeEngine(replay=ReplaySource(data, ManualClock(NOW)))


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_hyperrsi_risk_card_and_30_day_backtest(telegram_factory, shared_data, language):
    """By hand: entry 100 × 10 / price; each add 3 % under the average so far with margins 160, 256, 409.6, cut to
    the 0.0001 BTC lot; liquidation of the isolated position average × 0.9 / 0.995; the 5 % stop under the average,
    which every add reaches first (3 % < 5 %), loses the price move plus the 0.05 % taker fee in and out."""
    candles = last_30_days(shared_data)
    e = float(candles.close[-1])  # no ticker on a replay: the last closed candle's close
    legs, size, cost, p = [], 0.0, 0.0, e
    for n, m in enumerate((100.0, 160.0, 256.0, 409.6)):
        if n:
            p = cost / size * 0.97
        q = lot(m * 10 / p)
        legs.append((p, q))
        size, cost = size + q, cost + q * p
    avg = cost / size
    liq, stop = avg * 0.9 / 0.995, avg * 0.95
    loss = size * (avg - stop) + cost * TAKER + size * stop * TAKER
    w = WORDS[language]
    bot, card = await _card(telegram_factory, _replay(shared_data), BotKind.HYPERRSI, HYPERRSI, language)
    text = card.text
    q0 = legs[0][1]
    assert w["entry"].format(q=coins(q0), v=usdt(q0 * e), m=usdt(q0 * e / 10)) in text, text
    for n, (p, q) in enumerate(legs[1:], start=1):
        assert w["add"].format(n=n, p=price(p), q=coins(q), v=usdt(q * p)) in text, text
    assert w["all"].format(q=coins(size), v=usdt(cost), a=price(avg), m=usdt(cost / 10), f=usdt(cost * TAKER)) in text
    assert w["liq"].format(p=price(liq)) in text, text
    assert w["stop"].format(p=price(stop), loss=usdt(loss)) in text, text
    assert "⚠️" not in text  # the stop lies inside the liquidation price
    assert w["mini"].format(**direct_backtest("hyperrsi", bot.settings, candles)) in text, text
    assert card.buttons()[0] == (f"▶️ {w['start']}", BotCb(action="start", bot_id=bot.id).pack())  # under it


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_grid_liquidation_with_every_level_filled_and_a_stop_beyond_it(telegram_factory, shared_data,
                                                                             language):
    """12 levels from 26,000 to 38,000 (1,090.9 apart, to the 0.1 tick), 1000 × 10 / 12 = 833.33 USDT a level;
    every level bought: liquidation at 10× = average × 0.9 / 0.995, above the 24,000 stop: flagged."""
    levels = [round(26_000 + 12_000 * i / 11, 1) for i in range(12)]
    amounts = [lot(1000 * 10 / 12 / p) for p in levels]
    size, cost = sum(amounts), sum(p * a for p, a in zip(levels, amounts, strict=True))
    avg = cost / size
    liq = avg * 0.9 / 0.995
    assert liq > 24_000
    w = WORDS[language]
    bot, card = await _card(telegram_factory, _replay(shared_data), BotKind.GRID, GRID, language)
    text = card.text
    assert w["filled"].format(q=coins(size), v=usdt(cost), a=price(avg)) in text, text
    assert w["grid_liq"].format(p=price(liq)) in text, text
    assert w["beyond"].format(stop=price(24_000), liq=price(liq)) in text, text
    assert w["mini"].format(**direct_backtest("grid", bot.settings, last_30_days(shared_data))) in text, text
    assert card.buttons()[0][1] == BotCb(action="start", bot_id=bot.id).pack()


@pytest.mark.parametrize("language", ["en", "ko"])
async def test_without_candles_the_card_says_so_and_keeps_the_risk(telegram_factory, language):
    """A paper market with a price but no candle source: 1000 / 35,000 = 0.02857 → 0.0285 BTC (997.50 USDT)."""
    w = WORDS[language]
    _, card = await _card(telegram_factory, FakeEngine(prices={SYMBOL: 35_000.0}), BotKind.HYPERRSI, HYPERRSI,
                          language)
    assert w["entry"].format(q="0.0285 BTC", v="997.50 USDT", m="99.75 USDT") in card.text, card.text
    assert w["no_candles"] in card.text, card.text
    assert w["start"] in card.buttons()[0][0]


async def test_a_hyperrsi_card_offers_the_risk_card_not_start(telegram_factory, shared_data):
    h = await telegram_factory(engine=_replay(shared_data))
    user = await User.create(telegram_id=A, language="en", risk_accepted_at=datetime.now(UTC))
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "10000"})
    bot = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol=SYMBOL,
                                   settings=defaults(BotKind.HYPERRSI) | HYPERRSI)
    await h.api.click(A, h.api.bot_message(A), BotCb(action="card", bot_id=bot.id).pack())
    card = await h.api.next_call("editMessageText", chat_id=A)
    data = [d for _, d in card.buttons()]
    assert BotCb(action="preview", bot_id=bot.id).pack() in data
    assert BotCb(action="start", bot_id=bot.id).pack() not in data, card.buttons()


class CappedSource:
    """The replay answering at most `cap` candles a request, as venues cap a page; counts the requests."""

    def __init__(self, inner: ReplaySource, cap: int):
        self.inner, self.cap, self.requests = inner, cap, 0

    async def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        self.requests += timeframe == "1h"
        rows = await self.inner.fetch_ohlcv(symbol, timeframe, since=since, limit=limit)
        return rows[-self.cap:] if since is None else rows[:self.cap]


async def test_a_capped_venue_is_paged_to_the_30_days(telegram_factory, shared_data):
    """A venue answering 300 candles a request: the 720 are read in pages, the backtest is the same."""
    source = CappedSource(ReplaySource(shared_data, ManualClock(NOW)), 300)
    bot, card = await _card(telegram_factory, FakeEngine(replay=source), BotKind.HYPERRSI, HYPERRSI, "en")
    assert WORDS["en"]["mini"].format(**direct_backtest("hyperrsi", bot.settings, last_30_days(shared_data))) \
        in card.text, card.text
    assert source.requests == 4  # the newest 300, then 300 + 300 + 120 from the first of the 720
