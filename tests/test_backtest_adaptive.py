"""Adaptive GRID backtests that skip candles give the fills, equity and metrics of stepping every candle."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backtest import adaptive_scan
from engine.backtest.grid_driver import GridDriver
from engine.backtest.runner import build, run_backtest
from engine.backtest.sim import Sim
from engine.candles import Candles, load_csv
from engine.strategies import grid as gr
from engine.strategies.grid_ladder import MarketRules

TICK = MarketRules(price_step=0.1, amount_step=0.00001, min_amount=0.00001, min_cost=5)
BOTH, H1 = ("btc_5m", "btc_1h"), ("btc_1h",)
SETTINGS = [  # (name, settings, market rules, data)
    ("defaults", {"mode": "adaptive"}, None, BOTH),
    ("neutral, no gate, odd levels, 3x", {"mode": "adaptive", "direction": "neutral", "levels": 11,
                                          "adx_gate": False, "leverage": 3}, None, BOTH),
    ("short, gate at 15", {"mode": "adaptive", "direction": "short", "levels": 8, "adx_threshold": 15}, None, BOTH),
    ("neutral on a tick, gate", {"mode": "adaptive", "direction": "neutral", "levels": 14, "adx_threshold": 12,
                                 "reentry_gap_pct": 0.0, "fama_length": 5, "atr_length": 3}, TICK, BOTH),
    ("fast FAMA, few levels", {"mode": "adaptive", "fama_length": 3, "levels": 6, "tp_min_pct": 0.25}, TICK, BOTH),
    # the account refuses entries for want of funds: which ones depends on the order they are placed in
    ("more invested than the account has", {"mode": "adaptive", "investment": 40_000, "levels": 10,
                                             "direction": "neutral", "leverage": 2}, MarketRules(price_step=10.0), H1),
    ("funds bind, long 3x", {"mode": "adaptive", "investment": 25_000, "levels": 10, "leverage": 3}, TICK, H1),
    ("re-centre every 7", {"mode": "adaptive", "recenter_candles": 7, "direction": "neutral"}, None, ("btc_5m",)),
    ("re-centring off", {"mode": "adaptive", "recenter_candles": 10_000, "levels": 30}, None, BOTH),
]
CASES = [(data, k) for k, (*_, where) in enumerate(SETTINGS) for data in where]


@pytest.fixture(scope="module")
def btc_5m(shared_data):
    return load_csv(shared_data / "BTC_USDT-5m.csv")[:6_000]


@pytest.fixture(scope="module")
def btc_1h(shared_data):
    return load_csv(shared_data / "BTC_USDT-1h.csv")[-8_000:]


def both(settings, candles, timeframe, rules=None, **kw):
    fast = run_backtest("grid", settings, candles, timeframe=timeframe, market_rules=rules, **kw)
    slow = run_backtest("grid", settings, candles, timeframe=timeframe, market_rules=rules, step_every_candle=True,
                        **kw)
    assert fast.fills == slow.fills
    assert np.array_equal(fast.ts, slow.ts)
    assert np.array_equal(fast.equity, slow.equity)
    assert fast.metrics == slow.metrics
    # the same kinds of notes; how many refusals they count depends on how often a refused order was retried
    assert [(r, d.get("roles")) for r, d in fast.notes] == [(r, d.get("roles")) for r, d in slow.notes]
    assert slow.events == len(slow.ts) - 1  # every candle after the one the grid started on
    return fast, slow


@pytest.mark.parametrize(("data", "k"), CASES, ids=[f"{d}-{SETTINGS[k][0]}" for d, k in CASES])
def test_skipping_equals_every_candle(request, data, k):
    candles = request.getfixturevalue(data)
    _, settings, rules, _ = SETTINGS[k]
    fast, slow = both(settings, candles, data.split("_")[1], rules)
    assert len(fast.fills) >= 6, "the configuration should trade on this slice"
    if settings.get("recenter_candles", 1) == 1:
        if settings.get("investment", 0) <= 10_000:  # else refused orders are retried on every candle
            assert fast.events < len(candles) / 4
        # the filled orders are the strategy's: each fill's order price is one the every-candle run placed
        placed = {(o.level, o.side, o.price) for o in slow.orders}
        assert all((f.level, f.side, f.order_price) in placed for f in fast.fills if f.type == "limit")


@pytest.mark.parametrize("data", ["btc_5m", "btc_1h"])
def test_fixed_grid_trailing(request, data):
    candles = request.getfixturevalue(data)
    first = float(candles.close[0])
    s = {"lower_price": round(first * 0.97, 1), "upper_price": round(first * 1.03, 1), "levels": 10,
         "direction": "neutral", "trailing_up": True, "trailing_down": True, "adx_gate": True}
    fast, _ = both(s, candles, data.split("_")[1])
    assert len(fast.fills) >= 6


def synthetic(n: int, seed: int, tick: float) -> Candles:
    """A random walk on a coarse tick with flat stretches: closes sit on level prices and the centre creeps."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 2.0, n) * (rng.random(n) > 0.3)
    flat = (np.arange(n) // 150) % 3 == 1
    steps[flat] = 0.0
    def on_tick(x):
        return np.round(x / tick) * tick if tick else x

    close = on_tick(1_000 + np.cumsum(steps))
    open_ = np.r_[close[0], close[:-1]]
    wick = on_tick(np.abs(rng.normal(0, 1.5, (2, n)))) * ~flat
    high, low = np.maximum(open_, close) + wick[0], np.minimum(open_, close) - wick[1]
    ts = 1_700_000_000_000 + 60_000 * np.arange(n, dtype=np.int64)
    return Candles(ts, open_, high, low, close, np.ones(n))


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("tick", [0.0, 0.5, 1.0])
def test_synthetic_flat_and_coarse(seed, tick):
    c = synthetic(4_000, seed, tick)
    rules = MarketRules(price_step=tick)
    for direction in ("long", "neutral"):
        s = {"mode": "adaptive", "direction": direction, "levels": 9, "adx_gate": False, "fama_length": 4,
             "tp_min_pct": 0.3, "reentry_gap_pct": 0.1}
        fast, _ = both(s, c, "1m", rules)
        assert fast.fills


def test_stop_loss_and_liquidation_bounds(btc_5m):
    c = btc_5m
    lo = float(c.low[2_000:].min())
    fast, _ = both({"mode": "adaptive", "levels": 10, "leverage": 20, "stop_loss_price": round(lo * 1.01, 1)}, c,
                   "5m")
    assert any(f.reason == "grid_stop_loss" or f.role == "liquidation" for f in fast.fills)


def test_faster_than_stepping(btc_5m):
    fast = run_backtest("grid", {"mode": "adaptive"}, btc_5m, timeframe="5m")
    assert fast.events * 8 < len(btc_5m)


def test_an_entry_left_within_eps_of_its_level_is_followed():
    """On flat candles the centre creeps by less than the strategy's EPS, so it leaves an entry where it is rather
    than move it by a hair; a low landing exactly between the kept price and the ladder's tells the two apart."""
    s = {"mode": "adaptive", "levels": 6, "adx_gate": False, "fama_length": 4}
    walk = synthetic(300, 7, 0.0)
    n_flat = 600
    c0 = float(walk.close[-1])
    ts = walk.ts[-1] + 60_000 * np.arange(1, n_flat + 1, dtype=np.int64)
    flat = np.full(n_flat, c0)
    base = Candles(np.r_[walk.ts, ts], *(np.r_[a, flat] for a in (walk.open, walk.high, walk.low, walk.close)),
                   np.ones(len(walk) + n_flat))
    _, _, drv, _ = build("grid", s, base, symbol="BTC/USDT", timeframe="1m", initial_equity=10_000.0,
                           maker_fee=0.0002, taker_fee=0.0005, slippage=0.0002, market=None, market_rules=None)
    drv.begin()
    kept = None
    for j in range(drv.first, len(base)):
        drv.process(j)
        if j > len(walk) + 50:
            c = drv.x.at(j)
            ladder = gr.plan_ladder(drv.s, drv.rules, centre=c.centre, atr=c.atr)
            for lvl, p in zip(drv.state.levels, ladder, strict=True):
                if lvl.state == "entry_placed" and lvl.order_price != p:
                    kept = (j, lvl.order_price, p)
        if kept:
            break
    assert kept, "the flat stretch should leave an entry a hair from its level"
    j, q, p = kept
    low = max(q, p)  # reaches the higher of the two prices only: whether the buy fills depends on which rests
    assert min(q, p) < low
    k = j + 1
    lows = base.low.copy()
    lows[k] = low
    candles = Candles(base.ts[: k + 20], base.open[: k + 20], base.high[: k + 20], lows[: k + 20],
                      base.close[: k + 20], base.volume[: k + 20])
    fast, _ = both(s, candles, "1m")
    assert fast.fills


def test_same_price_fills_keep_the_placement_order():
    """A neutral grid's take-profit can rest at the price of the next level's sell entry; when one candle fills
    both, the one placed first goes first. Stepping every candle re-places the entry each time the ladder leaves
    that price and comes back; the skipping run must visit those candles too."""
    c = synthetic(3_000, 2, 1.0)
    s = {"mode": "adaptive", "direction": "neutral", "levels": 8, "adx_gate": False, "fama_length": 4,
         "tp_min_pct": 0.3, "reentry_gap_pct": 0.1}
    fast, _ = both(s, c, "1m", MarketRules(price_step=1.0))
    same_candle = {}
    for f in fast.fills:
        same_candle.setdefault((f.ts, f.price), set()).add(f.role)
    assert {"grid_entry", "grid_exit"} in same_candle.values()


def test_a_catch_up_refused_for_funds_is_undone(btc_1h, monkeypatch):
    """Even when the account does not say it is short of funds beforehand, a catch-up candle the account refuses
    an entry on for funds is undone and the skipped candles stepped (which entries are refused depends on the
    order they are placed in)."""
    undone = []
    restore = GridDriver._restore
    monkeypatch.setattr(Sim, "tight", lambda self, mark: False)
    monkeypatch.setattr(GridDriver, "_restore", lambda self, saved: undone.append(1) or restore(self, saved))
    _, settings, rules, _ = SETTINGS[[s[0] for s in SETTINGS].index("more invested than the account has")]
    fast, _ = both(settings, btc_1h, "1h", rules)
    assert undone and fast.fills


def test_the_scan_reads_the_strategy_ladder():
    """The compiled scan prices levels with the strategy's own functions: as plan_ladder does (bit for bit without
    a tick; with one, the same tick multiple), and refuses where it refuses."""
    rng = np.random.default_rng(5)
    for _ in range(2_000):
        centre = float(rng.uniform(0.01, 100_000))
        atr = float(rng.choice([np.nan, rng.uniform(0, centre * 0.03)]))
        levels = int(rng.integers(2, 40))
        tick = float(rng.choice([0.0, 0.01, 0.1, 1.0, 10.0]))
        s = gr.GridSettings(mode="adaptive", levels=levels)
        out = np.empty(levels)
        ok = adaptive_scan._ladder(centre, atr, levels, tick, out)
        try:
            want = gr.plan_ladder(s, MarketRules(price_step=tick), centre=centre, atr=atr)
        except gr.PlanRefused:
            assert not ok
            continue
        if ok:
            assert np.allclose(out, want, rtol=0, atol=tick / 4) if tick else np.array_equal(out, want)


def test_the_scan_cache_matches_the_strategy_ladder():
    fp = adaptive_scan.ladder_fingerprint()
    assert fp == adaptive_scan.COMPILED_LADDER, (
        "grid_ladder's adaptive_step / adaptive_level / round_price changed: set COMPILED_LADDER in "
        f"engine/backtest/adaptive_scan.py to {fp!r} (numba's cache of the scan is keyed on that file only)")
    assert adaptive_scan.CACHE
