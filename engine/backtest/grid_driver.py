"""GRID in a backtest: the live strategy steps on a simulated book, visiting only candles where it can act."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np

from engine.backtest import adaptive_scan
from engine.backtest.scan import first_true
from engine.backtest.sim import LIQUIDATION, BookOrder, Sim
from engine.exchange.margin import INSUFFICIENT_FUNDS
from engine.strategies import grid as gr
from engine.strategies.grid_ladder import MarketRules, PlanRefused, level_amount
from engine.strategies.grid_levels import CANCELLED, COMPLETED, ENTRY_PLACED, IDLE
from engine.strategies.roles import OrderRole
from engine.strategies.runner import Fill, Holding
from engine.strategies.runner_grid import GridRunner
from engine.strategy_inputs import GridInputs

SLACK = 1e-9


def _copy(d: dict) -> dict:
    return {k: dict(v) if isinstance(v, dict) else v for k, v in d.items()}


class GridDriver:
    """The grid starts at the close of candle `start`. Per candle j: fills on candle j → the runner's `on_fill`s →
    book synced; then `on_candle(j)` → a market close if a bound was hit, and the book synced to `desired_orders`.

    An adaptive grid that re-centres on every candle is stepped on the candle before each event as well: the
    skipped candles only moved entries that did not fill, and that candle's re-centre puts them where stepping
    every candle would have (see `adaptive_scan`). `.orders` then holds the orders of the stepped candles only.
    """

    def __init__(self, settings: gr.GridSettings, x: GridInputs, sim: Sim, start: int, rules: MarketRules):
        self.s, self.x, self.sim, self.start, self.rules = settings, x, sim, start, rules
        self.n = len(x)
        self.first = start + 1  # started at the close of `start`; stepped from the next candle
        self.runner = GridRunner(settings, rules)
        self.refused: tuple[str, dict] | None = None
        self.entry_fees: dict[int, float] = {}  # per level, the entry fees not yet booked into a trade
        self.seen: dict[int, gr.Level] = {}  # the level objects the book was last synced with
        self.sizable: dict[float, bool] = {}
        self.synced_levels: tuple | None = None
        self.every_candle = settings.mode == "adaptive" and settings.recenter_candles == 1
        self.last = start  # the last candle the strategy was stepped on
        self.advanced = 0  # candles stepped only to catch up with the re-centring (no matching)

    @property
    def state(self) -> gr.GridState | None:
        return self.runner.state

    def begin(self) -> None:
        j = self.start
        if j >= self.n:
            return
        c = self.x.at(j)
        try:
            self.runner.start(c.close, c)
        except PlanRefused as e:
            self.refused = (e.reason, dict(e.details))
            return
        self._sync(j)

    def process(self, j: int) -> None:
        if self.state is None:
            return
        if self.every_candle and j - 1 > self.last and not self.state.stopped:
            self._catch_up(j - 1)
        self.last = j
        sim, runner = self.sim, self.runner
        execs = sim.match(j)
        for w in sim.dropped:
            self.seen.pop(w.level, None)
            self.synced_levels = None
        sim.dropped.clear()
        for e in execs:
            w = e.want
            forced = w.role == LIQUIDATION  # the exchange closed everything: the grid stops
            if forced or w.role == OrderRole.CLOSE:
                self._book_close(e.price, e.amount, e.fee, runner.holds())
                runner.on_fill(Fill(OrderRole.CLOSE, e.price, e.amount, e.fee, forced=forced))
                continue
            if w.role == OrderRole.GRID_EXIT:
                self._book_exit(w.level, e.price, e.amount, e.fee)
            else:
                self.entry_fees[w.level] = self.entry_fees.get(w.level, 0.0) + e.fee
            runner.on_fill(Fill(w.role, e.price, e.amount, e.fee, w.level))
        self._sync(j)
        self._candle(j)

    def _catch_up(self, k: int) -> None:
        """Step candle k alone after skipped ones: nothing filled since `last`, so k's re-centre puts the entries
        where stepping every candle would have. Unless the account refused one for want of funds (which ones
        depends on the order they are placed in, which differs): then undo it and step every skipped candle."""
        saved = self._save()
        before = self._short_of_funds()
        self._candle(k)
        if self._short_of_funds() == before:
            self.advanced += 1
            return
        self._restore(saved)
        for i in range(self.last + 1, k + 1):
            self.process(i)
            self.advanced += 1

    def _short_of_funds(self) -> int:
        """How many orders the account has refused for want of funds so far."""
        return self.sim.refused.get(INSUFFICIENT_FUNDS, {}).get("orders", 0)

    def _save(self) -> tuple:
        """The simulated account and the driver as they are (dicts copied two levels deep, lists by length)."""
        sim = {f.name: (len(v) if isinstance(v, list) else _copy(v) if isinstance(v, dict) else v)
               for f in fields(self.sim) if not isinstance(v := getattr(self.sim, f.name), np.ndarray)}
        return sim, self.runner.state, dict(self.seen), self.synced_levels, dict(self.entry_fees)

    def _restore(self, saved: tuple) -> None:
        sim, self.runner.state, self.seen, self.synced_levels, self.entry_fees = saved
        for name, v in sim.items():
            if isinstance(v, int) and isinstance(cur := getattr(self.sim, name), list):
                del cur[v:]  # lists are only appended to
            else:
                setattr(self.sim, name, v)

    def _candle(self, j: int) -> None:
        """`on_candle(j)`, its market close, and the book synced."""
        sim = self.sim
        step = self.runner.on_candle(self.x.at(j))
        self._sync(j)  # first, as the live runner: the resting orders are cancelled before a close is sent
        for it in step.market:
            sim.place(BookOrder(("market", it.role), it.side, "market", None, it.amount, True, it.role, it.reason),
                      int(sim.ts[j]), float(self.x.close[j]))

    def _book_exit(self, level: int, price: float, amount: float, fee: float) -> None:
        """A grid trade is one level's round trip: entry to take-profit, both fees included."""
        lvl = next(lv for lv in self.state.levels if lv.index == level)
        amount = min(amount, lvl.filled)
        sign = 1.0 if lvl.side == "buy" else -1.0
        share = self.entry_fees.get(level, 0.0) * amount / lvl.filled if lvl.filled else 0.0
        self.entry_fees[level] = self.entry_fees.get(level, 0.0) - share
        self.sim.trades.append(sign * (price - lvl.entry_price) * amount - fee - share)

    def _book_close(self, price: float, amount: float, fee: float, held: Holding) -> None:
        """The close of what the grid holds, against the average it is booked at (the runner's), entry fees in."""
        sign = 1.0 if held.position > 0 else -1.0
        fees = sum(self.entry_fees.values())
        self.entry_fees.clear()
        self.sim.trades.append(sign * (price - held.average) * amount - fee - fees)

    def _sync(self, j: int) -> None:
        """Bring the book in line with `desired_orders`, looking only at levels whose object changed."""
        if self.state.levels is self.synced_levels:
            return
        self.synced_levels = self.state.levels
        now = {lvl.index: lvl for lvl in self.state.levels}
        changed = {k for k, lvl in now.items() if self.seen.get(k) is not lvl} | (self.seen.keys() - now.keys())
        if not changed:
            return
        self.seen = now
        part = tuple(lvl for k, lvl in now.items() if k in changed)
        wants = [BookOrder((o.level, o.role, o.seq), o.side, o.type, o.price, o.amount, o.reduce_only, o.role,
                           o.reason, o.level) for o in self.runner.desired_orders(part)]
        self.sim.sync(wants, int(self.sim.ts[j]), keep=lambda key: key[0] not in changed)
        for w in wants:
            if w.key not in self.sim.keys:  # refused: try again at the next sync
                self.seen.pop(w.level, None)
                self.synced_levels = None

    # ---- where the next thing can happen ----
    def next_event(self, i: int) -> int:
        st, n = self.state, self.n
        if i >= n or st is None:
            return n
        if self.sim.has_market():
            return i
        if st.stopped:
            return i if self.sim.book else n
        if self.every_candle:  # short of funds, which entries re-placing can take turns with the mark: every candle
            return i if self.sim.tight(float(self.x.close[i - 1])) else self._next_recentred(i)
        if self.s.mode == "adaptive" and self.x.index[i] >= st.last_recenter + self.s.recenter_candles and \
                np.isfinite(self.x.centre[i]):
            return i  # re-centring is due now (every candle by default): no need to look further
        return first_true(self._condition(st), i, n)

    def _next_recentred(self, i: int) -> int:
        st, s, x, sim = self.state, self.s, self.x, self.sim
        up0, dn0 = sim.thresholds()
        up_x, dn_x = np.inf, -np.inf  # what stays on the book while entries move: exits and the liquidation level
        for w, so in sim.book.values():
            if so.type == "limit" and w.role != OrderRole.GRID_ENTRY:
                if w.side == "sell":
                    up_x = min(up_x, so.price)
                else:
                    dn_x = max(dn_x, so.price)
        liq = sim.liquidation_price()
        if liq is not None:
            up_x, dn_x = (up_x, max(dn_x, liq)) if sim.position > 0 else (min(up_x, liq), dn_x)
        up_x, dn_x = min(up_x, sim.unfunded[0]), max(dn_x, sim.unfunded[1])  # where funds would run short
        free = np.array([not lvl.holds for lvl in st.levels])
        entries = [lvl.state == ENTRY_PLACED and lvl.filled == 0 for lvl in st.levels]
        q0 = np.array([lvl.order_price if e else math.nan for lvl, e in zip(st.levels, entries, strict=True)])
        side0 = np.array([1 if lvl.side == "buy" else -1 for lvl in st.levels], dtype=np.int8)
        others = {w.price for w, so in sim.book.values() if so.type == "limit" and w.role != OrderRole.GRID_ENTRY}
        tick = float(self.rules.price_step)
        tie0 = np.array([e and any(abs(lvl.order_price - p) <= max(tick, 1e-9 * p) for p in others)
                         for lvl, e in zip(st.levels, entries, strict=True)])
        return adaptive_scan.next_event(
            i, x.high, x.low, x.close, x.centre, x.atr, x.adx_state, up0 * (1 - SLACK), dn0 * (1 + SLACK),
            up_x * (1 - SLACK), dn_x * (1 + SLACK), free, q0, side0, tie0, tick,
            s.direction in ("long", "neutral"), s.direction in ("short", "neutral"), s.adx_gate,
            float(s.stop_loss_price), float(s.take_profit_price), s.direction in ("long", "neutral"))

    def _armable(self, st: gr.GridState) -> tuple[float, float]:
        """(lowest idle level a buy could arm at, highest idle level a sell could arm at), sizes permitting."""
        lo, hi = np.inf, -np.inf
        for lvl in st.levels:
            if lvl.state not in (IDLE, COMPLETED, CANCELLED):
                continue
            ok = self.sizable.get(lvl.price)
            if ok is None:
                try:
                    level_amount(self.s, self.rules, lvl.price)
                    ok = True
                except PlanRefused:
                    ok = False  # refused at this price on every candle: it can never arm
                self.sizable[lvl.price] = ok
            if not ok:
                continue
            lo, hi = min(lo, lvl.price), max(hi, lvl.price)
        return lo, hi

    def _condition(self, st: gr.GridState):
        s, x, sim = self.s, self.x, self.sim
        up, dn = sim.thresholds()
        up, dn = up * (1 - SLACK), dn * (1 + SLACK)
        below = s.direction in ("long", "neutral")
        sl, tp = s.stop_loss_price, s.take_profit_price
        buy_lo, sell_hi = self._armable(st)
        can_buy, can_sell = s.direction in ("long", "neutral"), s.direction in ("short", "neutral")
        placed = [lvl.side for lvl in st.levels if lvl.state == ENTRY_PLACED and lvl.filled == 0]
        gate_buy, gate_sell = s.adx_gate and "buy" in placed, s.adx_gate and "sell" in placed
        levels = st.levels
        trail_up = s.mode == "fixed" and s.trailing_up and len(levels) >= 2 and not levels[0].holds
        trail_dn = s.mode == "fixed" and s.trailing_down and len(levels) >= 2 and not levels[-1].holds
        recenter = s.mode == "adaptive"
        due = st.last_recenter + s.recenter_candles

        def cond(lo: int, hi: int) -> np.ndarray:
            h, low, c = x.high[lo:hi], x.low[lo:hi], x.close[lo:hi]
            adx = x.adx_state[lo:hi]
            hit = (h >= up) | (low <= dn)
            if sl:
                hit |= (low <= sl * (1 + SLACK)) if below else (h >= sl * (1 - SLACK))
            if tp:
                hit |= (h >= tp * (1 - SLACK)) if below else (low <= tp * (1 + SLACK))
            if can_buy and buy_lo < np.inf:
                ok = c * (1 - gr.EPS) > buy_lo * (1 - SLACK)
                hit |= (ok & (adx > -2)) if s.adx_gate else ok
            if can_sell and sell_hi > -np.inf:
                ok = c * (1 + gr.EPS) < sell_hi * (1 + SLACK)
                hit |= (ok & (adx < 2)) if s.adx_gate else ok
            if gate_buy:
                hit |= adx <= -2
            if gate_sell:
                hit |= adx >= 2
            if trail_up:
                ok = c > levels[-1].price * (1 - SLACK)
                hit |= (ok & (c <= s.trailing_up_limit * (1 + SLACK))) if s.trailing_up_limit else ok
            if trail_dn:
                ok = c < levels[0].price * (1 + SLACK)
                hit |= (ok & (c >= s.trailing_down_limit * (1 - SLACK))) if s.trailing_down_limit else ok
            if recenter:
                hit |= (x.index[lo:hi] >= due) & np.isfinite(x.centre[lo:hi])
            return hit

        return cond
