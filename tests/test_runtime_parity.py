"""Parity: the live engine on the paper exchange places the same orders as the backtester on the same 1m candles."""

from __future__ import annotations

import numpy as np

from db.enums import BotKind, BotStatus, MarketType, OrderRole
from db.models import ExchangeAccount, Order, StrategyBot, User
from engine.backtest.grid_driver import GridDriver
from engine.backtest.hyperrsi_driver import HyperRsiDriver
from engine.backtest.sim import Sim
from engine.candles import load_csv
from engine.exchange.paper import DEFAULT_MARKETS, MAKER_FEE, SLIPPAGE, TAKER_FEE
from engine.market.clock import ManualClock
from engine.market.rules import market_rules
from engine.runtime.engine import Engine
from engine.strategies.grid import GridSettings, MarketRules
from engine.strategies.hyperrsi import HyperRsiSettings
from engine.strategy_inputs import grid_inputs, hyperrsi_inputs
from tests.runtime_kit import day_start, price_range

MINUTES = 720
HRSI = {"timeframe": "1m", "rsi_entry_option": "threshold", "rsi_oversold": 30, "rsi_overbought": 70,
        "investment": 100, "leverage": 10, "use_sl": True, "sl_value": 1.0, "tp1_value": 0.2, "tp2_value": 0.4,
        "tp3_value": 0.6}
LEVELLED = (OrderRole.TAKE_PROFIT, OrderRole.GRID_ENTRY, OrderRole.GRID_EXIT)  # an order told apart by its level


def _rules(symbol: str) -> MarketRules:
    return market_rules(DEFAULT_MARKETS[symbol])  # base units, as the live engine sees the market


def backtest_orders(kind: str, settings, candles, start_idx: int, rules: MarketRules) -> list[tuple]:
    """The backtester's drivers started on candle `start_idx`, exactly where the live bot starts."""
    x = hyperrsi_inputs(settings, candles, "1m", rules) if kind == "hyperrsi" else grid_inputs(settings, candles, "1m")
    sim = Sim(candles.open, candles.high, candles.low, candles.close, candles.ts, "swap", 1e6, float(MAKER_FEE),
              float(TAKER_FEE), float(SLIPPAGE), rules, float(settings.leverage), round_trips=kind == "hyperrsi")
    drv = HyperRsiDriver(settings, x, sim, start_idx) if kind == "hyperrsi" else \
        GridDriver(settings, x, sim, start_idx, rules)
    drv.begin()
    for j in range(drv.first, len(candles)):
        drv.process(j)
    return collapse(kind, sim)


def _key(kind: str, role: str, level) -> tuple:
    return (role, level) if kind == "grid" or role == OrderRole.TAKE_PROFIT else (role,)


def collapse(kind: str, sim: Sim) -> list[tuple]:
    """The backtester's orders, without the replacements of a resting order by an identical one (its book compares
    unrounded floats, so float noise re-places an order the live sync, comparing rounded values, keeps)."""
    fills = sorted(((f.ts, _key(kind, f.role, f.level)) for f in sim.fills), key=lambda x: x[0])
    out, resting, fi = [], {}, 0
    for o in sim.orders:
        while fi < len(fills) and fills[fi][0] <= o.ts:
            resting.pop(fills[fi][1], None)
            fi += 1
        key = _key(kind, o.role, o.level)
        amount = o.amount
        row = (key[0], o.level if key[0] in LEVELLED else None, o.side, o.type,
               round(o.price, 6) if o.price is not None else None, round(amount, 8))
        if o.type != "market" and resting.get(key) == row:
            continue
        resting[key] = row
        out.append(row)
    return out


async def live_orders(bot_id: int) -> list[tuple]:
    out = []
    for o in await Order.filter(bot_id=bot_id).order_by("id"):
        px = o.price if o.price is not None else o.trigger_price
        level = o.level if o.role in LEVELLED else None
        out.append((o.role, level, o.side.value, o.type.value, round(float(px), 6) if px is not None else None,
                    round(float(o.amount), 8)))
    return out


async def test_live_places_the_backtesters_orders(db, shared_data):
    start = day_start(shared_data)
    lo, hi = price_range(shared_data, "ETH_USDT", start, MINUTES)
    grid_cfg = {"mode": "fixed", "direction": "neutral", "lower_price": round(lo * 1.002, 2),
                "upper_price": round(hi * 0.998, 2), "levels": 16, "investment": 4000, "leverage": 2,
                "tp_min_pct": 0.3, "timeframe": "1m", "adx_gate": False}
    user = await User.create(telegram_id=5)
    acc = await ExchangeAccount.create(user=user, exchange="paper", market_type=MarketType.SWAP, label="p",
                                       is_paper=True, paper_balances={"USDT": "1000000"})
    hb = await StrategyBot.create(user=user, account=acc, kind=BotKind.HYPERRSI, symbol="BTC/USDT:USDT",
                                  settings=HRSI, status=BotStatus.DRAFT)
    gb = await StrategyBot.create(user=user, account=acc, kind=BotKind.GRID, symbol="ETH/USDT:USDT",
                                  settings=grid_cfg, status=BotStatus.DRAFT)
    clock = ManualClock(start + 2_000)
    engine = Engine(clock=clock, replay_dir=shared_data)
    await engine.start(schedule=False)
    await engine.control.start_bot(user.id, hb.id)
    await engine.control.start_bot(user.id, gb.id)
    for k in range(MINUTES + 1):
        clock.set(start + k * 60_000 + 2_000)
        await engine.tick()

    for kind, bot, symbol, settings, file in (
            ("hyperrsi", hb, "BTC/USDT:USDT", HyperRsiSettings(**HRSI), "BTC_USDT-1m.csv"),
            ("grid", gb, "ETH/USDT:USDT", GridSettings(**grid_cfg), "ETH_USDT-1m.csv")):
        c = load_csv(shared_data / file)
        end = int(np.searchsorted(c.ts, start + MINUTES * 60_000))
        c = c[:end]  # the candles the live run saw close
        start_idx = int(np.searchsorted(c.ts, start - 60_000))  # the candle that closed when the bot started
        expected = backtest_orders(kind, settings, c, start_idx, _rules(symbol))
        got = await live_orders(bot.id)
        assert len(expected) >= 10, (kind, len(expected))
        assert got == expected, (kind, next((i, a, b) for i, (a, b) in enumerate(zip(got, expected, strict=False))
                                            if a != b) if got != expected else None, len(got), len(expected))
