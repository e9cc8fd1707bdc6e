"""When an adaptive grid that re-centres on every candle can next matter: a numba scan over the candles ahead.

Between fills, `grid.on_candle` moves every free level's entry to the ladder of the candle's centre and ATR, so
what rests after candle k depends only on candle k (the ladder, the close, the ADX state), not on the candles
skipped before it. The driver can then leave the strategy alone until the first candle e where an order could
fill, a bound could stop the grid or that independence could fail, and call the strategy on e - 1 and e only.
The scan is conservative (it may name a candle where nothing happens; never the other way round) and reads the
ladder through the strategy's own functions, compiled here, so there is one ladder formula.
"""

from __future__ import annotations

import hashlib
import inspect
import math

import numpy as np
from numba import njit

from engine.strategies import grid_ladder as gl

LADDER = (gl.adaptive_step, gl.adaptive_level, gl.round_price)
_step, _level, _round = (njit(nogil=True)(f) for f in LADDER)


def ladder_fingerprint() -> str:
    """A hash of the source of the strategy's ladder functions compiled into the scan ("" if it cannot be read)."""
    try:
        src = "".join(inspect.getsource(f) for f in LADDER)
    except (OSError, TypeError):
        return ""
    return hashlib.sha256(src.encode()).hexdigest()[:16]


# numba's disk cache is keyed on this file only, not on the strategy functions compiled into the scan: it is used
# while they are the ones this file was last updated for. Changing them means updating COMPILED_LADDER (which
# also renews the cache); a test says so.
COMPILED_LADDER = "f50351fea7b55e50"
CACHE = ladder_fingerprint() == COMPILED_LADDER

SLACK = 1e-8  # price comparisons lean towards "could happen" by this much (the strategy's EPS is 1e-9)
NEAR = 4e-9  # an entry within this of its new price may be left where it is (the strategy's EPS, with room)


@njit(nogil=True, cache=CACHE)
def _ladder(centre: float, atr: float, n_levels: int, tick: float, out: np.ndarray) -> bool:
    """The ladder `plan_ladder` gives on this candle into `out`; False where it could refuse it (no re-centre)."""
    if not (centre > 0) or not math.isfinite(centre):
        return False
    s = _step(centre, atr)
    for m in range(n_levels):
        out[m] = _round(_level(centre, s, n_levels, m), tick)
    if out[0] <= 0:
        return False
    for m in range(1, n_levels):  # noqa: SIM110 - numba compiles no generator inside all()
        if out[m] <= out[m - 1] * (1 + SLACK):
            return False
    return True


@njit(nogil=True, cache=CACHE)
def _same(p: float, q: float, tick: float) -> bool:
    return abs(p - q) <= tick / 4 if tick > 0 else p == q


@njit(nogil=True, cache=CACHE)
def _rests(p: float, side: int, c: float, a: int, gate: bool) -> bool:
    """Whether an entry of `side` (+1 buy, -1 sell) at p surely stays armed on a candle closing at c, ADX state a."""
    if side > 0:
        return p < c * (1 - SLACK) and not (gate and a <= -2)
    return p > c * (1 + SLACK) and not (gate and a >= 2)


@njit(nogil=True, cache=CACHE)
def _kept(p: float, q: float, c: float, tick: float) -> bool:
    """Whether an entry resting at q might stay there (or keep its side) when its level moves to p on a candle
    closing at c: the strategy leaves an entry within EPS of its new price alone, so the state would remember q."""
    if abs(p - q) > NEAR * p:
        return False
    return not _same(p, q, tick) or abs(c - p) <= NEAR * p


@njit(nogil=True, cache=CACHE)
def next_event(i: int, high: np.ndarray, low: np.ndarray, close: np.ndarray, centre: np.ndarray, atr: np.ndarray,
               adx: np.ndarray, up0: float, dn0: float, up_x: float, dn_x: float, free: np.ndarray, q0: np.ndarray,
               side0: np.ndarray, tie0: np.ndarray, tick: float, can_buy: bool, can_sell: bool, gate: bool,
               sl: float, tp: float, below: bool) -> int:
    """The first candle k >= i where the grid could act; len(high) if none.

    Candle i is matched against the book as it is (an order reached when high >= up0 or low <= dn0); a later
    candle against the orders that do not move (exits, the liquidation level: up_x, dn_x) and the entries the
    strategy would have placed at the previous candle's close on the levels that hold nothing (`free`): a buy
    below that close unless the ADX gate blocks buys, a sell above it unless it blocks sells. Also an event: a
    stop-loss or take-profit bound reached; a candle whose ladder could be refused or that has no centre (the
    strategy would not re-centre, so the old ladder stays); an entry that may stay at its old price `q0` (the
    book now) or at the previous candle's ladder price; an entry that rests at the price of another order
    (`tie0`, its side `side0`) coming back to it after it moved or was cancelled (when both fill on one candle,
    the one placed first fills first, and stepping every candle would have placed this one again).
    """
    n, n_levels = len(high), len(free)
    prev, cur = np.empty(n_levels), np.empty(n_levels)
    away = np.zeros(n_levels, dtype=np.bool_)
    for k in range(i, n):
        h, lo, c = high[k], low[k], close[k]
        if k == i:
            if h >= up0 or lo <= dn0:
                return k
        else:
            if h >= up_x or lo <= dn_x:
                return k
            pc, pa = close[k - 1], adx[k - 1]
            buys = can_buy and not (gate and pa <= -2)
            sells = can_sell and not (gate and pa >= 2)
            for m in range(n_levels):
                if free[m]:
                    p = prev[m]
                    if buys and p < pc * (1 + SLACK) and lo <= p * (1 + SLACK):
                        return k
                    if sells and p > pc * (1 - SLACK) and h >= p * (1 - SLACK):
                        return k
        if sl > 0 and ((below and lo <= sl * (1 + SLACK)) or (not below and h >= sl * (1 - SLACK))):
            return k
        if tp > 0 and ((below and h >= tp * (1 - SLACK)) or (not below and lo <= tp * (1 + SLACK))):
            return k
        if not _ladder(centre[k], atr[k], n_levels, tick, cur):
            return k
        for m in range(n_levels):
            if free[m]:
                if not math.isnan(q0[m]) and _kept(cur[m], q0[m], c, tick):
                    return k
                if tie0[m]:
                    if _same(cur[m], q0[m], tick) and _rests(cur[m], side0[m], c, adx[k], gate):
                        if away[m]:
                            return k
                    else:
                        away[m] = True
                if k > i and _kept(cur[m], prev[m], c, tick):
                    return k
        prev, cur = cur, prev
    return n
