"""HYPERRSI in a backtest: the live strategy steps on a simulated book, visiting only candles where it can act."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from engine.backtest.scan import first_true
from engine.backtest.sim import LIQUIDATION, BookOrder, Sim
from engine.strategies import hyperrsi as hr
from engine.strategies.hyperrsi_signals import add_mask, entry_mask, side_signals, trend_close_mask
from engine.strategies.roles import OrderRole
from engine.strategies.runner import Fill
from engine.strategies.runner_hyperrsi import HyperRsiRunner
from engine.strategy_inputs import HyperRsiInputs

SLACK = 1e-9  # detection is a superset: a candle that nearly qualifies is visited and the strategy decides


class HyperRsiDriver:
    """Per candle j: fills of the book on candle j → the runner's `on_fill`s → book synced; then `on_candle(j)` →
    market orders (filled at the next open) and the book synced to `desired_orders`."""

    def __init__(self, settings: hr.HyperRsiSettings, x: HyperRsiInputs, sim: Sim, start: int):
        self.s, self.x, self.sim, self.start = settings, x, sim, start
        self.runner = HyperRsiRunner(settings)
        self.n = len(x)
        self.first = start  # the first candle stepped with on_candle
        t = x.trend_state
        self.long_sig, self.short_sig = side_signals(settings, x.rsi_prev, x.rsi, SLACK)
        entry = entry_mask(settings, x.rsi_prev, x.rsi, t, SLACK)
        entry[:start] = False
        self.entry_idx = np.flatnonzero(entry)
        atr = np.where(np.arange(self.n) >= start, x.atr, np.nan)
        valid = np.where(np.isfinite(atr), np.arange(self.n), -1)
        last = np.maximum.accumulate(valid) if self.n else valid
        self.atr_ff = np.where(last >= 0, atr[np.maximum(last, 0)], np.nan)  # what on_candle leaves in state.atr
        self.atr_moves_orders = settings.tp_option == "atr"
        self.atr_in_fills = self.atr_moves_orders or (settings.use_sl and settings.sl_option == "atr")
        self.synced: tuple | None = None  # what the book was last synced from
        # per side (+1 long, -1 short), the candle masks that do not depend on the position's numbers
        sides = {1: ("long", self.long_sig), -1: ("short", self.short_sig)}
        self.trend_close = {sgn: trend_close_mask(side, t) for sgn, (side, _) in sides.items()} \
            if settings.use_trend_close else None
        self.pyramid_ok = {sgn: add_mask(settings, side, sig, t) for sgn, (side, sig) in sides.items()}

    @property
    def state(self) -> hr.HyperRsiState:
        return self.runner.state

    def begin(self) -> None:
        return None

    # ---- one candle ----
    def process(self, j: int) -> None:
        sim, runner = self.sim, self.runner
        index = int(self.x.index[j])
        execs = sim.match(j)
        if execs and self.atr_in_fills and j > self.start and not math.isnan(self.atr_ff[j - 1]):
            # the candles skipped before j were no-ops for on_candle except for carrying the ATR, which these
            # settings read when a fill places the take-profits or the stop
            runner.state = replace(runner.state, atr=float(self.atr_ff[j - 1]))
        for e in execs:
            w = e.want
            forced = w.role == LIQUIDATION
            role = OrderRole.CLOSE if forced else w.role
            runner.on_fill(Fill(role, e.price, e.amount, e.fee, 0 if w.type == "market" else w.level, index,
                                forced=forced))
        if execs or sim.dropped:
            sim.dropped.clear()
            self.synced = None
            self._sync(j)
        for it in runner.on_candle(self.x.at(j)).market:
            want = BookOrder(("market", it.role), it.side, "market", None, it.amount, it.reduce_only, it.role,
                             it.reason)
            if not sim.place(want, int(sim.ts[j]), float(self.x.close[j])):  # refused as the paper exchange would
                runner.on_refused(it.role, index=j)
        self._sync(j)

    def _sync(self, j: int) -> None:
        st = self.runner.state
        key = (st.side, st.size, st.tp_stage, st.tp_base_size, st.average, st.stop, st.stop_reason,
               st.atr if self.atr_moves_orders else None)
        if key == self.synced:
            return  # desired_orders reads only these: the book is already right
        self.synced = key
        wants = [BookOrder((o.role, o.level), o.side, o.type, o.price, o.amount, o.reduce_only, o.role, o.reason,
                           o.level) for o in self.runner.desired_orders()]
        self.sim.sync(wants, int(self.sim.ts[j]))
        if any(w.key not in self.sim.keys for w in wants):
            self.synced = None  # refused: try again at the next sync

    # ---- where the next thing can happen ----
    def next_event(self, i: int) -> int:
        st, x, n = self.state, self.x, self.n
        if i >= n:
            return n
        if st.pending or self.sim.has_market() or self.runner.leftover(self.x.lot):
            return i
        if st.side == "flat":
            if self.sim.book:
                return i
            lo = max(i, int(np.searchsorted(x.index, st.cooldown_until, side="left")))
            k = int(np.searchsorted(self.entry_idx, lo))
            return int(self.entry_idx[k]) if k < len(self.entry_idx) else n
        if self.atr_moves_orders:
            return i  # ATR take-profits move with every candle's ATR: visit each candle while in a position
        return first_true(self._position_condition(), i, n)

    def _position_condition(self):
        st, s, x, sim = self.state, self.s, self.x, self.sim
        sgn = 1 if st.side == "long" else -1
        up, dn = sim.thresholds()
        if s.trailing_stop_active:  # the trailing start, or a new extreme once trailing, is reached like an order
            if not st.trailing:
                mark = st.average * (1 + sgn * 1e-9)
                if any(s.tp_enabled(k) for k in (1, 2, 3)):
                    mark = hr.tp_price(s, st.side, st.average, s.trailing_stage, st.atr)
            else:
                mark = st.best  # beyond the best so far moves the stop (touching it is a harmless visit)
            up, dn = (min(up, mark), dn) if sgn > 0 else (up, max(dn, mark))
        up, dn = up * (1 - SLACK), dn * (1 + SLACK)
        trend_close = self.trend_close[sgn] if self.trend_close is not None else None
        pyr = s.pyramiding_enabled and st.pyramid_count < s.pyramiding_limit and not st.tp_stage
        pyr_ok = self.pyramid_ok[sgn]
        ref = st.average if s.entry_criterion == "average" else st.last_fill
        check_price, by_atr = s.use_check_dca_with_price, s.pyramiding_entry_type == "atr"
        level = hr.dca_levels(s, st.side, ref, math.nan, 1)[0] if check_price and not by_atr else 0.0

        def cond(lo: int, hi: int) -> np.ndarray:
            hit = (x.high[lo:hi] >= up) | (x.low[lo:hi] <= dn)
            if trend_close is not None:
                hit |= trend_close[lo:hi]
            if pyr:
                ok = pyr_ok[lo:hi]
                if check_price:
                    lv = level
                    if by_atr:
                        a = x.atr[lo:hi]
                        lv = np.where(np.isnan(a), ref * (1 - sgn * 3.0 / 100), ref - sgn * a * s.pyramiding_value)
                    c = x.close[lo:hi]
                    ok = ok & ((c <= lv * (1 + SLACK)) if sgn > 0 else (c >= lv * (1 - SLACK)))
                hit |= ok
            return hit

        return cond
