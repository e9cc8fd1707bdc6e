"""Parity: the backtest account and the paper exchange refuse, fill and liquidate alike on the same candles.

The backtest's own drivers run on its simulated account, which records every book action; a PaperExchange (behind
the BaseUnits wrapper the engine uses, on a contract market) is then fed the same candles bar by bar and sent the
same actions in the same order. Each refusal must be a refusal with the same reason, each fill the same fill, and
the liquidation and the final balance the same.
"""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from engine.backtest.grid_driver import GridDriver
from engine.backtest.hyperrsi_driver import HyperRsiDriver
from engine.backtest.sim import Sim
from engine.candles import load_csv
from engine.exchange.paper import PaperExchange
from engine.exchange.protocol import ExchangeError, Market, MarketType, OrderRequest, OrderType, Side
from engine.exchange.units import BaseUnits
from engine.market.rules import market_rules
from engine.strategies.grid import GridSettings
from engine.strategies.hyperrsi import HyperRsiSettings
from engine.strategy_inputs import grid_inputs, hyperrsi_inputs

SYM = "BTC/USDT:USDT"
MAKER, TAKER, SLIP = 0.0002, 0.0005, 0.0002
VENUE = Market(SYM, "BTC", "USDT", MarketType.SWAP, D("0.1"), D("1"), D("1"), D("5"), D("0.001"), 125,
               maker_fee=D("0.0002"), taker_fee=D("0.0005"), amount_unit="contract")  # 1 contract = 0.001 BTC
SPOT = Market("BTC/USDT", "BTC", "USDT", MarketType.SPOT, D("0.01"), D("0.00001"), D("0.00001"), D("5"),
              maker_fee=D("0.0002"), taker_fee=D("0.0005"))
AUG_5_2024 = 1722816000000  # the BTC crash from 62k to 49k


class Journal(Sim):
    """The backtest account, recording what its book was asked to do, in order."""

    def __post_init__(self) -> None:
        Sim.__post_init__(self)
        self.log: list[tuple] = []

    def match(self, j):
        self.log.append(("match", j, len(self.fills)))
        return Sim.match(self, j)

    def place(self, w, ts, ref=None):
        self.last_refusal = None
        ok = Sim.place(self, w, ts, ref)
        if ok:
            oid = self.keys[w.key]
            so = self.book[oid][1]
            self.log.append(("place", ts, w, oid, so.price if so.type == "limit" else so.trigger, so.amount, None))
        else:
            r = self.last_refusal
            self.log.append(("place", ts, w, None, r.price if r else None, r.amount if r else 0.0,
                             r.reason if r else "not placed"))
        return ok

    def cancel(self, key):
        oid = self.keys.get(key)
        Sim.cancel(self, key)
        if oid is not None:
            self.log.append(("cancel", oid))


def run_backtest_journal(kind: str, settings, c, equity: float, venue: Market = VENUE) -> tuple[Journal, int]:
    rules = market_rules(venue)
    x = hyperrsi_inputs(settings, c, "1h", rules) if kind == "hyperrsi" else grid_inputs(settings, c, "1h")
    sim = Journal(c.open, c.high, c.low, c.close, c.ts, venue.type.value, equity, MAKER, TAKER, SLIP, rules,
                  float(settings.leverage), round_trips=kind == "hyperrsi")
    start = min(x.ready, len(c))
    drv = HyperRsiDriver(settings, x, sim, start) if kind == "hyperrsi" else GridDriver(settings, x, sim, start, rules)
    drv.begin()
    for j in range(drv.first, len(c)):
        drv.process(j)
    return sim, start


async def replay_on_paper(sim: Journal, c, equity: float, leverage: int, venue: Market = VENUE) -> dict:
    SYM = venue.symbol
    inner = PaperExchange(venue.type, {"USDT": D(str(equity))}, markets={SYM: venue}, maker_fee=D(str(MAKER)),
                          taker_fee=D(str(TAKER)), slippage=D(str(SLIP)))
    ex = BaseUnits(inner)
    if venue.type == MarketType.SWAP:
        await ex.set_leverage(SYM, leverage)
    cursor, fed, seen = 0, -1, {"refused": 0, "placed": 0, "fills": 0, "liquidations": 0}
    oid_map: dict[str, str] = {}

    async def feed_to(j: int) -> list:
        nonlocal fed, cursor
        for k in range(fed + 1, j + 1):
            await inner.feed(SYM, [int(c.ts[k]), c.open[k], c.high[k], c.low[k], c.close[k], 1.0])
        fed = j
        page = await ex.fetch_my_trades(SYM, since=cursor)
        cursor = page.cursor
        return page.trades

    for ev in sim.log:
        if ev[0] == "match":
            _, j, n = ev
            trades = await feed_to(j)
            want = [f for f in sim.fills[n:] if f.ts == int(c.ts[j])]
            got = [(t.side.value, float(t.price), float(t.amount), float(t.fee), t.order_id == "liquidation")
                   for t in trades]
            exp = [(f.side, f.price, f.amount, f.fee, f.role == "liquidation") for f in want]
            assert len(got) == len(exp), (j, got, exp)
            for g, e in zip(got, exp, strict=True):
                assert g[0] == e[0] and g[4] == e[4], (j, g, e)
                assert g[1:4] == pytest.approx(e[1:4], rel=1e-9, abs=1e-9), (j, g, e)
            seen["fills"] += len(got)
            seen["liquidations"] += sum(g[4] for g in got)
        elif ev[0] == "place":
            _, ts, w, oid, price, amount, reason = ev
            if fed < 0:  # the grid arms at the close of its first candle, before any matching
                assert await feed_to(int(np.searchsorted(c.ts, ts))) == []
            typ = OrderType(w.type)
            px = D(repr(price)) if price is not None else None
            req = OrderRequest(SYM, Side(w.side), typ, D(repr(amount)), f"c{oid}" if oid else f"r{seen['refused']}",
                               price=px if typ == OrderType.LIMIT else None,
                               trigger_price=px if typ == OrderType.STOP_MARKET else None, reduce_only=w.reduce_only)
            if oid is None:
                with pytest.raises(ExchangeError) as e:
                    await ex.create_order(req)
                assert e.value.reason == reason, (ts, w, reason, e.value)
                seen["refused"] += 1
            else:
                try:
                    await ex.create_order(req)
                except ExchangeError as e:
                    raise AssertionError(f"the paper exchange refused what the backtest placed: {w} {e}") from e
                oid_map[oid] = req.client_order_id
                seen["placed"] += 1
        else:
            _, oid = ev
            info = await ex.fetch_order(SYM, client_order_id=oid_map[oid])
            assert info.status.value == "open", (oid, info)  # the backtest only cancels what still rests
            await ex.cancel_order(SYM, client_order_id=oid_map[oid])
    last = int(len(c) - 1)
    await feed_to(last)
    assert float(inner.equity()) == pytest.approx(sim.equity_at(float(c.close[last])), rel=1e-9, abs=1e-6)
    if venue.type == MarketType.SPOT:
        assert float(inner.balances["USDT"]) == pytest.approx(sim.cash, rel=1e-9, abs=1e-6)
        assert float(inner.balances.get("BTC", 0)) == pytest.approx(sim.position, abs=1e-12)
        return seen
    assert float(inner.balances["USDT"]) == pytest.approx(sim.wallet(), rel=1e-9, abs=1e-6)
    pos = await ex.fetch_positions()
    assert (float(pos[0].amount) * (1 if pos[0].side == Side.BUY else -1) if pos else 0.0) == \
        pytest.approx(sim.position, abs=1e-12)
    return seen


@pytest.fixture(scope="module")
def crash(shared_data):
    c = load_csv(shared_data / "BTC_USDT-1h.csv")
    k = int(np.searchsorted(c.ts, AUG_5_2024))
    return c[k - 300:k + 100]


async def test_grid_with_more_invested_than_the_account_has_is_refused_and_liquidated_alike(crash):
    s = GridSettings(mode="fixed", lower_price=55000, upper_price=70000, levels=12, investment=12_000, leverage=12,
                     direction="long", timeframe="1h")
    sim, _ = run_backtest_journal("grid", s, crash, 10_000.0)
    seen = await replay_on_paper(sim, crash, 10_000.0, 12)
    assert seen["refused"] >= 5 and seen["placed"] >= 10 and seen["fills"] >= 10
    assert seen["liquidations"] == 1
    assert set(sim.refused) == {"insufficient_funds"}


async def test_hyperrsi_on_a_small_account_is_refused_and_liquidated_alike(crash):
    s = HyperRsiSettings(timeframe="1h", rsi_entry_option="threshold", rsi_oversold=35, rsi_overbought=65,
                         investment=300, leverage=20, use_sl=False, direction="long", pyramiding_limit=3,
                         use_trend_close=False)
    sim, _ = run_backtest_journal("hyperrsi", s, crash, 400.0)
    seen = await replay_on_paper(sim, crash, 400.0, 20)
    assert seen["fills"] >= 2
    assert "insufficient_funds" in sim.refused
    assert seen["liquidations"] >= 1


async def test_spot_grid_with_more_invested_than_the_account_has_and_a_stop_is_refused_and_closed_alike(crash):
    first = float(crash.close[0])
    s = GridSettings(mode="fixed", lower_price=round(first * 0.92, 2), upper_price=round(first * 1.1, 2), levels=10,
                     investment=15_000, stop_loss_price=round(first * 0.89, 2), timeframe="1h")
    sim, _ = run_backtest_journal("grid", s, crash, 10_000.0, SPOT)
    seen = await replay_on_paper(sim, crash, 10_000.0, 1, SPOT)
    assert seen["refused"] >= 1 and seen["fills"] >= 5
    assert set(sim.refused) == {"insufficient_funds"}
    assert [f.reason for f in sim.fills if f.role == "close"] == ["grid_stop_loss"]
