"""Candle matching: inside the candle, limits at their price, the OHLC path decides order, deterministic."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.exchange.paper_matching import SimOrder, match, path


def test_path_goes_low_first_on_an_up_candle():
    assert path(100, 110, 95, 105) == (100, 95, 110, 105)
    assert path(100, 110, 95, 98) == (100, 110, 95, 98)


def test_limit_fills_at_its_price_and_marketable_limits_at_the_open():
    fills = match([SimOrder("a", "buy", "limit", 1.0, price=96.0, seq=1),
                   SimOrder("b", "buy", "limit", 1.0, price=101.0, seq=2),
                   SimOrder("c", "sell", "limit", 1.0, price=111.0, seq=3)], 100, 110, 95, 105, 0.001)
    got = {f.order_id: (f.price, f.taker) for f in fills}
    assert got == {"a": (96.0, False), "b": (100 * 1.001, True)}  # c is never reached


def test_stop_and_take_profit_in_one_candle_resolve_by_the_path():
    orders = [SimOrder("tp", "sell", "limit", 1.0, price=108.0, seq=1),
              SimOrder("sl", "sell", "stop_market", 1.0, trigger=96.0, seq=2)]
    up = match(orders, 100, 110, 95, 105, 0.0)  # low first: the stop fires before the TP
    assert [f.order_id for f in up] == ["sl", "tp"]
    down = match(orders, 100, 110, 95, 97, 0.0)  # high first
    assert [f.order_id for f in down] == ["tp", "sl"]


def test_market_orders_fill_at_the_open_slipped_but_inside_the_candle():
    f = match([SimOrder("m", "buy", "market", 1.0)], 100, 100.01, 99, 100, 0.01)[0]
    assert f.price == 100.01 and f.taker  # 101 clamped into the candle


@given(st.floats(1, 1000), st.floats(0, 0.2), st.floats(0, 0.2), st.floats(0, 1),
       st.lists(st.tuples(st.sampled_from(["buy", "sell"]), st.sampled_from(["market", "limit", "stop_market"]),
                          st.floats(0.5, 1.5)), max_size=12), st.floats(0, 0.01))
def test_every_fill_inside_the_candle(o, up, down, close_at, specs, slip):
    h, low = o * (1 + up), o * (1 - down)
    c = low + (h - low) * close_at
    orders = [SimOrder(str(i), side, kind, 1.0, price=o * k, trigger=o * k, seq=i)
              for i, (side, kind, k) in enumerate(specs)]
    fills = match(orders, o, h, low, c, slip)
    for f in fills:
        assert low - 1e-9 <= f.price <= h + 1e-9
        od = orders[int(f.order_id)]
        if od.type == "limit" and not f.taker:
            assert f.price == od.price
        if od.type == "limit":  # never worse than the limit
            assert f.price <= od.price + 1e-9 if od.side == "buy" else f.price >= od.price - 1e-9
    assert fills == match(orders, o, h, low, c, slip)


def test_a_market_order_fills_before_a_stop_the_open_gaps_through():
    # the stop rested first, the market order was sent at the previous close: at the open the market goes first
    orders = [SimOrder("stop", "sell", "stop_market", 1.0, trigger=100.0, seq=1), SimOrder("mkt", "buy", "market", 1.0, seq=2)]
    fills = match(orders, 95.0, 96.0, 90.0, 91.0, 0.0)
    assert [f.order_id for f in fills] == ["mkt", "stop"]
    assert all(f.price == 95.0 for f in fills)
